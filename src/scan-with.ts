// `scan --with OTHER.etl`: events from other traces of the same machine and time, joined to a
// capture's packets on absolute time (docs/scan-output.md, Joining traces). A kernel logger or
// WPR trace taken beside netsh or pktmon gives process identities (command lines, users, parents);
// Microsoft-Windows-TCPIP events in it attribute connections. Packets in it are not read: the
// capture's own packets are the ones reported.
import { native } from './native/binding.js';
import type { Diagnostic, TraceEvent, TraceHeader } from './native/types.js';
import { fileTimeToIso } from './time.js';

/** A trace that is not from the same machine and time as the capture it was given with. */
export class TraceMismatchError extends Error {
  readonly code = 'TRACE_MISMATCH';
  constructor(message: string) {
    super(message);
    this.name = 'TraceMismatchError';
  }
}

const SECOND = 10_000_000n;
// Windows records the boot time to about a second, and a clock adjustment between two sessions
// moves it a little; another boot of the same machine is minutes away.
const BOOT_TOLERANCE = 10n * SECOND;

export function readHeader(file: string): TraceHeader {
  const reader = new (native().TraceReader)(file);
  try {
    return reader.header();
  } finally {
    reader.close();
  }
}

/** The time a trace covers; an end before the start (a file still being written) is open-ended. */
function span(h: TraceHeader): { start: bigint; end: bigint | undefined } {
  return { start: h.startTime, end: h.endTime > h.startTime ? h.endTime : undefined };
}

function when(h: TraceHeader): string {
  const s = span(h);
  return `${fileTimeToIso(s.start)} to ${s.end === undefined ? 'its end' : fileTimeToIso(s.end)}`;
}

/**
 * Why `other` cannot be joined to `capture`, or nothing when it can: another machine (Windows
 * build, processor count), another boot, or no time in common. Neither netsh nor pktmon files
 * name the computer, so the machine is told by what the file headers hold.
 */
export function mismatchReasons(capture: TraceHeader, other: TraceHeader): string[] {
  const reasons: string[] = [];
  if (capture.osBuild !== other.osBuild) reasons.push(`it was written on Windows build ${other.osBuild}, the capture on build ${capture.osBuild}`);
  if (capture.numberOfProcessors !== other.numberOfProcessors) {
    reasons.push(`its machine has ${other.numberOfProcessors} processors, the capture's ${capture.numberOfProcessors}`);
  }
  const boot = capture.bootTime - other.bootTime;
  if (boot > BOOT_TOLERANCE || boot < -BOOT_TOLERANCE) {
    reasons.push(`its machine booted at ${fileTimeToIso(other.bootTime)}, the capture's at ${fileTimeToIso(capture.bootTime)}`);
  }
  const a = span(capture);
  const b = span(other);
  const overlap = (a.end === undefined || b.start <= a.end) && (b.end === undefined || a.start <= b.end);
  if (!overlap) reasons.push(`it covers ${when(other)}, the capture ${when(capture)}: no time in common`);
  return reasons;
}

/** Refuses, with every reason, traces that are not of the capture's machine and time. */
export function checkWith(capture: string, others: readonly string[]): void {
  if (others.length === 0) return;
  const h = readHeader(capture);
  for (const other of others) {
    const reasons = mismatchReasons(h, readHeader(other));
    if (reasons.length) throw new TraceMismatchError(`${other} is not from the machine and time of ${capture}: ${reasons.join('; ')}`);
  }
}

/**
 * Feeds the events of `providers` in `file` to `sink`, in the order Windows delivers them.
 * `keepGoing` is asked between batches; false stops the read. Returns the reader's diagnostics.
 */
export async function readWith(file: string, providers: string[], sink: (e: TraceEvent) => void, keepGoing: () => boolean): Promise<Diagnostic[]> {
  const reader = new (native().TraceReader)(file, { providers });
  const diagnostics: Diagnostic[] = [];
  try {
    for (;;) {
      const batch = await reader.readBatch(4096);
      diagnostics.push(...batch.diagnostics);
      for (const e of batch.events) sink(e);
      if (batch.done || !keepGoing()) break;
    }
  } finally {
    reader.close();
  }
  return diagnostics;
}
