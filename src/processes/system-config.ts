// SystemConfig "Services" events: the kernel logger's rundown of running
// services with the PID that hosts each one. MOF class SystemConfig
// (EventTraceConfig {01853a65-418f-4f36-aefc-dc0f1d2fd235}, group 0x0B),
// event type 15. Layouts (Microsoft's SystemConfig_Services and
// SystemConfig_V0_Services class pages):
//   v0 (Windows XP/2003): char16 ServiceName[34], DisplayName[256],
//                         ProcessName[34], u32 ProcessId
//   later:                u32 ProcessId, u32 ServiceState, u32 SubProcessTag,
//                         then NUL-terminated UTF-16 ServiceName, DisplayName, ProcessName
// Note: the SysConfigEx class {9b79ee91-b5fd-41c0-a243-4248e266e9d0} that a
// relogger injects (types 32-37: build info, system paths, volumes, network
// filters) carries no services and no PIDs.

import { PayloadReader } from './bytes.js';

export const SYSTEM_CONFIG_GUID = '01853a65-418f-4f36-aefc-dc0f1d2fd235';
export const SYSTEM_CONFIG_SERVICES_OPCODE = 15;

export interface ServiceConfigInfo {
  pid: number;
  serviceName: string;
  displayName: string;
  processName: string;
  /** SERVICE_STATUS_PROCESS dwCurrentState (4 = running); absent in v0. */
  state?: number;
  subProcessTag?: number;
}

export function decodeSystemConfigService(version: number, userData: Uint8Array): ServiceConfigInfo {
  const r = new PayloadReader(userData, `SystemConfig Services event (version ${version})`);
  if (version === 0) {
    const serviceName = r.utf16fixed('ServiceName', 34);
    const displayName = r.utf16fixed('DisplayName', 256);
    const processName = r.utf16fixed('ProcessName', 34);
    return { pid: r.u32('ProcessId'), serviceName, displayName, processName };
  }
  const pid = r.u32('ProcessId');
  const state = r.u32('ServiceState');
  const subProcessTag = r.u32('SubProcessTag');
  const serviceName = r.utf16z('ServiceName');
  const displayName = r.utf16z('DisplayName');
  const processName = r.utf16z('ProcessName');
  return { pid, serviceName, displayName, processName, state, subProcessTag };
}
