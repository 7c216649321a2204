// A kernel process trace as WPR, xperf or a merged kernel-logger session leaves it: relogged
// (LogFileMode 0x00010001, layout 1.5), kernel Process events of the MOF class with SYSTEM
// headers (HookId 0x03nn, version 4, 64-bit), written the way the kernel logger writes them:
// a DCStart rundown of the running processes (oldest first) when the session starts, Start and
// End as processes come and go, a DCEnd rundown when it stops (docs/etl-format.md, Kernel Process
// events (MOF)). Kernel-Process and TCPIP events of CommonTraceOptions may be added, as a WPR
// profile that enables those providers would.

import { openRelogged } from './relogger.js';
import { FILETIME_SECOND, type CommonTraceOptions, type TraceSummary } from './packet.js';
import { kernelProcessMofPayload, KernelProcessType, type GenProcess } from './providers.js';

export interface KernelTraceOptions extends CommonTraceOptions {
  /**
   * The processes the kernel's Process events show, in the order they were created: those
   * without startTime were running when the session started (DCStart), those without exitTime
   * still run when it stops (DCEnd). `image` may be a path; the events carry its file name.
   */
  kernelProcesses: GenProcess[];
  /** Uncompressed buffers of this size (default 64 KiB). */
  bufferSize?: number;
  /**
   * The computer's name: a SystemConfig CPU event (EventTraceConfig type 10) in the configuration
   * rundown the kernel logger writes when it stops (docs/etl-format.md, Services (SystemConfig)).
   */
  computerName?: string;
}

interface KernelEvent {
  time: bigint;
  /** The system record's HookId: group and type. */
  hook: number;
  version: number;
  pid: number;
  tid: number;
  payload: Buffer;
}

const PROCESS_GROUP = 0x0300;
const CONFIG_CPU = 0x0b0a;

/** A SystemConfig CPU payload: MHz, processors, memory, page size, allocation granularity, then ComputerName and DomainName (WCHAR[256], WCHAR[134]). */
function systemConfigCpuPayload(computerName: string, processors: number): Buffer {
  const head = Buffer.alloc(20);
  [2500, processors, 8192, 4096, 65536].forEach((v, i) => head.writeUInt32LE(v, i * 4));
  const name = Buffer.alloc(512);
  name.write(computerName.slice(0, 255), 'utf16le');
  const domain = Buffer.alloc(268);
  domain.write('WORKGROUP', 'utf16le');
  return Buffer.concat([head, name, domain, Buffer.alloc(4)]);
}
const STILL_ACTIVE = 259;
// Rundown events follow each other by a few microseconds, as the kernel enumerates its process list.
const RUNDOWN_STEP = 30n;

export async function writeKernelEtl(path: string, opts: KernelTraceOptions): Promise<TraceSummary> {
  const bufferSize = opts.bufferSize ?? 64 * 1024;
  const { w, start, last, side } = await openRelogged(path, [], opts, {
    bufferSize, nominalBufferSize: bufferSize, headerBufferSize: bufferSize,
    compressed: false, logFileMode: 0x00010001, layoutVersion: [1, 5],
    logFileName: opts.logFileName ?? 'C:\\kernel.etl',
    headerPid: opts.writerPid ?? 3320, headerTid: opts.writerTid ?? 3324, headerCpuTimes: [3, 1], headerBufferState: 0,
  });
  try {
    const procs = opts.kernelProcesses;
    let latest = start;
    for (const p of procs) for (const t of [p.startTime, p.exitTime]) if (t !== undefined && t > latest) latest = t;
    const end = opts.endTime ?? latest + FILETIME_SECOND;
    const events: KernelEvent[] = [];
    let at = start;
    for (const p of procs) {
      if (p.startTime !== undefined) continue;
      at += RUNDOWN_STEP;
      events.push({ time: at, hook: PROCESS_GROUP | KernelProcessType.DCStart, version: 4, pid: 0, tid: 0, payload: kernelProcessMofPayload(p, STILL_ACTIVE) });
    }
    for (const p of procs) {
      // A start is logged in the parent's context, an end in the exiting process's.
      if (p.startTime !== undefined) {
        events.push({ time: p.startTime, hook: PROCESS_GROUP | KernelProcessType.Start, version: 4, pid: p.ppid ?? 0, tid: 1000 + (p.ppid ?? 0), payload: kernelProcessMofPayload(p, STILL_ACTIVE) });
      }
      if (p.exitTime !== undefined) events.push({ time: p.exitTime, hook: PROCESS_GROUP | KernelProcessType.End, version: 4, pid: p.pid, tid: 1000 + p.pid, payload: kernelProcessMofPayload(p, 0) });
    }
    at = end - BigInt(procs.length + 1) * RUNDOWN_STEP;
    for (const p of procs) {
      at += RUNDOWN_STEP;
      if (p.exitTime === undefined) events.push({ time: at, hook: PROCESS_GROUP | KernelProcessType.DCEnd, version: 4, pid: 0, tid: 0, payload: kernelProcessMofPayload(p, STILL_ACTIVE) });
    }
    if (opts.computerName !== undefined) {
      events.push({ time: end - RUNDOWN_STEP, hook: CONFIG_CPU, version: 3, pid: 0, tid: 0, payload: systemConfigCpuPayload(opts.computerName, opts.numberOfProcessors ?? 2) });
    }
    // Stable: events at one time keep the order above.
    events.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    for (const e of events) {
      if (e.time < start || e.time > end) throw new Error(`kernel event at ${e.time} outside the session (${start} to ${end})`);
      side.until(e.time);
      const t = e.time > (last.get(0) ?? start) ? e.time : (last.get(0) ?? start);
      w.add(0, t, w.systemRecord(e.hook, e.version, e.tid, e.pid, t, [0, 0], e.payload));
      last.set(0, t);
    }
    side.rest();
    const s = w.close(end);
    return {
      path, buffers: s.buffers, buffersWritten: s.buffersWritten, compressedBuffers: s.compressedBuffers, records: s.records, packets: 0, packetEvents: 0,
      sideEvents: side.count, bytes: s.bytes, startTime: start, endTime: s.endTime,
    };
  } catch (e) {
    w.abort();
    throw e;
  }
}
