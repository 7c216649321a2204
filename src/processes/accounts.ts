// Names for the accounts a process runs as. Kernel Process events carry the
// user's SID only (docs/etl-format.md, Kernel Process events (MOF)); the SIDs
// below are the same on every Windows machine, so they can be named without
// the machine's account database. Any other SID is printed as it is.

/** A process's account: its SID, and a name when the SID is a well-known one. */
export interface Account {
  sid: string;
  /** SYSTEM, LOCAL SERVICE, NETWORK SERVICE, ...; null when the SID is not well known. */
  name: string | null;
}

const FIXED: Record<string, string> = {
  'S-1-5-18': 'SYSTEM',
  'S-1-5-19': 'LOCAL SERVICE',
  'S-1-5-20': 'NETWORK SERVICE',
};

/**
 * The well-known name of a SID, or null. Besides the three service accounts:
 * the per-session virtual accounts of the window manager (S-1-5-90-0-n, DWM-n)
 * and the user-mode font driver (S-1-5-96-0-n, UMFD-n), and the built-in
 * Administrator (relative id 500 of a machine or domain SID), which EC2
 * Windows AMIs use for their first login.
 */
export function wellKnownAccount(sid: string): string | null {
  const fixed = FIXED[sid];
  if (fixed) return fixed;
  let m = /^S-1-5-90-0-(\d+)$/.exec(sid);
  if (m) return `DWM-${m[1]}`;
  m = /^S-1-5-96-0-(\d+)$/.exec(sid);
  if (m) return `UMFD-${m[1]}`;
  if (/^S-1-5-21-\d+-\d+-\d+-500$/.test(sid)) return 'built-in Administrator';
  return null;
}

export function accountOf(sid: string | undefined): Account | null {
  if (sid === undefined || sid === '') return null;
  return { sid, name: wellKnownAccount(sid) };
}
