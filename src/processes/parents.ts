// Who started a process: the step from a process to its parent, with PID reuse in mind
// (docs/imds.md, Parent chains). A process's events give its parent's PID; the parent is the
// process that held that PID when the child was created and is not younger than the child.

import type { ProcessLifetime, ProcessName, ProcessTable } from './process-table.js';

/**
 * Why a chain of parents ends:
 * - no-parent: the last process has none (parent PID 0: System, Idle);
 * - exited-before-capture: the trace lists the processes that were running and the parent was not
 *   among them; the child was already running when the capture began, so its parent had exited;
 * - not-in-trace: the trace has no process with the parent's PID at that time, and cannot say why
 *   (it lists no running processes, or events were lost);
 * - parent-unknown: the events of the last process do not give its parent (it is named only by the
 *   process list, or by events without a parent PID);
 * - no-process-events: the trace holds no process events at all;
 * - limit: more ancestors than were asked for.
 */
export type ChainEndReason = 'no-parent' | 'exited-before-capture' | 'not-in-trace' | 'parent-unknown' | 'no-process-events' | 'limit';

export interface ChainLink {
  pid: number;
  /** The parent as named at the child's creation: from the trace, or from the snapshot when the trace never shows that PID. */
  name: ProcessName;
}

export interface ParentChain {
  /** Nearest first. */
  links: ChainLink[];
  /** Why there is no further parent; `pid` is the parent PID that could not be followed, when known. */
  end: { reason: ChainEndReason; pid: number | null };
}

type Step = { link: ChainLink; end?: undefined } | { end: ParentChain['end']; link?: undefined };

/** When a child was created, as well as the trace knows: its creation time, else when it was first seen. */
function creation(l: ProcessLifetime): bigint {
  return l.beginExact && l.begin !== undefined ? l.begin : l.firstSeen;
}

/** Whether `p` can be the parent of `c`: not younger than it, and the same process its events name. */
function canBeParentOf(p: ProcessLifetime, c: ProcessLifetime): boolean {
  if (p === c) return false;
  // Kernel-Process sequence numbers name the very process, whatever became of its PID.
  if (c.parentSequenceNumber !== undefined && p.sequenceNumber !== undefined) return c.parentSequenceNumber === p.sequenceNumber;
  if (p.beginExact && c.beginExact && p.begin !== undefined && c.begin !== undefined) return p.begin <= c.begin;
  // Rundowns list processes oldest first: a process listed after the child is younger than it
  // and holds a reused PID (docs/imds.md, Parent chains).
  if (!c.beginExact && p.rundownAt && c.rundownAt) {
    return p.rundownAt.t < c.rundownAt.t || (p.rundownAt.t === c.rundownAt.t && p.rundownAt.seq < c.rundownAt.seq);
  }
  return true;
}

export function parentOf(table: ProcessTable, child: ProcessLifetime): Step {
  const ppid = child.parentPid;
  if (ppid === undefined) return { end: { reason: 'parent-unknown', pid: null } };
  if (ppid === 0 || ppid === child.pid) return { end: { reason: 'no-parent', pid: null } };
  const at = creation(child);
  const parent = table.lifetimeAt(ppid, at, (p) => canBeParentOf(p, child));
  if (parent) return { link: { pid: ppid, name: table.nameOfLifetime(parent, at) } };
  if (!table.listsRunningProcesses && table.lifetimes(ppid).length === 0) {
    // The trace never shows that PID and cannot say who held it: the process list taken at the
    // end names whoever held it then, which is the parent if the PID was not reused meanwhile.
    const snap = table.snapshotName(ppid, at);
    if (snap) return { link: { pid: ppid, name: snap } };
  }
  if (table.listsRunningProcesses && !child.startSeen) return { end: { reason: 'exited-before-capture', pid: ppid } };
  return { end: { reason: 'not-in-trace', pid: ppid } };
}
