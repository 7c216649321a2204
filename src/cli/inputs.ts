// Inputs: files, directories (searched recursively: *.etl for scan, NDJSON for report) and globs
// (*, ?, ** — expanded here so they work the same in every shell, cmd.exe included).
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function isGlob(s: string): boolean {
  return /[*?[]/.test(s);
}

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        re += '.*';
        i++;
        if (pattern[i + 1] === '/' || pattern[i + 1] === '\\') i++;
      } else re += '[^/\\\\]*';
    } else if (c === '?') re += '[^/\\\\]';
    else if (c === '/' || c === '\\') re += '[/\\\\]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, process.platform === 'win32' ? 'i' : '');
}

function walk(dir: string, out: string[], match: (p: string) => boolean): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out, match);
    else if (e.isFile() && match(p)) out.push(p);
    else if (e.isSymbolicLink() && match(p)) {
      // A link to a trace counts (links to directories are not followed: no loops).
      try {
        if (statSync(p).isFile()) out.push(p);
      } catch {
        /* dangling link */
      }
    }
  }
}

export interface ExpandedInputs {
  files: string[];
  /** Inputs that matched nothing (reported, not fatal unless nothing at all is left). */
  missing: string[];
}

const isEtl = (p: string) => p.toLowerCase().endsWith('.etl');

/** Files, directories (searched for the files `inDirectory` accepts, .etl by default) and globs. */
export function expandInputs(inputs: string[], inDirectory: (file: string) => boolean = isEtl): ExpandedInputs {
  const files: string[] = [];
  const missing: string[] = [];
  for (const input of inputs) {
    if (isGlob(input)) {
      const norm = input.replace(/\\/g, '/');
      const firstWild = norm.search(/[*?[]/);
      const base = norm.slice(0, firstWild).replace(/[^/]*$/, '') || '.';
      const re = globToRegExp(path.normalize(norm).replace(/\\/g, '/'));
      const found: string[] = [];
      walk(base, found, (p) => re.test(path.normalize(p).replace(/\\/g, '/')));
      if (found.length === 0) missing.push(input);
      files.push(...found);
      continue;
    }
    let st;
    try {
      st = statSync(input);
    } catch {
      files.push(input); // the reader reports why it cannot be opened
      continue;
    }
    if (st.isDirectory()) {
      const found: string[] = [];
      walk(input, found, inDirectory);
      if (found.length === 0) missing.push(input);
      files.push(...found);
    } else files.push(input);
  }
  return { files: [...new Set(files)], missing };
}
