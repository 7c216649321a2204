// What the trace's own events say about processes and services, from their
// decoded properties (native/etl decodes every layout; the names are those of
// Windows' schemas; docs/etl-format.md, Kernel Process events (MOF),
// Microsoft-Windows-Kernel-Process and Services (SystemConfig)):
//  - kernel Process class (MOF): Start 1, End 2, DCStart 3, DCEnd 4,
//    Terminate 11, Defunct 39;
//  - Microsoft-Windows-Kernel-Process: ProcessStart 1, ProcessStop 2, ProcessRundown 15;
//  - SystemConfig Services (EventTraceConfig class, type 15).

import type { PropertyValue, TraceEvent } from '../native/types.js';
import { PROVIDERS } from '../constants.js';
import { fileTimeOfProperty } from '../time.js';

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
  /** Kernel-Process ParentProcessSequenceNumber (version 3 and later): names the parent across PID reuse. */
  parentSequenceNumber?: bigint;
}

export interface ServiceConfigInfo {
  pid: number;
  serviceName: string;
  displayName: string;
  processName: string;
  /** SERVICE_STATUS_PROCESS dwCurrentState (4 = running); absent in v0. */
  state?: number;
  subProcessTag?: number;
}

/** A process or service event whose properties do not hold what its kind must. */
export class EventShapeError extends Error {}

const MOF_KIND: Record<number, ProcessEventKind> = { 1: 'start', 2: 'end', 3: 'rundown', 4: 'rundown', 11: 'terminate', 39: 'defunct' };
const KERNEL_PROCESS_KIND: Record<number, ProcessEventKind> = { 1: 'start', 2: 'end', 15: 'rundown' };
export const SERVICES_OPCODE = 15;
/** SystemConfig "CPU" (type 10): the computer's name (docs/etl-format.md, Services (SystemConfig)). */
export const CPU_OPCODE = 10;

/** Which events name processes: for the scan to ask the reader for exactly these. */
export const PROCESS_NAMING_PROVIDERS = [PROVIDERS.processClass, PROVIDERS.kernelProcess, PROVIDERS.eventTraceConfig];

class Fields {
  constructor(private readonly e: TraceEvent, private readonly what: string) {}
  private get(name: string): PropertyValue | undefined {
    return this.e.properties?.[name];
  }
  /** A field the event must have is missing: say why decoding stopped, when it did. */
  private missing(field: string): never {
    const why = this.e.propertiesError ?? (this.e.properties ? 'not in its properties' : 'no properties decoded');
    throw new EventShapeError(`${this.what}: no ${field} (${why})`);
  }
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }
  /** An integer property as a u32 (pointer-sized PIDs keep their low 32 bits). */
  u32(name: string): number {
    const v = this.get(name);
    if (typeof v === 'number' && Number.isInteger(v)) return v >>> 0;
    if (typeof v === 'bigint') return Number(BigInt.asUintN(32, v));
    return this.missing(`integer ${name}`);
  }
  int(name: string): number {
    const v = this.get(name);
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(BigInt.asIntN(32, v));
    return this.missing(`integer ${name}`);
  }
  big(name: string): bigint | undefined {
    const v = this.get(name);
    return typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(v) : undefined;
  }
  text(name: string): string {
    const v = this.get(name);
    if (typeof v !== 'string') return this.missing(`text ${name}`);
    return v;
  }
  optionalText(name: string): string | undefined {
    const v = this.get(name);
    return typeof v === 'string' ? v : undefined;
  }
  fileTime(name: string): bigint | undefined {
    const v = this.get(name);
    return typeof v === 'string' ? fileTimeOfProperty(v) : undefined;
  }
}

function isClassic(e: TraceEvent): boolean {
  return e.kind === 'system' || e.kind === 'perfinfo' || e.kind === 'full' || e.kind === 'instance';
}

/** Last path component of a Windows (or NT device) path. */
function windowsBaseName(path: string): string {
  const i = Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/'));
  return i >= 0 ? path.slice(i + 1) : path;
}

function setImage(info: ProcessEventInfo, path: string): void {
  const base = windowsBaseName(path);
  info.image = base;
  if (base !== path) info.imagePath = path;
}

