// Inputs: files, directories (searched recursively: *.etl for scan, NDJSON for report) and globs
// (*, ?, ** — expanded here so they work the same in every shell, cmd.exe included).
import { opendirSync, readdirSync, statSync } from 'node:fs';
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
      for (const f of found) files.push(f);
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
      for (const f of found) files.push(f);
    } else files.push(input);
  }
  return { files: [...new Set(files)], missing };
}

/** The files of a directory tree as it is read, without listing a directory in memory. */
function* streamWalk(dir: string, match: (p: string) => boolean): Generator<string> {
  let d;
  try {
    d = opendirSync(dir);
  } catch {
    return;
  }
  try {
    for (let e = d.readSync(); e; e = d.readSync()) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) yield* streamWalk(p, match);
      else if (e.isFile() && match(p)) yield p;
      else if (e.isSymbolicLink() && match(p)) {
        try {
          if (statSync(p).isFile()) yield p;
        } catch {
          /* dangling link */
        }
      }
    }
  } finally {
    d.closeSync();
  }
}

const within = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

/**
 * The files the inputs name, one at a time as directories are read, in no particular order: for
 * commands whose result does not depend on the order and that may be given folders of more files
 * than are worth listing in memory (report over a fleet's S3 prefix). An input inside a folder that
 * is also given, or given twice, is read once.
 */
export function* eachInputFile(inputs: string[], inDirectory: (file: string) => boolean, onMissing: (input: string) => void): Generator<string> {
  const kinds = inputs.map((input) => {
    if (isGlob(input)) return { input, kind: 'glob' as const, abs: '' };
    let dir = false;
    try {
      dir = statSync(input).isDirectory();
    } catch {
      // a file that cannot be opened: the reader reports why
    }
    return { input, kind: dir ? ('dir' as const) : ('file' as const), abs: path.resolve(input) };
  });
  const dirs = kinds.flatMap((k, i) => (k.kind === 'dir' ? [{ abs: k.abs, i }] : []));
  // A folder given as another input holds it (an earlier input, when it is the same folder).
  const held = (abs: string, self: number) => dirs.some((d) => d.i !== self && within(abs, d.abs) && (abs !== d.abs || d.i < self));
  const seenFiles = new Set<string>();
  for (const [i, k] of kinds.entries()) {
    if (k.kind === 'glob') {
      const { files, missing } = expandInputs([k.input], () => true);
      for (const m of missing) onMissing(m);
      for (const f of files) if (!(inDirectory(f) && held(path.resolve(f), i))) yield f;
    } else if (k.kind === 'file') {
      if (seenFiles.has(k.abs) || (inDirectory(k.abs) && held(k.abs, i))) continue;
      seenFiles.add(k.abs);
      yield k.input;
    } else if (!held(k.abs, i)) {
      let found = 0;
      for (const f of streamWalk(k.input, inDirectory)) {
        found++;
        yield f;
      }
      if (found === 0) onMissing(k.input);
    }
  }
}
