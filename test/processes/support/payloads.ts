// Byte builders for process-event payloads (little-endian, packed, as the
// kernel writes them), the properties the reader must decode from them (the
// names of Windows' own schemas), and TraceEvent wrappers carrying those
// properties for the process-table tests. test/etl/known-layouts.test.ts
// checks that the reader turns each payload into exactly these properties.

import type { PropertyValue, TraceEvent } from '../../../src/native/types.js';
import { fileTimeToIso } from '../../../src/time.js';

type Properties = Record<string, PropertyValue>;

/** A pointer-sized or 64-bit integer as the reader hands it: a number when exact, else a bigint. */
function int(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) + 1n ? Number(v) : v;
}

export class Bytes {
  private parts: Buffer[] = [];
  u8(v: number): this { this.parts.push(Buffer.from([v])); return this; }
  u16(v: number): this { const b = Buffer.alloc(2); b.writeUInt16LE(v); this.parts.push(b); return this; }
  u32(v: number): this { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.parts.push(b); return this; }
  i32(v: number): this { const b = Buffer.alloc(4); b.writeInt32LE(v); this.parts.push(b); return this; }
  u64(v: bigint): this { const b = Buffer.alloc(8); b.writeBigUInt64LE(v); this.parts.push(b); return this; }
  ptr(v: bigint, size: 4 | 8): this { return size === 8 ? this.u64(v) : this.u32(Number(v)); }
  ansiz(s: string): this { this.parts.push(Buffer.from(s + '\0', 'latin1')); return this; }
  utf16z(s: string): this { this.parts.push(Buffer.from(s + '\0', 'utf16le')); return this; }
  utf16fixed(s: string, chars: number): this { const b = Buffer.alloc(chars * 2); b.write(s, 'utf16le'); this.parts.push(b); return this; }
  raw(b: Uint8Array): this { this.parts.push(Buffer.from(b)); return this; }
  /** Binary SID from its S-R-A-s1-s2... text. */
  sid(text: string): this {
    const [, rev, auth, ...subs] = text.split('-');
    const b = Buffer.alloc(8 + 4 * subs.length);
    b[0] = Number(rev);
    b[1] = subs.length;
    b.writeUIntBE(Number(auth), 2, 6);
    subs.forEach((s, i) => b.writeUInt32LE(Number(s), 8 + 4 * i));
    this.parts.push(b);
    return this;
  }
  /** The kernel MOF Sid field: TOKEN_USER (two pointers) then the SID, or u32 0. */
  kernelSid(text: string | undefined, size: 4 | 8): this {
    if (text === undefined) return this.u32(0);
    return this.ptr(0xffffa00011112222n & (size === 8 ? 0xffffffffffffffffn : 0xffffffffn), size).ptr(0n, size).sid(text);
  }
  build(): Uint8Array { return new Uint8Array(Buffer.concat(this.parts)); }
}

export interface MofProcessFields {
  key?: bigint;
  pid: number;
  ppid: number;
  session?: number;
  exit?: number;
  sid?: string;
  image: string;
  commandLine?: string;
  packageFullName?: string;
  applicationId?: string;
  exitTime?: bigint;
}

/** Kernel Process MOF payload, written from the per-version field lists of docs/etl-format.md, Kernel Process events (MOF). */
export function mofProcessPayload(version: number, size: 4 | 8, f: MofProcessFields): Uint8Array {
  const b = new Bytes();
  if (version === 0) {
    b.ptr(BigInt(f.pid), size).ptr(BigInt(f.ppid), size);
  } else {
    b.ptr(f.key ?? 0xffffc08800001000n & (size === 8 ? 0xffffffffffffffffn : 0xffffffffn), size)
      .u32(f.pid).u32(f.ppid).u32(f.session ?? 1).i32(f.exit ?? 259);
    if (version >= 3) b.ptr(0x1aa000n, size);
    if (version >= 4) b.u32(0);
  }
  b.kernelSid(f.sid, size).ansiz(f.image);
  if (version >= 2) b.utf16z(f.commandLine ?? '');
  if (version >= 4) b.utf16z(f.packageFullName ?? '').utf16z(f.applicationId ?? '');
  if (version >= 5) b.u64(f.exitTime ?? 0n);
  return b.build();
}

