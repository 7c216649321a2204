// Byte decoders for the trace events that name processes:
//  - kernel Process MOF class (group 0x03, {3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c}),
//    layouts by header version 0-5 (etl-format.md §10.1);
//  - Microsoft-Windows-Kernel-Process {22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716}
//    events 1 ProcessStart, 2 ProcessStop, 15 ProcessRundown (§10.2).
// Decoded from raw user data; every read is bounds-checked by PayloadReader.

import { PayloadReader, windowsBaseName } from './bytes.js';

export const KERNEL_PROCESS_MOF_GUID = '3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c';
export const KERNEL_PROCESS_PROVIDER_GUID = '22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716';

/**
 * start / end: the process was created / exited at the event time.
 * rundown: the process was alive at the event time (DCStart, DCEnd, ProcessRundown).
 * terminate / defunct: the process has exited (type 11 Terminate, type 39 Defunct).
 */
export type ProcessEventKind = 'start' | 'end' | 'rundown' | 'terminate' | 'defunct';

export interface ProcessEventInfo {
  kind: ProcessEventKind;
  pid: number;
  /** File name of the image ("svchost.exe"); empty when the event carries none (Terminate). */
  image: string;
  /** Full path when the event gives one (Kernel-Process: an NT device path). */
  imagePath?: string;
  parentPid?: number;
  sessionId?: number;
  exitStatus?: number;
  commandLine?: string;
  userSid?: string;
  packageFullName?: string;
  applicationId?: string;
  /** FILETIME values carried in the payload. */
  createTime?: bigint;
  exitTime?: bigint;
  uniqueProcessKey?: bigint;
  sequenceNumber?: bigint;
  /** Kernel-Process ParentProcessSequenceNumber (v3 and later): names the parent across PID reuse. */
  parentSequenceNumber?: bigint;
}

/** MOF opcodes of the Process class that we decode. */
const MOF_KIND: Record<number, ProcessEventKind> = { 1: 'start', 2: 'end', 3: 'rundown', 4: 'rundown', 11: 'terminate', 39: 'defunct' };

/**
 * Decode a kernel Process MOF event. Returns undefined for opcodes of the class
 * that carry no process identity (10 = image load, 32/33 perf counters, ...).
 * Throws ProcessesError('payload') when the bytes do not fit the layout.
 */
export function decodeMofProcess(opcode: number, version: number, pointerSize: 4 | 8, userData: Uint8Array): ProcessEventInfo | undefined {
  const kind = MOF_KIND[opcode];
  if (!kind) return undefined;
  const r = new PayloadReader(userData, `kernel Process event (type ${opcode}, version ${version}, ${pointerSize * 8}-bit)`);
  if (opcode === 11) {
    return { kind, pid: r.u32('ProcessId'), image: '' };
  }
  const info: ProcessEventInfo = { kind, pid: 0, image: '' };
  if (version === 0) {
    info.pid = Number(r.ptr('ProcessId', pointerSize) & 0xffffffffn);
    info.parentPid = Number(r.ptr('ParentId', pointerSize) & 0xffffffffn);
  } else {
    const key = r.ptr(version === 1 ? 'PageDirectoryBase' : 'UniqueProcessKey', pointerSize);
    if (version >= 2) info.uniqueProcessKey = key;
    info.pid = r.u32('ProcessId');
    info.parentPid = r.u32('ParentId');
    info.sessionId = r.u32('SessionId');
    info.exitStatus = r.i32('ExitStatus');
    if (version >= 3) r.ptr('DirectoryTableBase', pointerSize);
    if (version >= 4) r.u32('Flags');
  }
  const sid = readKernelSid(r, pointerSize);
  if (sid !== undefined) info.userSid = sid;
  info.image = r.ansiz('ImageFileName');
  if (version >= 2) info.commandLine = r.utf16z('CommandLine');
  if (version >= 4) {
    info.packageFullName = r.utf16z('PackageFullName');
    info.applicationId = r.utf16z('ApplicationId');
  }
  if (version >= 5) info.exitTime = r.u64('ExitTime');
  return info;
}

