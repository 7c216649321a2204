// Who a caller is, in the form scan reports it (docs/scan-output.md): its command line, account,
// session, lifetime and ancestors. Plain data (strings, numbers, null), so it crosses worker
// threads and prints as JSON as it is.

import { fileTimeToIso } from '../time.js';
import { accountOf, type Account } from './accounts.js';
import type { ChainEndReason } from './parents.js';
import type { ProcessLifetime, ProcessName, ProcessTable } from './process-table.js';

/** One ancestor of a caller. */
export interface ParentRef {
  pid: number;
  image: string;
  commandLine: string | null;
  services: string[];
  startTime: string | null;
  exitTime: string | null;
}

export interface ProcessIdentity {
  /** The process instance (see ProcessName.key); `?` for requests no PID could be found for. */
  key: string;
  commandLine: string | null;
  imagePath: string | null;
  /** -1 for processes outside any session (System, smss), as Windows gives it. */
  sessionId: number | null;
  user: Account | null;
  /** When the process was created and exited (ISO 8601, UTC), when the trace says. */
  startTime: string | null;
  exitTime: string | null;
  /** Nearest first, every one the trace knows (scan's output shows the first four). */
  parents: ParentRef[];
  /** Why the chain ends; null when there is no PID to follow. */
  parentsEnd: { reason: ChainEndReason; pid: number | null } | null;
}

const NO_SESSION = 0xffffffff;

function sessionOf(l: ProcessLifetime | undefined): number | null {
  if (l?.sessionId === undefined) return null;
  return l.sessionId === NO_SESSION ? -1 : l.sessionId;
}

function startOf(l: ProcessLifetime | undefined): string | null {
  return l && l.beginExact && l.begin !== undefined ? fileTimeToIso(l.begin) : null;
}

function exitOf(l: ProcessLifetime | undefined): string | null {
  return l && l.endExact && l.end !== undefined ? fileTimeToIso(l.end) : null;
}

export function unattributedIdentity(): ProcessIdentity {
  return { key: '?', commandLine: null, imagePath: null, sessionId: null, user: null, startTime: null, exitTime: null, parents: [], parentsEnd: null };
}

/** The identity of the process `name` names (undefined: nothing names the PID). */
export function identityOf(table: ProcessTable, pid: number, name: ProcessName | undefined): ProcessIdentity {
  if (!name) {
    return {
      ...unattributedIdentity(),
      key: String(pid),
      parentsEnd: { reason: table.hasProcessEvents ? 'parent-unknown' : 'no-process-events', pid: null },
    };
  }
  const l = name.lifetime;
  const chain = table.parents(name);
  return {
    key: name.key,
    commandLine: l?.commandLine ?? null,
    imagePath: l?.imagePath ?? null,
    sessionId: sessionOf(l),
    user: accountOf(l?.userSid),
    startTime: startOf(l),
    exitTime: exitOf(l),
    parents: chain.links.map((link) => ({
      pid: link.pid,
      image: link.name.image,
      commandLine: link.name.lifetime?.commandLine ?? null,
      services: link.name.services,
      startTime: startOf(link.name.lifetime),
      exitTime: exitOf(link.name.lifetime),
    })),
    parentsEnd: chain.end,
  };
}
