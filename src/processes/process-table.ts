// Names for PIDs, merged from what the trace says over time (kernel Process
// events, Microsoft-Windows-Kernel-Process, SystemConfig services) and from a
// tasklist snapshot (a --processes file or the processes.txt of the .cab).
//
// Precedence: a trace lifetime that covers the asked time wins; otherwise the
// snapshot. netsh takes the snapshot when the trace stops, so it only names
// processes alive at the end; when the trace shows the PID belonged to
// someone else earlier, the snapshot answer is marked low confidence.

import type { Diagnostic, TraceEvent } from '../native/types.js';
import type { TasklistRow } from './tasklist.js';
import { parentOf as followParent, type ParentChain } from './parents.js';
import { EventShapeError, processEventOf, serviceEventOf, type ProcessEventInfo, type ServiceConfigInfo } from './trace-events.js';

export type NameSource = 'trace' | 'tasklist' | 'cab';
export type Confidence = 'high' | 'medium' | 'low';

export interface ProcessName {
  pid: number;
  image: string;
  services: string[];
  source: NameSource;
  confidence: Confidence;
  /** Why the confidence is not high. */
  note?: string;
  imagePath?: string;
  commandLine?: string;
  /**
   * Which process instance: `<pid>#<n>` for the n-th process the trace shows holding the PID
   * (oldest first), `<pid>` when only the snapshot names it.
   */
  key: string;
  /** The trace's lifetime behind the name, when the name comes from the trace. */
  lifetime?: ProcessLifetime;
}

/** One process that held a PID, as far as the trace shows. */
export interface ProcessLifetime {
  pid: number;
  /** Position among the PID's lifetimes, oldest first, from 1. */
  ordinal: number;
  image: string;
  imagePath?: string;
  commandLine?: string;
  parentPid?: number;
  /** As the events give it: 0xFFFFFFFF for processes outside any session (System, smss). */
  sessionId?: number;
  userSid?: string;
  /** Kernel-Process ProcessSequenceNumber and its parent's: unique per boot, so they survive PID reuse. */
  sequenceNumber?: bigint;
  parentSequenceNumber?: bigint;
  /** A start event of this process is in the trace (it began during the capture). */
  startSeen: boolean;
  /**
   * The first rundown event (DCStart, DCEnd, ProcessRundown) that listed it. A rundown lists the
   * running processes in the order they were created, so of two processes listed by rundowns
   * the one listed first is the older (docs/imds.md, Parent chains).
   */
  rundownAt?: { t: bigint; seq: number };
  /** Creation time (FILETIME); undefined when it is before anything the trace shows. */
  begin?: bigint;
  /** True when begin comes from a start event or a CreateTime field. */
  beginExact: boolean;
  /** Exit time; undefined when the trace never saw it exit. */
  end?: bigint;
  endExact: boolean;
  /** Times of the first and last events that saw the process. */
  firstSeen: bigint;
  lastSeen: bigint;
  services: string[];
}

/** A process or service event that lacks a field its kind has: where it is and why. */
export type ProcessTableProblem = Diagnostic<'payload'>;

type Observation =
  | { t: bigint; seq: number; type: 'process'; info: ProcessEventInfo }
  | { t: bigint; seq: number; type: 'service'; info: ServiceConfigInfo };

const MAX_PROBLEMS = 1000;
/** Two start events of one PID and image this close (100 ns units) are one process start. */
const SAME_START = 10_000_000n;

export class ProcessTable {
  private readonly observations = new Map<number, Observation[]>();
  private readonly built = new Map<number, ProcessLifetime[]>();
  private readonly dirty = new Set<number>();
  private readonly snapshots: { source: 'tasklist' | 'cab'; rows: Map<number, TasklistRow> }[] = [];
  private readonly problemList: ProcessTableProblem[] = [];
  private problemCount = 0;
  private seq = 0;

  /** `file`: the trace the events come from, named in the problems. */
  constructor(private readonly file = '') {}
  /** Whether the trace logs process creation / exit at all (then silence means something). */
  private sawStarts = false;
  private sawEnds = false;
  private sawRundown = false;

