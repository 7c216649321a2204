// Names for PIDs: tasklist snapshots, netsh cabinets and trace events.
export { ProcessesError, type ProcessesErrorCode } from './errors.js';
export {
  parseTasklist,
  parseTasklistDetailed,
  decodeText,
  type TasklistRow,
  type TasklistProblem,
  type ParseTasklistOptions,
  type TasklistFormat,
} from './tasklist.js';
export { readCab, inspectCab, cabChecksum, type CabMember, type CabInfo, type CabCompression, type ReadCabOptions } from './cab.js';
export { findCabForEtl, findCabForEtlSync } from './find-cab.js';
export {
  processEventOf,
  serviceEventOf,
  EventShapeError,
  PROCESS_NAMING_PROVIDERS,
  type ProcessEventInfo,
  type ProcessEventKind,
  type ServiceConfigInfo,
} from './trace-events.js';
export {
  ProcessTable,
  sameImage,
  type ProcessName,
  type ProcessLifetime,
  type ProcessTableProblem,
  type NameSource,
  type Confidence,
} from './process-table.js';
export { loadProcessesFile, processListFromCab, loadProcessListFromCab, type ProcessList } from './sources.js';
