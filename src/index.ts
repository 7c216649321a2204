// Library entry point.
export { openTrace } from './trace.js';
export type { Trace, OpenTraceOptions } from './trace.js';
export { traceInfo } from './info.js';
export type { TraceInfo } from './info.js';
export { fileTimeToIso, fileTimeToDate, dateToFileTime } from './time.js';
export type * from './native/types.js';
export { convert, defaultOutput, ConvertError } from './convert.js';
export type { ConvertOptions } from './convert.js';
export { scanFile, summarize as summarizeScan, perProcess } from './scan.js';
export type { ScanOptions, ScanRequest, ScanProcess, FileScan, ScanSummary } from './scan.js';
export { analyzeImds, ImdsAnalyzer } from './imds/index.js';
export type { ImdsRequest, ImdsResult, ImdsClass, ImdsAttribution, ImdsNote, ImdsNoteCode, TcpipHint } from './imds/index.js';
export { IMDS, PROVIDERS } from './constants.js';
export { isNativeError, NATIVE_CODES } from './native/binding.js';
export type { NativeCode, NativeError } from './native/binding.js';
