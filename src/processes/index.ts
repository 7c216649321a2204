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
  decodeMofProcess,
  decodeKernelProcessEvent,
  KERNEL_PROCESS_MOF_GUID,
  KERNEL_PROCESS_PROVIDER_GUID,
  type ProcessEventInfo,
  type ProcessEventKind,
} from './process-events.js';
export {
  decodeSystemConfigService,
  SYSTEM_CONFIG_GUID,
  SYSTEM_CONFIG_SERVICES_OPCODE,
  type ServiceConfigInfo,
} from './system-config.js';
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