/** What the reader decodes from mofProcessPayload(version, size, f). */
export function mofProcessProperties(version: number, size: 4 | 8, f: MofProcessFields): Properties {
  const mask = size === 8 ? 0xffffffffffffffffn : 0xffffffffn;
  const p: Properties = {};
  if (version === 0) {
    p.ProcessId = f.pid;
    p.ParentId = f.ppid;
  } else {
    p[version === 1 ? 'PageDirectoryBase' : 'UniqueProcessKey'] = int(f.key ?? 0xffffc08800001000n & mask);
    Object.assign(p, { ProcessId: f.pid, ParentId: f.ppid, SessionId: f.session ?? 1, ExitStatus: f.exit ?? 259 });
    if (version >= 3) p.DirectoryTableBase = 0x1aa000;
    if (version >= 4) p.Flags = 0;
  }
  p.UserSID = f.sid ?? '';
  p.ImageFileName = f.image;
  if (version >= 2) p.CommandLine = f.commandLine ?? '';
  if (version >= 4) Object.assign(p, { PackageFullName: f.packageFullName ?? '', ApplicationId: f.applicationId ?? '' });
  if (version >= 5) p.ExitTime = fileTimeToIso(f.exitTime ?? 0n);
  return p;
}

export const MOF_GUID = '3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c';
export const KP_GUID = '22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716';
export const SYSCONFIG_GUID = '01853a65-418f-4f36-aefc-dc0f1d2fd235';

let offset = 0;
export function traceEvent(p: Partial<TraceEvent> & { provider: string; fileTime: bigint; userData: Uint8Array }): TraceEvent {
  return {
    cpu: 0,
    pid: 0xffffffff,
    tid: 0,
    kind: 'system',
    id: 0,
    version: 0,
    opcode: 0,
    level: 0,
    task: 0,
    keywords: 0n,
    channel: 0,
    pointerSize: 8,
    bufferIndex: 1,
    fileOffset: (offset += 0x100),
    ...p,
  };
}

export function mofEvent(opcode: number, version: number, fileTime: bigint, f: MofProcessFields, size: 4 | 8 = 8): TraceEvent {
  return traceEvent({
    provider: MOF_GUID, kind: size === 8 ? 'system' : 'perfinfo', opcode, version, fileTime, pointerSize: size,
    userData: mofProcessPayload(version, size, f), properties: mofProcessProperties(version, size, f),
  });
}

/** Terminate (type 11): the process id alone. */
export function terminateEvent(pid: number, fileTime: bigint): TraceEvent {
  return traceEvent({ provider: MOF_GUID, opcode: 11, version: 2, fileTime, userData: new Bytes().u32(pid).build(), properties: { ProcessId: pid } });
}

export interface KpStartFields {
  pid: number;
  create: bigint;
  ppid: number;
  session?: number;
  image: string;
  seq?: bigint;
}

/** Microsoft-Windows-Kernel-Process 1 ProcessStart / 15 ProcessRundown payload (§10.2). */
export function kpStartPayload(version: number, f: KpStartFields): Uint8Array {
  const b = new Bytes();
  if (version >= 3) {
    b.u32(f.pid).u64(f.seq ?? 77n).u64(f.create).u32(f.ppid).u64(76n).u32(f.session ?? 1).u32(0).u32(1).u32(0).sid('S-1-16-12288').utf16z(f.image).u32(0x1234).u32(0x5678).utf16z('').utf16z('');
  } else {
    b.u32(f.pid).u64(f.create).u32(f.ppid).u32(f.session ?? 1);
    if (version >= 1) b.u32(0);
    b.utf16z(f.image);
    if (version >= 2) b.u32(0x1234).u32(0x5678).utf16z('Pkg_1.0').utf16z('App');
  }
  return b.build();
}