  /** Problems met while decoding events (first 1000 kept). */
  get problems(): readonly ProcessTableProblem[] {
    return this.problemList;
  }

  /** Number of problems in all, including those not kept. */
  get problemTotal(): number {
    return this.problemCount;
  }

  /**
   * Feed one trace event. Returns true when it was a process or service event
   * that was used; events of other providers are ignored cheaply.
   */
  addEvent(ev: TraceEvent): boolean {
    try {
      const info = processEventOf(ev);
      if (info) {
        this.observe(info.pid, { t: ev.fileTime, seq: this.seq++, type: 'process', info });
        return true;
      }
      const service = serviceEventOf(ev);
      if (service) {
        this.observe(service.pid, { t: ev.fileTime, seq: this.seq++, type: 'service', info: service });
        return true;
      }
    } catch (e) {
      if (!(e instanceof EventShapeError)) throw e;
      this.problemCount++;
      if (this.problemList.length < MAX_PROBLEMS) {
        this.problemList.push({
          severity: 'warning',
          code: 'payload',
          message: `${e.message} (buffer ${ev.bufferIndex} at file offset ${ev.fileOffset})`,
          file: this.file,
          offset: ev.fileOffset,
          buffer: ev.bufferIndex,
        });
      }
    }
    return false;
  }

  addEvents(events: Iterable<TraceEvent>): number {
    let used = 0;
    for (const ev of events) if (this.addEvent(ev)) used++;
    return used;
  }

  /** Feed what one process event says, already decoded, with the event's time. */
  addProcess(info: ProcessEventInfo, fileTime: bigint): void {
    this.observe(info.pid, { t: fileTime, seq: this.seq++, type: 'process', info });
  }

  /** Whether the trace holds any process or service event at all. */
  get hasProcessEvents(): boolean {
    return this.observations.size > 0;
  }

  /** Whether the trace lists the processes that were running (a rundown), so a missing PID means something. */
  get listsRunningProcesses(): boolean {
    return this.sawRundown;
  }

  /**
   * Add a tasklist snapshot. Several may be added; an explicit tasklist file
   * ('tasklist') takes precedence over the cab's copy ('cab').
   */
  addTasklist(rows: readonly TasklistRow[], source: 'tasklist' | 'cab'): void {
    const map = new Map<number, TasklistRow>();
    for (const row of rows) if (!map.has(row.pid)) map.set(row.pid, row);
    this.snapshots.push({ source, rows: map });
    this.snapshots.sort((a, b) => rank(a.source) - rank(b.source));
  }

  /** Every process the trace shows for a PID, oldest first. */
  lifetimes(pid: number): readonly ProcessLifetime[] {
    if (this.dirty.has(pid)) {
      this.built.set(pid, buildLifetimes(pid, this.observations.get(pid)!));
      this.dirty.delete(pid);
    }
    return this.built.get(pid) ?? [];
  }

  /** PIDs the trace mentions. */
  tracedPids(): number[] {
    return [...this.observations.keys()].sort((a, b) => a - b);
  }

  /**
   * The trace's process that held `pid` at `fileTime`, if any. `accept` narrows the candidates
   * (the parent chain asks only for processes older than the child).
   */
  lifetimeAt(pid: number, fileTime: bigint, accept?: (l: ProcessLifetime) => boolean): ProcessLifetime | undefined {
    // Candidates whose bounds hold the time; one actually seen around it
    // beats one whose bounds were inferred, then the later one wins.
    let owner: ProcessLifetime | undefined;
    let ownerSeen = false;
    for (const l of this.lifetimes(pid)) {
      if (l.image === '') continue;
      if (l.begin !== undefined && fileTime < l.begin) continue;
      if (l.end !== undefined && fileTime > l.end) continue;
      if (accept && !accept(l)) continue;
      const seen = fileTime >= l.firstSeen && fileTime <= l.lastSeen;
      if (!owner || (seen && !ownerSeen) || (seen === ownerSeen && (l.begin ?? -1n) >= (owner.begin ?? -1n))) {
        owner = l;
        ownerSeen = seen;
      }
    }
    return owner;
  }

