// netsh trace writes <name>.cab beside <name>.etl (the report with
// processes.txt). Find it; the extension may be in any case (NetTrace.CAB).

import { readdirSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

function candidates(etlPath: string, entries: string[]): string[] {
  const file = basename(etlPath);
  const stem = file.slice(0, file.length - extname(file).length);
  const exact = `${stem}.cab`;
  // Windows file names ignore case: NETTRACE.ETL typed by the user still has NetTrace.cab beside it.
  const sameStem = process.platform === 'win32' ? (e: string) => e.slice(0, stem.length).toUpperCase() === stem.toUpperCase() : (e: string) => e.slice(0, stem.length) === stem;
  const matches = entries.filter((e) => e.length === exact.length && sameStem(e) && e.slice(stem.length).toLowerCase() === '.cab');
  // Prefer the lower-case spelling netsh writes, then a stable order.
  return matches.sort((a, b) => (a === exact ? -1 : b === exact ? 1 : a < b ? -1 : a > b ? 1 : 0));
}

/** Path of the cabinet beside `etlPath`, or undefined when there is none. */
export async function findCabForEtl(etlPath: string): Promise<string | undefined> {
  const dir = dirname(etlPath);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return undefined;
  }
  for (const name of candidates(etlPath, entries)) {
    const full = join(dir, name);
    try {
      if ((await stat(full)).isFile()) return full;
    } catch {
      // vanished or unreadable: try the next spelling
    }
  }
  return undefined;
}

export function findCabForEtlSync(etlPath: string): string | undefined {
  const dir = dirname(etlPath);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const name of candidates(etlPath, entries)) {
    const full = join(dir, name);
    try {
      if (statSync(full).isFile()) return full;
    } catch {
      // try the next spelling
    }
  }
  return undefined;
}