/**
 * The kernel MOF "Sid" field: u32 0 alone means no SID; otherwise a TOKEN_USER
 * (two pointers, ignored) followed by a binary SID.
 */
function readKernelSid(r: PayloadReader, pointerSize: 4 | 8): string | undefined {
  const start = r.pos;
  const first = r.u32('UserSID');
  if (first === 0) return undefined;
  r.pos = start;
  r.skip('UserSID (TOKEN_USER)', 2 * pointerSize);
  return r.sid('UserSID');
}

/**
 * Decode a Microsoft-Windows-Kernel-Process event (1 ProcessStart, 2 ProcessStop,
 * 15 ProcessRundown). Returns undefined for other event ids. Versions newer
 * than the ones known are read with the newest known layout: the provider
 * appends fields.
 */
export function decodeKernelProcessEvent(id: number, version: number, userData: Uint8Array): ProcessEventInfo | undefined {
  const what = `Microsoft-Windows-Kernel-Process event ${id} (version ${version})`;
  if (id === 1) return decodeStart(new PayloadReader(userData, what), version, 'start');
  if (id === 15) return decodeStart(new PayloadReader(userData, what), version >= 1 ? 3 : 2, 'rundown');
  if (id === 2) return decodeStop(new PayloadReader(userData, what), version);
  return undefined;
}

function decodeStart(r: PayloadReader, version: number, kind: ProcessEventKind): ProcessEventInfo {
  const info: ProcessEventInfo = { kind, pid: r.u32('ProcessID'), image: '' };
  if (version >= 3) {
    info.sequenceNumber = r.u64('ProcessSequenceNumber');
    info.createTime = r.u64('CreateTime');
    info.parentPid = r.u32('ParentProcessID');
    info.parentSequenceNumber = r.u64('ParentProcessSequenceNumber');
    info.sessionId = r.u32('SessionID');
    r.u32('Flags');
    r.u32('ProcessTokenElevationType');
    r.u32('ProcessTokenIsElevated');
    // A raw SID here (no TOKEN_USER in front).
    r.sid('MandatoryLabel');
  } else {
    info.createTime = r.u64('CreateTime');
    info.parentPid = r.u32('ParentProcessID');
    info.sessionId = r.u32('SessionID');
    if (version >= 1) r.u32('Flags');
  }
  const path = r.utf16z('ImageName');
  setImage(info, path);
  if (version >= 2) {
    r.u32('ImageChecksum');
    r.u32('TimeDateStamp');
    info.packageFullName = r.utf16z('PackageFullName');
    info.applicationId = r.utf16z('PackageRelativeAppId');
  }
  return info;
}

function decodeStop(r: PayloadReader, version: number): ProcessEventInfo {
  const info: ProcessEventInfo = { kind: 'end', pid: r.u32('ProcessID'), image: '' };
  if (version >= 2) info.sequenceNumber = r.u64('ProcessSequenceNumber');
  info.createTime = r.u64('CreateTime');
  info.exitTime = r.u64('ExitTime');
  info.exitStatus = r.u32('ExitCode');
  r.u32('TokenElevationType');
  r.u32('HandleCount');
  r.u64('CommitCharge');
  r.u64('CommitPeak');
  if (version >= 1) {
    r.u64('CPUCycleCount');
    r.u32('ReadOperationCount');
    r.u32('WriteOperationCount');
    r.u32('ReadTransferKiloBytes');
    r.u32('WriteTransferKiloBytes');
    r.u32('HardFaultCount');
  }
  setImage(info, r.ansiz('ImageName'));
  return info;
}

function setImage(info: ProcessEventInfo, path: string): void {
  const base = windowsBaseName(path);
  info.image = base;
  if (base !== path) info.imagePath = path;
}
