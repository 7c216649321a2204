// Streaming .etl writer: a header buffer (logfile-header event + PartitionInfo), then per-CPU
// data buffers written in flush order with a session-wide SequenceNumber, as the relogger that
// netsh trace and pktmon use does (docs/etl-format.md, File layout, Buffer header, Logfile header). Memory is bounded by one open
// buffer per CPU whatever the trace size.
//
// With `circularSlots` it writes as a session in circular mode (LogFileMode FILE_MODE_CIRCULAR)
// does: the file holds the header buffer and that many data buffers; once they are all used,
// each flushed buffer overwrites the oldest one, so a wrapped file holds the newest buffers in
// rotated order, its first remaining SequenceNumber is above 1, and BuffersWritten (every buffer
// the session flushed) exceeds the buffers in the file. Buffer time stamps are then the session
// clock's flush time, as in files the kernel writes (relogged files hold a FILETIME there).

import { closeSync, openSync, writeSync } from 'node:fs';
import { ByteWriter, guidBytes } from './bytes.js';
import { xpressCompress } from './xpress.js';

export const WMI_BUFFER_HEADER_SIZE = 0x48;
const LOGFILE_HEADER64_SIZE = 0x118;

export const BufferFlag = { FlushMarker: 0x1, ProcIndex: 0x20, Compressed: 0x40 } as const;

export interface TimeZoneInfo {
  biasMinutes: number;
  standardName: string;
  daylightName: string;
  /** SYSTEMTIME fields of the transition dates (8 x u16), zeros for none. */
  standardDate?: number[];
  daylightDate?: number[];
  standardBias?: number;
  daylightBias?: number;
}

/** EC2 Windows AMIs run in UTC; this is how Windows names it in the files (tzres.dll ids). */
export const UTC_TIME_ZONE: TimeZoneInfo = { biasMinutes: 0, standardName: '@tzres.dll,-932', daylightName: '@tzres.dll,-931' };

export interface EtlWriterOptions {
  /** On-disk size of every uncompressed data buffer; for compressed files the fill limit before a flush. */
  bufferSize: number;
  /** TRACE_LOGFILE_HEADER.BufferSize (nominal session buffer size). */
  nominalBufferSize: number;
  headerBufferSize: number;
  compressed: boolean;
  logFileMode: number;
  layoutVersion: [number, number];     // SubVersion, SubMinorVersion
  osVersion: [number, number];
  osBuild: number;
  numberOfProcessors: number;
  cpuSpeedMHz: number;
  timerResolution: number;
  maximumFileSizeMB: number;
  startTime: bigint;                   // FILETIME of the header event
  bootTime: bigint;
  perfFreq: bigint;
  loggerName: string;
  logFileName: string;
  timeZone: TimeZoneInfo;
  headerPid: number;
  headerTid: number;
  /** KernelTime/UserTime of the SYSTEM header of the logfile-header event. */
  headerCpuTimes: [number, number];
  /** State field of the header buffer: 0 in netsh files, 3 in compressed pktmon files. */
  headerBufferState: number;
  /** Circular mode: data buffers the file holds before the oldest are overwritten (uncompressed files only). */
  circularSlots?: number;
}

interface CpuBuffer {
  cpu: number;
  data: Buffer;        // whole buffer image, header area included
  end: number;         // end of the last record (unpadded)
  next: number;        // 8-aligned cursor
  lastTime: bigint;    // FILETIME of the last record
  count: number;
}

export interface EtlWriteSummary {
  path: string;
  buffers: number;          // in the file, header buffer included
  buffersWritten: number;   // flushed by the session (more than `buffers` once a circular file wraps)
  compressedBuffers: number;
  records: number;          // header buffer records included
  bytes: number;
  startTime: bigint;
  endTime: bigint;
}

const align8 = (n: number): number => (n + 7) & ~7;

export class EtlWriter {
  private fd: number;
  private filePos: number;
  private cpus = new Map<number, CpuBuffer>();
  private sequence = 1;
  private buffers = 1;
  private compressedBuffers = 0;
  private records = 0;
  /** Circular mode: records in the buffer each slot holds now. */
  private slotRecords: number[] = [];
  private endTime: bigint;
  private readonly refRaw: bigint;
  private closed = false;

