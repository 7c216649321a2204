// Loading a process list from the places scan takes it: a tasklist /svc file
// (--processes) or the processes.txt member of netsh's .cab (--cab, or the
// cab found beside the .etl).

import { readFile } from 'node:fs/promises';
import { readCab } from './cab.js';
import { ProcessesError } from './errors.js';
import { parseTasklistDetailed, type TasklistFormat, type TasklistProblem, type TasklistRow } from './tasklist.js';

export interface ProcessList {
  rows: TasklistRow[];
  source: 'tasklist' | 'cab';
  path: string;
  /** Name of the cab member read, for source 'cab'. */
  member?: string;
  format: TasklistFormat;
  /** Lines that did not fit; the rows that did are still returned. */
  problems: TasklistProblem[];
}

const PROCESSES_MEMBER = 'processes.txt';

function isProcessesMember(name: string): boolean {
  const base = name.slice(Math.max(name.lastIndexOf('\\'), name.lastIndexOf('/')) + 1);
  return base.toLowerCase() === PROCESSES_MEMBER;
}

export async function loadProcessesFile(path: string): Promise<ProcessList> {
  const bytes = await readFile(path);
  const problems: TasklistProblem[] = [];
  try {
    const { rows, format } = parseTasklistDetailed(bytes, { problems });
    return { rows, source: 'tasklist', path, format, problems };
  } catch (e) {
    if (e instanceof ProcessesError) throw new ProcessesError(e.code, `${path}: ${e.message}`, e.offset, path);
    throw e;
  }
}

/** The process list inside a netsh cabinet (its processes.txt member, any folder, any case). */
export function processListFromCab(cab: Uint8Array, path: string): ProcessList {
  let members;
  try {
    members = readCab(cab, { select: isProcessesMember });
  } catch (e) {
    if (e instanceof ProcessesError) throw new ProcessesError(e.code, `${path}: ${e.message}`, e.offset, path);
    throw e;
  }
  const member = members[0];
  if (!member) throw new ProcessesError('cab-format', `${path}: the cabinet has no ${PROCESSES_MEMBER} member`, 0, path);
  const problems: TasklistProblem[] = [];
  try {
    const { rows, format } = parseTasklistDetailed(member.data, { problems });
    return { rows, source: 'cab', path, member: member.name, format, problems };
  } catch (e) {
    if (e instanceof ProcessesError) throw new ProcessesError(e.code, `${path} (member ${member.name}): ${e.message}`, e.offset, path);
    throw e;
  }
}

export async function loadProcessListFromCab(path: string): Promise<ProcessList> {
  return processListFromCab(await readFile(path), path);
}
