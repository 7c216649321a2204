// What a capture could and could not show, per file: packets cut short by a snap length, a
// circular file that wrapped, one side of the traffic or none of it, no PIDs in the packets, no
// process events. Each finding is a plain-language note; together they make the one line under
// scan's table that says what was missing and the command that captures it (docs/providers.md, What scan says about a capture).

import { IMDS } from '../constants.js';
import type { ImdsStats } from '../imds/types.js';
import type { NativeCaptureFacts, TraceHeader } from '../native/types.js';
import { fileTimeToIso } from '../time.js';
import { captureRecipe, DEFAULT_MAX_SIZE_MB, printableStart, type CaptureTool } from './commands.js';

export type CaptureNoteCode =
  | 'cut' | 'wrapped' | 'size-limit' | 'outbound-only' | 'inbound-only' | 'no-imds-packets' | 'no-packets'
  | 'no-usable-pids' | 'no-process-events' | 'events-lost';

export interface CaptureNote {
  code: CaptureNoteCode;
  text: string;
}

export interface CaptureQuality {
  /** The tool that made the capture, from its packets' provider. */
  tool: CaptureTool | null;
  packets: number;
  imdsPackets: number;
  /** Packets logged shorter than they were, in the whole file. */
  packetsCut: number;
  /** Bytes logged of a cut packet (pktmon --pkt-size, netsh packettruncatebytes); null when none was cut. */
  snapLength: number | null;
  largestPacket: number | null;
  imdsPacketsCut: number;
  /** A circular file whose oldest buffers were overwritten. */
  wrapped: boolean;
  /** The events fill the session's file size limit: the capture was full, and traffic is missing. */
  sizeLimitReached: boolean;
  /** From when the file holds everything the session logged (ISO); the trace start unless it wrapped. */
  coveredFrom: string | null;
  start: string | null;
  end: string | null;
  /** IMDS packets by direction: to IMDS and back. */
  directions: { out: number; in: number };
  /** Outbound IMDS packet events logged with a PID that names a process (not 0 or 4; pktmon's copies each count). */
  imdsPacketsWithPid: number;
  /** Kernel process events in the trace (they name PIDs at the time of each call). */
  processEvents: number;
  /** TCPIP connection events about IMDS connections (they give PIDs when packets do not). */
  tcpipEvents: number;
  eventsLost: number;
  buffersLost: number;
  notes: CaptureNote[];
  /** What this capture could not show, in short phrases, each with the note that explains it. */
  couldNotShow: { code: CaptureNoteCode; what: string }[];
  /** The command that would have shown it, as typed on Windows; null when nothing was missing. */
  command: string | null;
}

export interface CaptureEvidence {
  header: TraceHeader;
  native: NativeCaptureFacts;
  imds: ImdsStats;
  requests: number;
  /** Requests whose PID nothing in the trace gave. */
  requestsWithoutPid: number;
  processEvents: number;
  tcpipEvents: number;
  /** Where names come from when the trace has no process events. */
  names: { source: string; path?: string };
}

const USE_KBYTES_FOR_SIZE = 0x2000;

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function iso(t: bigint): string | null {
  return t > 0n ? fileTimeToIso(t) : null;
}

