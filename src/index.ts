// Library entry point.
export { openTrace } from './trace.js';
export type { Trace, OpenTraceOptions } from './trace.js';
export { traceInfo } from './info.js';
export type { TraceInfo } from './info.js';
export { fileTimeToIso, fileTimeToDate, dateToFileTime } from './time.js';
export type * from './native/types.js';
export { convert, defaultOutput, ConvertError } from './convert.js';
export type { ConvertOptions } from './convert.js';