/**
 * The process an event speaks of, or undefined when it is not a process event
 * (another provider, or an opcode/id that names no process). Throws
 * EventShapeError when its properties lack what that kind of event holds.
 */
export function processEventOf(e: TraceEvent): ProcessEventInfo | undefined {
  if (e.provider === PROVIDERS.processClass && isClassic(e)) {
    const kind = MOF_KIND[e.opcode];
    if (!kind) return undefined;
    const f = new Fields(e, `kernel Process event (type ${e.opcode}, version ${e.version}, ${e.pointerSize * 8}-bit)`);
    const info: ProcessEventInfo = { kind, pid: f.u32('ProcessId'), image: '' };
    if (kind === 'terminate') return info;
    if (f.has('UniqueProcessKey')) info.uniqueProcessKey = f.big('UniqueProcessKey');
    info.parentPid = f.u32('ParentId');
    if (f.has('SessionId')) info.sessionId = f.u32('SessionId');
    if (f.has('ExitStatus')) info.exitStatus = f.int('ExitStatus');
    const sid = f.optionalText('UserSID');
    if (sid) info.userSid = sid;
    info.image = f.text('ImageFileName');
    if (f.has('CommandLine')) info.commandLine = f.text('CommandLine');
    if (f.has('PackageFullName')) info.packageFullName = f.text('PackageFullName');
    if (f.has('ApplicationId')) info.applicationId = f.text('ApplicationId');
    const exit = f.fileTime('ExitTime');
    if (exit !== undefined) info.exitTime = exit;
    return info;
  }
  if (e.provider === PROVIDERS.kernelProcess && e.kind === 'event') {
    const kind = KERNEL_PROCESS_KIND[e.id];
    if (!kind) return undefined;
    const f = new Fields(e, `Microsoft-Windows-Kernel-Process event ${e.id} (version ${e.version})`);
    const info: ProcessEventInfo = { kind, pid: f.u32('ProcessID'), image: '' };
    const seq = f.big('ProcessSequenceNumber');
    if (seq !== undefined) info.sequenceNumber = seq;
    const create = f.fileTime('CreateTime');
    if (create !== undefined) info.createTime = create;
    if (kind === 'end') {
      const exit = f.fileTime('ExitTime');
      if (exit !== undefined) info.exitTime = exit;
      info.exitStatus = f.u32('ExitCode');
    } else {
      info.parentPid = f.u32('ParentProcessID');
      const parentSeq = f.big('ParentProcessSequenceNumber');
      if (parentSeq !== undefined) info.parentSequenceNumber = parentSeq;
      info.sessionId = f.u32('SessionID');
    }
    setImage(info, f.text('ImageName'));
    const pkg = f.optionalText('PackageFullName');
    if (pkg !== undefined) info.packageFullName = pkg;
    const app = f.optionalText('PackageRelativeAppId');
    if (app !== undefined) info.applicationId = app;
    return info;
  }
  return undefined;
}

/** The service a SystemConfig Services event names, or undefined for any other event. */
export function serviceEventOf(e: TraceEvent): ServiceConfigInfo | undefined {
  if (e.provider !== PROVIDERS.eventTraceConfig || e.opcode !== SERVICES_OPCODE) return undefined;
  const f = new Fields(e, `SystemConfig Services event (version ${e.version})`);
  const info: ServiceConfigInfo = {
    pid: f.u32('ProcessId'),
    serviceName: f.text('ServiceName'),
    displayName: f.text('DisplayName'),
    processName: f.text('ProcessName'),
  };
  if (f.has('ServiceState')) info.state = f.u32('ServiceState');
  if (f.has('SubProcessTag')) info.subProcessTag = f.u32('SubProcessTag');
  return info;
}

/** The computer's name from a SystemConfig CPU event; undefined for any other event or an empty name. */
export function computerNameOf(e: TraceEvent): string | undefined {
  if (e.provider !== PROVIDERS.eventTraceConfig || e.opcode !== CPU_OPCODE) return undefined;
  const name = new Fields(e, `SystemConfig CPU event (version ${e.version})`).text('ComputerName').trim();
  return name === '' ? undefined : name;
}