function shortTime(isoTime: string): string {
  return isoTime.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function toolOf(n: NativeCaptureFacts): CaptureTool | null {
  if (n.pktmonPackets > 0 || (n.packets === 0 && n.sawPktmon)) return 'pktmon';
  if (n.ndisPackets > 0) return 'netsh';
  return null;
}

/** The session's file size limit in bytes (0: none). */
function limitBytes(h: TraceHeader): number {
  return h.maximumFileSize * (h.logFileMode & USE_KBYTES_FOR_SIZE ? 1024 : 1024 * 1024);
}

/** A file size limit that would have held the trace: twice the one that filled up, in MB. */
function largerLimit(h: TraceHeader): number {
  return Math.max(DEFAULT_MAX_SIZE_MB, Math.ceil((2 * limitBytes(h)) / (1024 * 1024)));
}

// A file whose events take this much of its size limit was full: buffers are rarely all full,
// so a little less than the limit is as much as a full file holds.
const FULL = 0.9;

export function assessCapture(e: CaptureEvidence): CaptureQuality {
  const { header: h, native: n, imds: s } = e;
  const tool = toolOf(n);
  const imdsPackets = s.outbound + s.inbound;
  const notes: CaptureNote[] = [];
  const missing: { code: CaptureNoteCode; what: string }[] = [];
  const miss = (code: CaptureNoteCode, what: string) => missing.push({ code, what });
  let maxSizeMB: number | undefined;
  const start = iso(h.startTime);
  const end = iso(h.endTime);
  const coveredFrom = n.wrapped ? iso(n.completeFrom) : start;

  if (n.packets === 0) {
    notes.push({
      code: 'no-packets',
      text: 'The trace holds no packets: it was not a packet capture (netsh trace logs packets only with capture=yes; pktmon start only with --capture, and not with --counters-only).',
    });
    miss('no-packets', 'any packets');
  } else if (imdsPackets === 0) {
    notes.push({
      code: 'no-imds-packets',
      text: `The capture holds ${plural(n.packets, 'packet')}, none to or from IMDS (${IMDS.ipv4} or ${IMDS.ipv6}, port ${IMDS.port}): a capture filter or the choice of interfaces left them out, or nothing called IMDS while it ran.`,
    });
    miss('no-imds-packets', 'IMDS traffic');
  }

  if (s.cutPackets > 0) {
    const snap = s.snapLength || n.snapLength;
    const how = tool === 'pktmon' ? 'pktmon logs 128 bytes of each packet unless --pkt-size says otherwise; 0 logs them whole'
      : tool === 'netsh' ? 'netsh trace cuts packets when packettruncatebytes= is given' : 'the capture tool cut them';
    notes.push({
      code: 'cut',
      text: `${plural(s.cutPackets, 'IMDS packet')} (${n.packetsCut} of the capture's ${n.packets}) were logged cut at ${snap} bytes (${how}): each request shows what its first bytes hold, and one whose token header may be in the part cut off stays unknown.`,
    });
    miss('cut', `whole requests (packets cut at ${snap} bytes)`);
  }

  if (n.wrapped) {
    // Data buffers: the header buffer is one of the file's buffers and is counted in BuffersWritten.
    const kept = Math.max(0, n.buffers - 1);
    const written = Math.max(h.buffersWritten - 1, Number(n.newestSequence));
    const from = coveredFrom ? shortTime(coveredFrom) : null;
    notes.push({
      code: 'wrapped',
      text: `The capture file is circular and filled up: the session wrote ${written} buffers of events and the file keeps the newest ${kept}, so older traffic was overwritten${from ? ` and the trace is complete only from ${from}` : ''}. Connections that began before then are partial: what is left of them is listed.`,
    });
    miss('wrapped', from ? `traffic before ${from} (the circular file wrapped)` : 'the oldest traffic (the circular file wrapped)');
    maxSizeMB = largerLimit(h);
  }

  // netsh and pktmon rewrite the session's file when they stop (the relogger): the result no longer
  // says whether the session was circular or wrapped, but it keeps the session's size limit.
  const limit = limitBytes(h);
  const sizeLimitReached = !n.wrapped && limit > 0 && n.eventBytes >= FULL * limit;
  if (sizeLimitReached) {
    const mb = (b: number) => Math.round(b / (1024 * 1024));
    notes.push({
      code: 'size-limit',
      text: `The trace holds ${mb(n.eventBytes)} MB of events, as much as its ${mb(limit)} MB size limit allowed: the capture was full, so traffic is missing, overwritten at its start if the file was circular (pktmon's default, netsh fileMode=circular) or not logged after it filled up if not. The file no longer says which: netsh and pktmon rewrite it when they stop.`,
    });
    miss('size-limit', 'traffic the full file could not keep');
    maxSizeMB = largerLimit(h);
  }

  if (s.outbound > 0 && s.inbound === 0) {
    notes.push({
      code: 'outbound-only',
      text: `Only packets sent to IMDS were captured (${s.outbound}), none of its answers: the statuses are unknown. A capture filter or the choice of interfaces kept out the inbound direction.`,
    });
    miss('outbound-only', "IMDS's answers (statuses)");
  } else if (s.inbound > 0 && s.outbound === 0) {
    notes.push({
      code: 'inbound-only',
      text: `Only IMDS's answers were captured (${plural(s.inbound, 'packet')}), none of the requests: each answer is listed as an unknown request with its status, and the callers are unknown.`,
    });
    miss('inbound-only', 'the requests');
  }

  if (s.outbound > 0 && s.outboundWithPid === 0) {
    const tcpip = e.requestsWithoutPid === 0 ? ' TCPIP events in the trace named the processes instead.' : '';
    notes.push({
      code: 'no-usable-pids',
      text: `Every packet sent to IMDS was logged with PID 0 or 4 (in system context, as at the network adapter: pktmon --comp nics logs them so), so the packets do not say which process called.${tcpip}`,
    });
    if (e.requestsWithoutPid > 0) miss('no-usable-pids', "the callers' PIDs");
  }

  if (e.processEvents === 0 && e.requests > 0) {
    const from = e.names.source === 'cab' ? "the process list netsh's .cab took when the capture stopped"
      : e.names.source === 'tasklist' ? `the process list in ${e.names.path ?? 'the --processes file'}`
      : null;
    notes.push({
      code: 'no-process-events',
      text: from
        ? `The trace has no process events, so PIDs are named only from ${from}: a process that had exited by then, or whose PID was reused, is misnamed or unnamed.`
        : 'The trace has no process events and no process list was given (--processes, or the .cab netsh writes beside the trace), so PIDs are not named.',
    });
    miss('no-process-events', 'process names at the time of each call');
  }

  if (h.eventsLost > 0 || h.buffersLost > 0) {
    notes.push({
      code: 'events-lost',
      text: `Windows lost ${plural(h.eventsLost, 'event')}${h.buffersLost > 0 ? ` and ${plural(h.buffersLost, 'buffer')}` : ''} while capturing (it logged faster than it could write): some packets are missing.`,
    });
    miss('events-lost', 'every packet (events were lost)');
  }

  const command = missing.length === 0 ? null : printableStart(captureRecipe(tool ?? 'netsh', { maxSizeMB }));
  return {
    tool,
    packets: n.packets,
    imdsPackets,
    packetsCut: n.packetsCut,
    snapLength: n.snapLength > 0 ? n.snapLength : null,
    largestPacket: n.largestPacket > 0 ? n.largestPacket : null,
    imdsPacketsCut: s.cutPackets,
    wrapped: n.wrapped,
    sizeLimitReached,
    coveredFrom,
    start,
    end,
    directions: { out: s.outbound, in: s.inbound },
    imdsPacketsWithPid: s.outboundWithPid,
    processEvents: e.processEvents,
    tcpipEvents: e.tcpipEvents,
    eventsLost: h.eventsLost,
    buffersLost: h.buffersLost,
    notes,
    couldNotShow: missing,
    command,
  };
}

function listed(items: string[]): string {
  return items.length === 1 ? items[0]! : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The line under the table: what the capture could not show, and the command that would have. */
export function couldNotShowLine(q: Pick<CaptureQuality, 'couldNotShow' | 'command'>): string | null {
  if (q.couldNotShow.length === 0 || !q.command) return null;
  return `This capture could not show ${listed(q.couldNotShow.map((m) => m.what))}; this would have: ${q.command}`;
}

// The same findings without one file's figures, to say them once for many files.
const IN_GENERAL: Record<CaptureNoteCode, string> = {
  'no-packets': 'any packets',
  'no-imds-packets': 'IMDS traffic',
  cut: 'whole requests (packets cut short)',
  wrapped: 'their oldest traffic (circular files wrapped)',
  'size-limit': 'traffic a full file could not keep',
  'outbound-only': "IMDS's answers (statuses)",
  'inbound-only': 'the requests',
  'no-usable-pids': "the callers' PIDs",
  'no-process-events': 'process names at the time of each call',
  'events-lost': 'every packet (events were lost)',
};

/**
 * Lines under the table of a scan of several files: files that missed the same things and
 * need the same command share one line (the notes on stderr name each file).
 */
export class CouldNotShowSummary {
  private readonly groups = new Map<string, { codes: CaptureNoteCode[]; command: string; files: number }>();

  add(q: Pick<CaptureQuality, 'couldNotShow' | 'command'> | undefined): void {
    if (!q || q.couldNotShow.length === 0 || !q.command) return;
    const codes = q.couldNotShow.map((m) => m.code);
    const key = `${codes.join(',')}\0${q.command}`;
    const g = this.groups.get(key);
    if (g) g.files++;
    else this.groups.set(key, { codes, command: q.command, files: 1 });
  }

  lines(): string[] {
    return [...this.groups.values()].map((g) =>
      `${plural(g.files, 'capture')} could not show ${listed(g.codes.map((c) => IN_GENERAL[c]))}; this would have: ${g.command}`);
  }
}