  /** Who held `pid` at `fileTime` (UTC FILETIME, 100 ns units). */
  nameFor(pid: number, fileTime: bigint): ProcessName | undefined {
    const owner = this.lifetimeAt(pid, fileTime);
    return owner ? this.nameOfLifetime(owner, fileTime) : this.snapshotName(pid, fileTime);
  }

  /** The name a trace lifetime gives at `fileTime`, with the snapshot's services when both agree. */
  nameOfLifetime(owner: ProcessLifetime, fileTime: bigint): ProcessName {
    const pid = owner.pid;
    const snap = this.snapshotRow(pid);
    const services = [...owner.services];
    // The snapshot names the same process when it was alive at the end.
    if (snap && owner.end === undefined && sameImage(owner.image, snap.row.image)) {
      for (const s of snap.row.services) if (!services.some((x) => x.toLowerCase() === s.toLowerCase())) services.push(s);
    }
    const lowOk = owner.beginExact ? true : fileTime >= owner.firstSeen || (owner.begin === undefined && this.sawStarts);
    // Still alive later than last seen: credible when the trace logs exits (none came), when it logs
    // starts (a reuse of the PID would have shown one), or when the snapshot taken at the end agrees.
    const aliveAtEnd = !!snap && sameImage(owner.image, snap.row.image);
    const highOk = owner.endExact ? true : fileTime <= owner.lastSeen || (owner.end === undefined && (this.sawEnds || this.sawStarts || aliveAtEnd));
    const result: ProcessName = {
      pid,
      image: owner.image,
      services,
      source: 'trace',
      confidence: lowOk && highOk ? 'high' : 'medium',
      key: `${pid}#${owner.ordinal}`,
      lifetime: owner,
    };
    if (!(lowOk && highOk)) {
      result.note = `the trace saw ${owner.image} with PID ${pid} only from ${owner.firstSeen} to ${owner.lastSeen}; the time asked is outside that`;
    }
    if (owner.imagePath !== undefined) result.imagePath = owner.imagePath;
    if (owner.commandLine !== undefined) result.commandLine = owner.commandLine;
    return result;
  }

  /** The snapshot's name for a PID no trace lifetime covers at `fileTime`. */
  snapshotName(pid: number, fileTime: bigint): ProcessName | undefined {
    const snap = this.snapshotRow(pid);
    if (!snap) return undefined;
    const lives = this.lifetimes(pid);
    const result: ProcessName = {
      pid,
      image: snap.row.image,
      services: [...snap.row.services],
      source: snap.source,
      confidence: 'medium',
      note: 'from the process list taken when the trace stopped',
      key: String(pid),
    };
    const known = lives.filter((l) => l.image !== '' || l.end !== undefined);
    if (known.length > 0) {
      // The trace shows this PID in use by a process that does not cover the
      // time asked: the PID was reused, and the snapshot names whoever held it last.
      result.confidence = 'low';
      const last = known[known.length - 1]!;
      const lastName = last.image || 'another process';
      if (last.end === undefined && last.begin !== undefined && fileTime < last.begin) {
        result.note = `PID ${pid} was reused: the trace shows ${lastName} started at ${last.begin}, after the time asked; the process list taken when the trace stopped names ${snap.row.image}`;
      } else if (last.end !== undefined && fileTime <= last.end) {
        result.note = `PID ${pid} was reused: the trace shows ${lastName} holding it until ${last.end}; the process list taken when the trace stopped names ${snap.row.image}, which started after that`;
      } else {
        result.note = `PID ${pid} was reused during the trace (${lastName} held it before); the process list taken when the trace stopped names ${snap.row.image}`;
      }
    }
    return result;
  }

  /**
   * The ancestors of a process, nearest first, as far as the trace (or, for a parent the trace
   * never shows, the snapshot) knows them, and why the chain ends (docs/imds.md, Parent chains).
   */
  parents(name: ProcessName, max = 64): ParentChain {
    const links: ParentChain['links'] = [];
    if (!name.lifetime) {
      return { links, end: { reason: this.hasProcessEvents ? 'parent-unknown' : 'no-process-events', pid: null } };
    }
    const seen = new Set<ProcessLifetime>([name.lifetime]);
    let child = name.lifetime;
    for (;;) {
      const step = followParent(this, child);
      if (step.end) return { links, end: step.end };
      const link = step.link!;
      if (links.length >= max) return { links, end: { reason: 'limit', pid: link.pid } };
      if (link.name.lifetime && seen.has(link.name.lifetime)) return { links, end: { reason: 'not-in-trace', pid: link.pid } };
      links.push(link);
      if (!link.name.lifetime) return { links, end: { reason: 'parent-unknown', pid: null } };
      seen.add(link.name.lifetime);
      child = link.name.lifetime;
    }
  }