  constructor(readonly path: string, readonly opts: EtlWriterOptions) {
    if (opts.bufferSize < 0x1000 || opts.bufferSize % 8 !== 0) throw new Error(`bad buffer size ${opts.bufferSize}`);
    if (opts.perfFreq <= 0n) throw new Error('perfFreq must be positive');
    if (opts.circularSlots !== undefined && (opts.compressed || !Number.isInteger(opts.circularSlots) || opts.circularSlots < 1)) {
      throw new Error('circular files hold a whole number of uncompressed data buffers');
    }
    // QPC counts from boot: the raw clock value of the header event.
    this.refRaw = ((opts.startTime - opts.bootTime) * opts.perfFreq) / 10_000_000n;
    this.endTime = opts.startTime;
    this.fd = openSync(path, 'w');
    // Placeholder; the real header buffer (BuffersWritten, EndTime) is written by close().
    this.filePos = opts.headerBufferSize;
    writeSync(this.fd, Buffer.alloc(opts.headerBufferSize, 0xff), 0, opts.headerBufferSize, 0);
  }

  /** Raw QPC value for a FILETIME (inverse of docs/etl-format.md, Clock conversion). */
  raw(fileTime: bigint): bigint {
    return this.refRaw + ((fileTime - this.opts.startTime) * this.opts.perfFreq) / 10_000_000n;
  }

  get maxRecordSize(): number {
    return Math.min(0xffff, this.opts.bufferSize - WMI_BUFFER_HEADER_SIZE) & ~7;
  }

