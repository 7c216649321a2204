// Copies of a finished trace as they look while their netsh or pktmon session is still running:
// the logfile header has no EndTime and no final BuffersWritten yet (both are written at stop),
// and the file holds only the buffers flushed so far, possibly the last one half written, or
// zeros where space was reserved but not yet filled.
import { readFileSync, writeFileSync } from 'node:fs';

// Logfile header event in buffer 0: 72-byte buffer header, 32-byte system event header, then
// TRACE_LOGFILE_HEADER with EndTime at +0x10 and BuffersWritten at +0x24.
const LOGFILE_HEADER = 72 + 0x20;

/** File offsets where each buffer starts (the chain of BufferSize fields). */
export function bufferOffsets(bytes: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at + 72 <= bytes.length; ) {
    out.push(at);
    const size = bytes.readUInt32LE(at);
    if (size < 72) break;
    at += size;
  }
  return out;
}

export interface LiveCopy {
  /** Bytes of the finished trace kept (the rest is missing or, with `zeros`, zero). */
  keep: number;
  /** Keep the finished file's length, with zeros after `keep`. */
  zeros?: boolean;
  /** The session has stopped: header as written at stop (the finished file's prefix as it is). */
  stopped?: boolean;
}

/** Writes `dest`: the trace `src` as a running session would have left it so far. */
export function writeLiveCopy(src: string, dest: string, c: LiveCopy): void {
  const full = readFileSync(src);
  const out = c.zeros ? Buffer.alloc(full.length) : Buffer.alloc(c.keep);
  full.copy(out, 0, 0, c.keep);
  if (!c.stopped) {
    out.writeBigUInt64LE(0n, LOGFILE_HEADER + 0x10);
    out.writeUInt32LE(0, LOGFILE_HEADER + 0x24);
  }
  writeFileSync(dest, out);
}

/** curl without a token at 1 s (EARLY_PID), curl's token PUT and v2 GET at 3 s, the JS SDK without a token at 5 s (LATE_PID). */
export const LIVE_CALLERS = [
  { capture: 'curl-v1', at: 1, pids: { 57116: 4100 } },
  { capture: 'curl-v2', at: 3, pids: { 57316: 4200, 57320: 4204 } },
  { capture: 'sdk-js-v1', at: 5, pids: { 64648: 4300 } },
];
export const EARLY_PID = 4100;
export const LATE_PID = 4300;

// Copies made when the session has written 60 % of its buffers (one CPU: buffers in time order):
// the first caller is in, the last is not.
const cut = (o: number[]) => Math.round(o.length * 0.6);
export const LIVE_CASES: { name: string; copy: (offsets: number[]) => LiveCopy }[] = [
  { name: 'read at a buffer boundary', copy: (o) => ({ keep: o[cut(o)]! }) },
  { name: 'its last buffer half written', copy: (o) => ({ keep: Math.round((o[cut(o)]! + o[cut(o) + 1]!) / 2) }) },
  { name: 'zeros where buffers are not yet flushed', copy: (o) => ({ keep: o[cut(o)]!, zeros: true }) },
];