/** What the reader decodes from kpStartPayload(version, f). */
export function kpStartProperties(version: number, f: KpStartFields): Properties {
  if (version >= 3) {
    return {
      ProcessID: f.pid, ProcessSequenceNumber: int(f.seq ?? 77n), CreateTime: fileTimeToIso(f.create), ParentProcessID: f.ppid,
      ParentProcessSequenceNumber: 76, SessionID: f.session ?? 1, Flags: 0, ProcessTokenElevationType: 1, ProcessTokenIsElevated: 0,
      MandatoryLabel: 'S-1-16-12288', ImageName: f.image, ImageChecksum: 0x1234, TimeDateStamp: 0x5678, PackageFullName: '', PackageRelativeAppId: '',
    };
  }
  const p: Properties = { ProcessID: f.pid, CreateTime: fileTimeToIso(f.create), ParentProcessID: f.ppid, SessionID: f.session ?? 1 };
  if (version >= 1) p.Flags = 0;
  p.ImageName = f.image;
  if (version >= 2) Object.assign(p, { ImageChecksum: 0x1234, TimeDateStamp: 0x5678, PackageFullName: 'Pkg_1.0', PackageRelativeAppId: 'App' });
  return p;
}

export interface KpStopFields {
  pid: number;
  create: bigint;
  exit: bigint;
  exitCode?: number;
  image: string;
  seq?: bigint;
}

export function kpStopPayload(version: number, f: KpStopFields): Uint8Array {
  const b = new Bytes().u32(f.pid);
  if (version >= 2) b.u64(f.seq ?? 77n);
  b.u64(f.create).u64(f.exit).u32(f.exitCode ?? 0).u32(1).u32(120).u64(4096n).u64(8192n);
  if (version >= 1) b.u64(123456789n).u32(1).u32(2).u32(3).u32(4).u32(5);
  b.ansiz(f.image);
  return b.build();
}

/** What the reader decodes from kpStopPayload(version, f). */
export function kpStopProperties(version: number, f: KpStopFields): Properties {
  const p: Properties = { ProcessID: f.pid };
  if (version >= 2) p.ProcessSequenceNumber = int(f.seq ?? 77n);
  Object.assign(p, {
    CreateTime: fileTimeToIso(f.create), ExitTime: fileTimeToIso(f.exit), ExitCode: f.exitCode ?? 0, TokenElevationType: 1,
    HandleCount: 120, CommitCharge: 4096, CommitPeak: 8192,
  });
  if (version >= 1) {
    Object.assign(p, {
      CPUCycleCount: 123456789, ReadOperationCount: 1, WriteOperationCount: 2, ReadTransferKiloBytes: 3, WriteTransferKiloBytes: 4, HardFaultCount: 5,
    });
  }
  p.ImageName = f.image;
  return p;
}

/** A Kernel-Process event carrying `properties` (from kpStartProperties / kpStopProperties). */
export function kpEvent(id: number, version: number, fileTime: bigint, properties: Properties): TraceEvent {
  return traceEvent({ provider: KP_GUID, kind: 'event', id, version, opcode: id === 1 || id === 15 ? 1 : 2, fileTime, userData: new Uint8Array(0), properties });
}

export interface ServiceFields {
  pid: number;
  service: string;
  display: string;
  process: string;
  state?: number;
  tag?: number;
}

export function servicePayload(version: number, f: ServiceFields): Uint8Array {
  if (version === 0) {
    return new Bytes().utf16fixed(f.service, 34).utf16fixed(f.display, 256).utf16fixed(f.process, 34).u32(f.pid).build();
  }
  return new Bytes().u32(f.pid).u32(f.state ?? 4).u32(f.tag ?? 9).utf16z(f.service).utf16z(f.display).utf16z(f.process).build();
}

/** What the reader decodes from servicePayload(version, f). */
export function serviceProperties(version: number, f: ServiceFields): Properties {
  if (version === 0) return { ServiceName: f.service, DisplayName: f.display, ProcessName: f.process, ProcessId: f.pid };
  return { ProcessId: f.pid, ServiceState: f.state ?? 4, SubProcessTag: f.tag ?? 9, ServiceName: f.service, DisplayName: f.display, ProcessName: f.process };
}

export function serviceEvent(version: number, fileTime: bigint, f: ServiceFields): TraceEvent {
  return traceEvent({ provider: SYSCONFIG_GUID, kind: 'full', opcode: 15, version, fileTime, userData: servicePayload(version, f), properties: serviceProperties(version, f) });
}