  /** Append one complete record (its header included) to a CPU's buffer. Times must not go back per CPU. */
  add(cpu: number, fileTime: bigint, record: Uint8Array): void {
    if (this.closed) throw new Error('writer closed');
    if (record.length < 0x18 || record.length > this.maxRecordSize) {
      throw new Error(`record of ${record.length} bytes does not fit a ${this.opts.bufferSize}-byte buffer`);
    }
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.opts.numberOfProcessors) throw new Error(`cpu ${cpu} out of range`);
    let b = this.cpus.get(cpu);
    if (!b) {
      b = { cpu, data: Buffer.alloc(this.opts.bufferSize), end: WMI_BUFFER_HEADER_SIZE, next: WMI_BUFFER_HEADER_SIZE, lastTime: fileTime, count: 0 };
      this.cpus.set(cpu, b);
    }
    if (fileTime < b.lastTime) throw new Error(`cpu ${cpu}: event time goes back (${fileTime} < ${b.lastTime})`);
    if (b.next + record.length > this.opts.bufferSize) this.flush(b, false);
    b.data.set(record, b.next);
    b.end = b.next + record.length;
    b.next = align8(b.end);
    if (b.next > b.end) b.data.fill(0, b.end, Math.min(b.next, this.opts.bufferSize));
    b.lastTime = fileTime;
    b.count++;
    this.records++;
    if (fileTime > this.endTime) this.endTime = fileTime;
  }

  private flush(b: CpuBuffer, last: boolean): void {
    if (b.count === 0) return;
    const o = this.opts;
    const d = b.data;
    let flags = BufferFlag.ProcIndex | (last ? BufferFlag.FlushMarker : 0);
    let out: Buffer;
    if (o.compressed) {
      const packed = xpressCompress(d.subarray(WMI_BUFFER_HEADER_SIZE, b.end));
      out = Buffer.alloc(WMI_BUFFER_HEADER_SIZE + packed.length);
      packed.copy(out, WMI_BUFFER_HEADER_SIZE);
      flags |= BufferFlag.Compressed;
      this.compressedBuffers++;
    } else {
      d.fill(0xff, b.end, o.bufferSize);
      out = d;
    }
    const nominal = o.compressed ? o.nominalBufferSize : o.bufferSize;
    out.writeUInt32LE(out.length, 0x00);                 // BufferSize: stride to the next buffer
    out.writeUInt32LE(b.end, 0x04);                      // SavedOffset
    out.writeUInt32LE(b.end + nominal, 0x08);            // CurrentOffset as observed: saved + size
    out.writeUInt32LE(0, 0x0c);
    // Flush time: a FILETIME in relogged files, the session clock in files the kernel writes.
    out.writeBigUInt64LE(o.circularSlots ? this.raw(b.lastTime) : b.lastTime, 0x10);
    const sequence = this.sequence++;
    out.writeBigUInt64LE(BigInt(sequence), 0x18);
    out.writeBigUInt64LE(0n, 0x20);
    out.writeUInt16LE(b.cpu, 0x28);                      // ProcessorIndex (PROC_INDEX flag)
    out.writeUInt16LE(0, 0x2a);
    out.writeUInt32LE(3, 0x2c);                          // State: Flush
    out.writeUInt32LE(b.end, 0x30);                      // Offset: filled size
    out.writeUInt16LE(flags, 0x34);
    out.writeUInt16LE(0, 0x36);                          // BufferType GENERIC
    out.fill(0, 0x38, 0x48);
    if (o.circularSlots) {
      // Slot of this buffer: the one after the last used, back to the first once all are used.
      const slot = (sequence - 1) % o.circularSlots;
      const at = o.headerBufferSize + slot * o.bufferSize;
      this.slotRecords[slot] = b.count;
      writeSync(this.fd, out, 0, out.length, at);
      this.filePos = Math.max(this.filePos, at + out.length);
    } else {
      writeSync(this.fd, out, 0, out.length, this.filePos);
      this.filePos += out.length;
    }
    this.buffers++;
    b.end = WMI_BUFFER_HEADER_SIZE;
    b.next = WMI_BUFFER_HEADER_SIZE;
    b.count = 0;
  }

  /** Flush every CPU's open buffer and write the final header buffer. */
  close(endTime?: bigint): EtlWriteSummary {
    if (this.closed) throw new Error('writer closed');
    const open = [...this.cpus.values()].filter((b) => b.count > 0).sort((a, b) => a.cpu - b.cpu);
    open.forEach((b, i) => this.flush(b, i === open.length - 1));
    const end = endTime ?? this.endTime;
    const header = this.headerBuffer(end);
    writeSync(this.fd, header, 0, header.length, 0);
    closeSync(this.fd);
    this.closed = true;
    const circular = this.opts.circularSlots !== undefined;
    const inFile = circular ? 1 + Math.min(this.buffers - 1, this.opts.circularSlots!) : this.buffers;
    const records = circular ? this.slotRecords.reduce((a, n) => a + n, 0) : this.records;
    return {
      path: this.path, buffers: inFile, buffersWritten: this.buffers, compressedBuffers: this.compressedBuffers,
      records: records + 2, bytes: this.filePos, startTime: this.opts.startTime, endTime: end,
    };
  }

  /** Abandon the file (error path). */
  abort(): void {
    if (!this.closed) { closeSync(this.fd); this.closed = true; }
  }

  /** SYSTEM_TRACE_HEADER 64-bit (0x20 bytes) + payload. */
  systemRecord(hookId: number, version: number, tid: number, pid: number, fileTime: bigint, cpuTimes: [number, number], payload: Uint8Array): Buffer {
    const r = Buffer.alloc(0x20 + payload.length);
    r.writeUInt16LE(version, 0);
    r[2] = 0x02; r[3] = 0xc0;
    r.writeUInt16LE(r.length, 4);
    r.writeUInt16LE(hookId, 6);
    r.writeUInt32LE(tid >>> 0, 8);
    r.writeUInt32LE(pid >>> 0, 12);
    r.writeBigUInt64LE(this.raw(fileTime), 0x10);
    r.writeUInt32LE(cpuTimes[0] >>> 0, 0x18);
    r.writeUInt32LE(cpuTimes[1] >>> 0, 0x1c);
    r.set(payload, 0x20);
    return r;
  }

  /** The PartitionInfoExtension event (hook 0x50) every modern file carries: all zero payload. */
  partitionInfo(): Buffer {
    const o = this.opts;
    return this.systemRecord(0x0050, 2, o.headerTid, o.headerPid, o.startTime, o.headerCpuTimes, Buffer.alloc(48));
  }

  private headerBuffer(endTime: bigint): Buffer {
    const o = this.opts;
    const lh = new ByteWriter(LOGFILE_HEADER64_SIZE + 256);
    lh.u32(o.nominalBufferSize);
    lh.u8(o.osVersion[0]).u8(o.osVersion[1]).u8(o.layoutVersion[0]).u8(o.layoutVersion[1]);
    lh.u32(o.osBuild).u32(o.numberOfProcessors).u64(endTime).u32(o.timerResolution).u32(o.maximumFileSizeMB);
    lh.u32(o.logFileMode).u32(this.buffers).u32(1).u32(8).u32(0).u32(o.cpuSpeedMHz);
    lh.u64(0).u64(0);                                   // LoggerName/LogFileName "pointers": 0 when relogged
    const tz = o.timeZone;
    const tzName = (s: string): Buffer => { const b = Buffer.alloc(64); b.write(s.slice(0, 31), 'utf16le'); return b; };
    const sysTime = (v: number[] | undefined): void => { for (let i = 0; i < 8; i++) lh.u16(v?.[i] ?? 0); };
    lh.i32(tz.biasMinutes).bytes(tzName(tz.standardName)); sysTime(tz.standardDate); lh.i32(tz.standardBias ?? 0);
    lh.bytes(tzName(tz.daylightName)); sysTime(tz.daylightDate); lh.i32(tz.daylightBias ?? (tz.daylightName ? -60 : 0));
    lh.u32(0);                                          // alignment before BootTime
    lh.u64(o.bootTime).u64(o.perfFreq).u64(o.startTime).u32(1).u32(0); // ReservedFlags 1 = QPC clock
    if (lh.length !== LOGFILE_HEADER64_SIZE) throw new Error(`logfile header is ${lh.length} bytes`);
    lh.wstrz(o.loggerName).wstrz(o.logFileName);
    const ev = this.systemRecord(0x0000, 2, o.headerTid, o.headerPid, o.startTime, o.headerCpuTimes, lh.view());
    const part = this.partitionInfo();
    const buf = Buffer.alloc(o.headerBufferSize, 0xff);
    let at = WMI_BUFFER_HEADER_SIZE;
    ev.copy(buf, at); at = align8(at + ev.length);
    buf.fill(0, WMI_BUFFER_HEADER_SIZE + ev.length, at);
    const saved = at;
    part.copy(buf, at); at += part.length;
    if (at > o.headerBufferSize) throw new Error('header buffer too small for the logfile header');
    buf.writeUInt32LE(o.headerBufferSize, 0x00);
    buf.writeUInt32LE(saved, 0x04);                     // stops after the header event, as observed
    buf.fill(0, 0x08, 0x2c);
    buf.writeUInt32LE(o.headerBufferState, 0x2c);
    buf.writeUInt32LE(at, 0x30);
    buf.writeUInt16LE(BufferFlag.FlushMarker, 0x34);
    buf.writeUInt16LE(4, 0x36);                         // BufferType HEADER
    buf.fill(0, 0x38, 0x48);
    return buf;
  }
}