  snapshotRow(pid: number): { row: TasklistRow; source: 'tasklist' | 'cab' } | undefined {
    for (const s of this.snapshots) {
      const row = s.rows.get(pid);
      if (row) return { row, source: s.source };
    }
    return undefined;
  }

  private observe(pid: number, obs: Observation): void {
    if (obs.type === 'process') {
      if (obs.info.kind === 'start') this.sawStarts = true;
      if (obs.info.kind === 'end') this.sawEnds = true;
      if (obs.info.kind === 'rundown') this.sawRundown = true;
    }
    let list = this.observations.get(pid);
    if (!list) this.observations.set(pid, (list = []));
    list.push(obs);
    this.dirty.add(pid);
  }
}

function rank(source: 'tasklist' | 'cab'): number {
  return source === 'tasklist' ? 0 : 1;
}

/**
 * Image names from different sources differ in case and in truncation
 * (tasklist cuts at 25 characters, the kernel's EPROCESS name at 15).
 */
export function sameImage(a: string, b: string): boolean {
  if (a === '' || b === '') return true;
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return true;
  const [short, long] = x.length < y.length ? [x, y] : [y, x];
  return short.length >= 14 && long.startsWith(short);
}

function buildLifetimes(pid: number, observations: Observation[]): ProcessLifetime[] {
  const sorted = [...observations].sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.seq - b.seq));
  const done: ProcessLifetime[] = [];
  let cur: ProcessLifetime | undefined;
  // Terminate (MOF type 11) comes before End for the same process: it marks
  // the exit under way; End closes the lifetime. Without an End, it is the exit.
  const terminatedAt = new Map<ProcessLifetime, bigint>();

  const open = (t: bigint, image: string, begin: bigint | undefined): ProcessLifetime => {
    const prev = done[done.length - 1];
    // Without a creation time, the process began after the previous holder ended.
    const b = begin ?? prev?.end;
    const l: ProcessLifetime = { pid, ordinal: 0, image, beginExact: begin !== undefined, endExact: false, startSeen: false, firstSeen: t, lastSeen: t, services: [] };
    if (b !== undefined) l.begin = b;
    return l;
  };
  // The current holder is gone: at `bound` (a later creation time) when known,
  // else we only know it was alive when last seen.
  const closeInexact = (bound?: bigint): void => {
    if (!cur) return;
    const term = terminatedAt.get(cur);
    if (term !== undefined) {
      cur.end = term;
      cur.endExact = true;
    } else {
      cur.end = bound !== undefined && bound >= cur.lastSeen ? bound : cur.lastSeen;
      cur.endExact = false;
    }
    done.push(cur);
    cur = undefined;
  };
  const enrich = (l: ProcessLifetime, info: ProcessEventInfo, t: bigint, seq: number): void => {
    if (info.image && (l.image === '' || info.image.length > l.image.length)) l.image = info.image;
    if (info.imagePath !== undefined) l.imagePath = info.imagePath;
    if (info.commandLine) l.commandLine = info.commandLine;
    if (info.parentPid !== undefined && l.parentPid === undefined) l.parentPid = info.parentPid;
    if (info.sessionId !== undefined && l.sessionId === undefined) l.sessionId = info.sessionId;
    if (info.userSid !== undefined && l.userSid === undefined) l.userSid = info.userSid;
    if (info.sequenceNumber !== undefined && l.sequenceNumber === undefined) l.sequenceNumber = info.sequenceNumber;
    if (info.parentSequenceNumber !== undefined && l.parentSequenceNumber === undefined) l.parentSequenceNumber = info.parentSequenceNumber;
    if (info.kind === 'start') l.startSeen = true;
    if (info.kind === 'rundown' && l.rundownAt === undefined) l.rundownAt = { t, seq };
    if (t > l.lastSeen) l.lastSeen = t;
    if (t < l.firstSeen) l.firstSeen = t;
  };
  const validTime = (v: bigint | undefined): bigint | undefined => (v !== undefined && v > 0n ? v : undefined);

  for (const obs of sorted) {
    const t = obs.t;
    if (obs.type === 'service') {
      const s = obs.info;
      if (!cur || !sameImage(cur.image, s.processName)) {
        closeInexact();
        cur = open(t, s.processName, undefined);
      }
      if (cur.image === '') cur.image = s.processName;
      if (s.serviceName && !cur.services.includes(s.serviceName)) cur.services.push(s.serviceName);
      if (t > cur.lastSeen) cur.lastSeen = t;
      continue;
    }
    const info = obs.info;
    const createTime = validTime(info.createTime);
    switch (info.kind) {
      case 'start': {
        // The same start seen twice: two traces of the same machine (scan --with) each log it,
        // the kernel's Process class and Microsoft-Windows-Kernel-Process alike. A PID is only
        // taken again after its holder exits, which would have ended `cur`.
        if (cur && cur.startSeen && cur.begin !== undefined && sameImage(cur.image, info.image) && t - cur.begin <= SAME_START && cur.begin - t <= SAME_START) {
          enrich(cur, info, t, obs.seq);
          break;
        }
        // A new process with this PID means the old holder is gone. The event
        // time, not the payload's CreateTime, bounds it: payload FILETIMEs come
        // from the system clock, event times from the session clock that packet
        // times also use, and the two drift apart (1.76 s over an 8-hour
        // kernel trace in the fixtures).
        closeInexact(t);
        cur = open(t, info.image, t);
        enrich(cur, info, t, obs.seq);
        break;
      }
      case 'rundown': {
        const differentCreate = cur && createTime !== undefined && cur.begin !== undefined && cur.beginExact && createTime !== cur.begin;
        if (!cur || !sameImage(cur.image, info.image) || differentCreate) {
          closeInexact(createTime);
          cur = open(t, info.image, createTime);
        }
        enrich(cur, info, t, obs.seq);
        if (createTime !== undefined && !cur.beginExact) {
          cur.begin = createTime;
          cur.beginExact = true;
        }
        break;
      }
      case 'terminate': {
        const prev = done[done.length - 1];
        if (!cur && prev && prev.endExact) {
          // Terminate after End: the exit is already known.
          if (t > prev.lastSeen) prev.lastSeen = t;
          break;
        }
        if (!cur) cur = open(t, '', undefined);
        if (!terminatedAt.has(cur)) terminatedAt.set(cur, t);
        if (t > cur.lastSeen) cur.lastSeen = t;
        break;
      }
      case 'end':
      case 'defunct': {
        // End/ProcessStop is logged at the exit: its event time is the exit on
        // the packets' clock. Defunct is logged at rundown, long after: only
        // its payload ExitTime says when the process exited.
        const exit = info.kind === 'defunct' ? validTime(info.exitTime) ?? t : t;
        if (cur && sameImage(cur.image, info.image)) {
          enrich(cur, info, t, obs.seq);
          cur.end = exit;
          cur.endExact = true;
          done.push(cur);
          cur = undefined;
          break;
        }
        const prev = done[done.length - 1];
        if (!cur && prev && prev.endExact && sameImage(prev.image, info.image)) {
          // Defunct at rundown (or a repeated End) for a process already seen to exit.
          enrich(prev, info, t, obs.seq);
          break;
        }
        closeInexact(createTime);
        const l = open(t, info.image, createTime);
        enrich(l, info, t, obs.seq);
        l.end = exit;
        l.endExact = true;
        done.push(l);
        break;
      }
    }
  }
  if (cur) {
    const term = terminatedAt.get(cur);
    if (term !== undefined) {
      cur.end = term;
      cur.endExact = true;
    }
    done.push(cur);
  }
  done.forEach((l, i) => (l.ordinal = i + 1));
  return done;
}
