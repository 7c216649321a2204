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
}

interface KernelEvent {
  time: bigint;
  type: number;
  pid: number;
  tid: number;
  payload: Buffer;
}

const PROCESS_GROUP = 0x0300;
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
      events.push({ time: at, type: KernelProcessType.DCStart, pid: 0, tid: 0, payload: kernelProcessMofPayload(p, STILL_ACTIVE) });
    }
    for (const p of procs) {
      // A start is logged in the parent's context, an end in the exiting process's.
      if (p.startTime !== undefined) {
        events.push({ time: p.startTime, type: KernelProcessType.Start, pid: p.ppid ?? 0, tid: 1000 + (p.ppid ?? 0), payload: kernelProcessMofPayload(p, STILL_ACTIVE) });
      }
      if (p.exitTime !== undefined) events.push({ time: p.exitTime, type: KernelProcessType.End, pid: p.pid, tid: 1000 + p.pid, payload: kernelProcessMofPayload(p, 0) });
    }
    at = end - BigInt(procs.length + 1) * RUNDOWN_STEP;
    for (const p of procs) {
      at += RUNDOWN_STEP;
      if (p.exitTime === undefined) events.push({ time: at, type: KernelProcessType.DCEnd, pid: 0, tid: 0, payload: kernelProcessMofPayload(p, STILL_ACTIVE) });
    }
    // Stable: events at one time keep the order above.
    events.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    for (const e of events) {
      if (e.time < start || e.time > end) throw new Error(`kernel Process event at ${e.time} outside the session (${start} to ${end})`);
      side.until(e.time);
      const t = e.time > (last.get(0) ?? start) ? e.time : (last.get(0) ?? start);
      w.add(0, t, w.systemRecord(PROCESS_GROUP | e.type, 4, e.tid, e.pid, t, [0, 0], e.payload));
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