/** An event's provider and EVENT_DESCRIPTOR: what a record's header and its schema both carry. */
export interface EventIdentity {
  provider: string; // GUID
  id: number;
  version: number;
  channel: number;
  level: number;
  opcode: number;
  task: number;
  keywords: bigint;
}

export interface EventHeaderFields extends EventIdentity {
  tid: number;
  pid: number;
  kernelTime?: number;
  userTime?: number;
}

/** EVENT_HEADER record, 64-bit form (HeaderType 0x13), no extended items. */
export function eventRecord(w: EtlWriter, fileTime: bigint, f: EventHeaderFields, userData: Uint8Array[]): Buffer {
  let len = 0x50;
  for (const u of userData) len += u.length;
  if (len > 0xffff) throw new Error(`event ${f.id} of ${len} bytes exceeds 64 KiB`);
  const r = Buffer.alloc(len);
  r.writeUInt16LE(len, 0);
  r[2] = 0x13; r[3] = 0xc0;
  r.writeUInt16LE(0, 4);            // Flags
  r.writeUInt16LE(0, 6);            // EventProperty
  r.writeUInt32LE(f.tid >>> 0, 8);
  r.writeUInt32LE(f.pid >>> 0, 12);
  r.writeBigUInt64LE(w.raw(fileTime), 0x10);
  guidBytes(f.provider).copy(r, 0x18);
  r.writeUInt16LE(f.id, 0x28);
  r[0x2a] = f.version; r[0x2b] = f.channel; r[0x2c] = f.level; r[0x2d] = f.opcode;
  r.writeUInt16LE(f.task, 0x2e);
  r.writeBigUInt64LE(BigInt.asUintN(64, f.keywords), 0x30);
  r.writeUInt32LE((f.kernelTime ?? 0) >>> 0, 0x38);
  r.writeUInt32LE((f.userTime ?? 0) >>> 0, 0x3c);
  let at = 0x50;
  for (const u of userData) { r.set(u, at); at += u.length; }
  return r;
}

/** FULL_HEADER64 (EVENT_TRACE_HEADER, HeaderType 0x14) record with an inline class GUID. */
export function fullRecord(w: EtlWriter, fileTime: bigint, classGuid: string, type: number, tid: number, pid: number, union64: bigint, payload: Uint8Array): Buffer {
  const len = 0x30 + payload.length;
  if (len > 0xffff) throw new Error(`classic record of ${len} bytes exceeds 64 KiB`);
  const r = Buffer.alloc(len);
  r.writeUInt16LE(len, 0);
  r[2] = 0x14; r[3] = 0xc0;
  r[4] = type; r[5] = 0; r.writeUInt16LE(0, 6);
  r.writeUInt32LE(tid >>> 0, 8);
  r.writeUInt32LE(pid >>> 0, 12);
  r.writeBigUInt64LE(w.raw(fileTime), 0x10);
  guidBytes(classGuid).copy(r, 0x18);
  r.writeBigUInt64LE(BigInt.asUintN(64, union64), 0x28);
  r.set(payload, 0x30);
  return r;
}
