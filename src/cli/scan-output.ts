// What `scan` prints: the process table (default), per-request table (--requests), the detail
// view of one PID (--pid), CSV, JSON or NDJSON (fields: docs/scan-output.md).
// Files are added as they are reported, in input order; each file's rows go to a spool straight
// away, and only the summary counts (and, for JSON, the small per-file entries) stay in memory,
// so that a scan of thousands of traces does not keep every trace's results until the end.
import type { FileScan, ScanProcess, ScanRequest, ScanSummary } from '../scan.js';
import { displayPath, summarize } from '../scan.js';
import type { ParentRef } from '../processes/identity.js';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { csvLine } from './csv.js';
import { CliError, EXIT } from './exit.js';
import { Spool, writeOut } from './spool.js';
import { fitColumns, layoutFormatter, layoutRule, type ColumnSpec } from './table.js';
import { displayWidth, escapeForTerminal } from './text.js';
import { couldNotShowLine, CouldNotShowSummary } from '../capture/quality.js';

export interface ScanFormat {
  json: boolean;
  csv: boolean;
  /** One JSON object per line: a file line, its process lines, its request lines (docs/scan-output.md, NDJSON). */
  ndjson?: boolean;
  /** NDJSON: the computer's name when the trace does not give it. */
  host?: string;
  /** NDJSON: the EC2 instance, over what the trace's own IMDS answers say. */
  instanceId?: string;
  /** NDJSON: one file per input in this folder instead of stdout. */
  outDir?: string;
  /** One row per request instead of one per process (table and CSV; JSON has both). */
  requests: boolean;
  /** Only this PID; the text form is the detail view of its process instances. */
  pid?: number;
  /** Table width in terminal columns; undefined prints every column whole (--wide). */
  width?: number;
}

/** Parents shown per process in JSON and CSV (the detail view shows all). */
export const PARENTS_SHOWN = 4;

interface SpooledRows {
  spool: Spool;
  count: number;
  /** Table column widths so far (text tables only). */
  widths: number[];
  /** Whether a column has had a cell other than '-' (text tables only). */
  informative: boolean[];
}

export class ScanOutput {
  readonly summary: ScanSummary = { files: 0, filesWithErrors: 0, v1: 0, v2: 0, token: 0, unknown: 0, processesUsingV1: 0 };
  private readonly processes: SpooledRows;
  private readonly requests: SpooledRows;
  private readonly fileEntries: object[] = [];
  /** Callers shown, and how many of them have no command line in their trace. */
  private callers = 0;
  private callersWithoutCommandLine = 0;
  /** What the captures could not show: the one file's line, or lines shared by several. */
  private readonly missing = new CouldNotShowSummary();
  private oneFileMissing: string | null = null;
  /** When the run began, in the names of --out files. */
  private readonly runStamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  /** --out files written in this run (names are never reused). */
  private readonly written = new Set<string>();

  constructor(
    private readonly form: ScanFormat,
    /** More than one input: tables get a File column and a total line. */
    private readonly multi: boolean,
  ) {
    this.processes = { spool: new Spool(), count: 0, widths: processColumns(multi).map((c) => displayWidth(c.head)), informative: [] };
    this.requests = { spool: new Spool(), count: 0, widths: requestColumns(multi).map((c) => displayWidth(c.head)), informative: [] };
  }

  add(scan: FileScan): void {
    const f = this.form.pid === undefined ? scan : onlyPid(scan, this.form.pid);
    const s = summarize([f]);
    for (const k of ['files', 'filesWithErrors', 'v1', 'v2', 'token', 'unknown', 'processesUsingV1'] as const) this.summary[k] += s[k];
    const { json, csv, requests } = this.form;
    this.missing.add(f.capture);
    if (!this.multi && f.capture) this.oneFileMissing = couldNotShowLine(f.capture);
    if (this.form.ndjson) {
      this.ndjson(f);
    } else if (json) {
      this.fileEntries.push(fileJson(f));
      for (const p of f.processes) this.jsonItem(this.processes, processJson(p));
      for (const r of f.requests) this.jsonItem(this.requests, requestJson(r));
    } else if (csv) {
      if (requests) for (const r of f.requests) this.line(this.requests, csvLine(requestCsvCells(r)));
      else for (const p of f.processes) this.line(this.processes, csvLine(processCsvCells(p)));
    } else if (this.form.pid !== undefined) {
      for (const p of f.processes) this.line(this.processes, detailView(p, f.requests.filter((r) => r.processKey === p.key), this.multi));
    } else if (requests) {
      for (const r of f.requests) this.cells(this.requests, requestCells(r, this.multi));
    } else {
      for (const p of f.processes) {
        this.cells(this.processes, processCells(f.file, p, this.multi));
        if (p.pid !== null) {
          this.callers++;
          if (p.commandLine === null) this.callersWithoutCommandLine++;
        }
      }
    }
  }

  /** Writes the whole output to stdout. */
  async write(): Promise<void> {
    const { json, csv, requests } = this.form;
    if (this.form.ndjson) {
      // --out: every file is written already.
      for (const c of this.processes.spool.chunks()) await writeOut(c);
    } else if (json) {
      // Built with empty arrays, which the spooled items then fill: the same text as
      // JSON.stringify(document, null, 2) of the whole document.
      const head = jsonText({ files: this.fileEntries, summary: this.summary, processes: [], requests: [] });
      await writeOut(head.slice(0, head.lastIndexOf('"processes": []')) + '"processes": ');
      await this.jsonArray(this.processes);
      await writeOut(',\n  "requests": ');
      await this.jsonArray(this.requests);
      await writeOut('\n}\n');
    } else if (csv) {
      const rows = requests ? this.requests : this.processes;
      await writeOut(csvLine(requests ? REQUEST_CSV_HEAD : PROCESS_CSV_HEAD));
      for (const c of rows.spool.chunks()) await writeOut(c);
    } else if (this.form.pid !== undefined) {
      if (this.processes.count === 0) await writeOut(`No IMDS requests by PID ${this.form.pid} found.\n`);
      else for (const c of this.processes.spool.chunks()) await writeOut(c);
    } else if (requests) {
      if (this.requests.count === 0) await writeOut('No IMDS requests found.\n');
      else await this.table(this.requests, requestColumns(this.multi));
      await this.writeMissing(true);
    } else {
      if (this.processes.count === 0) await writeOut('No IMDS requests found.\n');
      else await this.table(this.processes, processColumns(this.multi));
      const s = this.summary;
      const total = `${s.v1} IMDSv1, ${s.v2} IMDSv2, ${s.token} token, ${s.unknown} unknown request${s.unknown === 1 ? '' : 's'}; ${s.processesUsingV1} process${s.processesUsingV1 === 1 ? '' : 'es'} using IMDSv1`;
      const lines = ['', this.multi ? `Total over ${s.files} files${s.filesWithErrors ? ` (${s.filesWithErrors} unreadable)` : ''}: ${total}` : total];
      if (s.v1 > 0) lines.push('IMDSv1 callers break when the instance requires tokens (HttpTokens=required); a 401 status means they already do.');
      if (this.callersWithoutCommandLine > 0) {
        const n = this.callersWithoutCommandLine;
        lines.push(
          `${n === this.callers ? 'No caller has a' : `${n} of ${this.callers} callers have no`} command line in the trace: record kernel process events beside the capture and scan with --with (README, Capturing on Windows).`,
        );
      }
      await writeOut(lines.join('\n') + '\n');
      await this.writeMissing(false);
    }
  }

  /** Under the table: what the capture(s) could not show, and the command that would have. */
  private async writeMissing(blankLine: boolean): Promise<void> {
    const lines = this.multi ? this.missing.lines() : this.oneFileMissing ? [this.oneFileMissing] : [];
    if (lines.length > 0) await writeOut((blankLine ? '\n' : '') + lines.join('\n') + '\n');
  }

  close(): void {
    this.processes.spool.close();
    this.requests.spool.close();
  }

  /**
   * A file's NDJSON lines: the file, its process instances, its requests, each saying which
   * computer, instance and trace. To the stdout spool, or to a file of its own in --out.
   */
  private ndjson(f: FileScan): void {
    const where = { host: f.computerName ?? this.form.host ?? null, instanceId: this.form.instanceId ?? f.instanceId ?? null };
    const out = this.form.outDir === undefined ? this.processes.spool : new WholeFile(this.form.outDir, this.outName(where, f.file));
    try {
      out.write(ndjsonLine({ type: 'file', ...where, ...fileJson(f) }));
      for (const p of f.processes) {
        const { attribution, ...rest } = processJson(p);
        out.write(ndjsonLine({ type: 'process', ...where, ...rest, attributionCounts: attribution }));
      }
      for (const r of f.requests) out.write(ndjsonLine({ type: 'request', ...where, ...requestJson(r) }));
      if (out instanceof WholeFile) out.finish();
    } finally {
      if (out instanceof WholeFile) out.close();
    }
  }

  /**
   * The --out file of one input: <instance>-<run time>-<trace>.ndjson (the instance id, else the
   * host), so that the files of many instances can share a folder or an S3 prefix. Only characters
   * safe in file names and S3 keys; never the name of a file already there.
   */
  private outName(where: { host: string | null; instanceId: string | null }, file: string): string {
    const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
    const stem = safe(path.basename(file).replace(/\.etl$/i, ''));
    const base = `${safe(where.instanceId ?? where.host ?? 'unknown')}-${this.runStamp}-${stem}`;
    for (let n = 1; ; n++) {
      const name = `${base}${n > 1 ? `-${n}` : ''}.ndjson`;
      if (!this.written.has(name) && !existsSync(path.join(this.form.outDir!, name))) {
        this.written.add(name);
        return name;
      }
    }
  }

  private jsonItem(rows: SpooledRows, value: unknown): void {
    rows.spool.write((rows.count ? ',\n' : '') + indent(jsonText(value), '    '));
    rows.count++;
  }

  private line(rows: SpooledRows, text: string): void {
    rows.spool.write(text);
    rows.count++;
  }

  private cells(rows: SpooledRows, cells: string[]): void {
    cells.forEach((c, i) => {
      rows.widths[i] = Math.max(rows.widths[i]!, displayWidth(c));
      if (c !== '-' && c !== '') rows.informative[i] = true;
    });
    rows.spool.write(JSON.stringify(cells) + '\n');
    rows.count++;
  }

  private async jsonArray(rows: SpooledRows): Promise<void> {
    if (rows.count === 0) return writeOut('[]');
    await writeOut('[\n');
    for (const c of rows.spool.chunks()) await writeOut(c);
    await writeOut('\n  ]');
  }

  /** A text table whose rows were spooled as JSON arrays of cells, fitted to the width asked for. */
  private async table(rows: SpooledRows, columns: ColumnSpec[]): Promise<void> {
    const layout = fitColumns(columns, rows.widths, this.form.width, columns.map((_, i) => rows.informative[i] === true));
    const fmt = layoutFormatter(columns, layout);
    await writeOut(fmt(columns.map((c) => c.head)) + '\n' + layoutRule(layout) + '\n');
    let out: string[] = [];
    let n = 0;
    for (const line of rows.spool.lines()) {
      const row = fmt(JSON.parse(line) as string[]);
      out.push(row);
      n += row.length;
      if (n >= 1 << 20) {
        await writeOut(out.join('\n') + '\n');
        out = [];
        n = 0;
      }
    }
    if (out.length) await writeOut(out.join('\n') + '\n');
  }
}

/** A scanned file in JSON (`files[]`, and NDJSON's file lines). */
function fileJson(f: FileScan) {
  return {
    file: f.file,
    error: f.error ?? null,
    packets: f.packets,
    connections: f.connections,
    requests: f.requests.length,
    names: f.names,
    capture: f.capture ?? null,
    diagnostics: f.diagnostics,
    warnings: f.warnings.map((w) => w.message),
  };
}

/**
 * One NDJSON line: compact JSON in ASCII only. Every character from DEL up is a \u escape (a pair
 * of them beyond U+FFFF), so no code page, console or S3 metadata can change the text, and
 * JSON.parse gives the very same strings back.
 */
export function ndjsonLine(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}

/** An output file written under a temporary name and renamed when whole (never half-written). */
class WholeFile {
  private fd: number | null;
  private readonly temp: string;

  constructor(private readonly dir: string, private readonly name: string) {
    this.temp = path.join(dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      mkdirSync(dir, { recursive: true });
      this.fd = openSync(this.temp, 'wx');
    } catch (e) {
      throw new CliError(`cannot write to ${dir}: ${(e as Error).message}`, EXIT.input);
    }
  }

  write(text: string): void {
    const b = Buffer.from(text);
    try {
      for (let off = 0; off < b.length; ) off += writeSync(this.fd!, b, off);
    } catch (e) {
      throw new CliError(`cannot write ${path.join(this.dir, this.name)}: ${(e as Error).message}`, EXIT.input);
    }
  }

  /** Closes the file and gives it its name. */
  finish(): void {
    try {
      closeSync(this.fd!);
      this.fd = null;
      renameSync(this.temp, path.join(this.dir, this.name));
    } catch (e) {
      throw new CliError(`cannot write ${path.join(this.dir, this.name)}: ${(e as Error).message}`, EXIT.input);
    }
  }

  /** Removes what is left of an unfinished file. */
  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    try {
      unlinkSync(this.temp);
    } catch {
      // already gone
    }
  }
}

/** The file's results for one PID only. */
function onlyPid(f: FileScan, pid: number): FileScan {
  return { ...f, processes: f.processes.filter((p) => p.pid === pid), requests: f.requests.filter((r) => r.pid === pid) };
}

/** The parents a process entry shows, and why its chain ends there. */
function shownParents(p: ScanProcess): { parents: ParentRef[]; end: ScanProcess['parentsEnd'] } {
  if (p.parents.length <= PARENTS_SHOWN) return { parents: p.parents, end: p.parentsEnd };
  return { parents: p.parents.slice(0, PARENTS_SHOWN), end: { reason: 'limit', pid: p.parents[PARENTS_SHOWN]!.pid } };
}

/** A process instance in JSON (docs/scan-output.md): who it is first, then what it did. */
function processJson(p: ScanProcess) {
  const { parents, end } = shownParents(p);
  return {
    file: p.file,
    key: p.key,
    pid: p.pid,
    image: p.image,
    imagePath: p.imagePath,
    commandLine: p.commandLine,
    services: p.services,
    user: p.user,
    sessionId: p.sessionId,
    startTime: p.startTime,
    exitTime: p.exitTime,
    parents,
    parentsEnd: end,
    nameSource: p.nameSource,
    nameConfidence: p.nameConfidence,
    v1: p.v1,
    v2: p.v2,
    token: p.token,
    unknown: p.unknown,
    paths: p.paths,
    v1Paths: p.v1Paths,
    statuses: p.statuses,
    attribution: p.attribution,
    userAgents: p.userAgents,
    firstSeen: p.firstSeen,
    lastSeen: p.lastSeen,
  };
}

function requestJson(r: ScanRequest) {
  const { fileTime: _ft, ...rest } = r;
  return rest;
}

/**
 * JSON.stringify's text with every character a terminal or a bidirectional display would act on
 * written as a \u escape too (JSON.stringify escapes only C0 controls and unpaired surrogates):
 * DEL, C1 controls, bidirectional and zero-width characters. Such characters only ever occur
 * inside strings, and JSON.parse gives the very same string back.
 */
function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A JSON value's text placed at a deeper level of an indented document. */
function indent(text: string, by: string): string {
  return by + text.replace(/\n/g, '\n' + by);
}

function counts(p: { v1: number; v2: number; token: number; unknown: number }): string[] {
  return [String(p.v1), String(p.v2), String(p.token), String(p.unknown)];
}

function statusText(s: Record<string, number>): string {
  return Object.entries(s)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');
}

function confidence(p: ScanProcess): string {
  const a = Object.entries(p.attribution)
    .sort((x, y) => y[1] - x[1])
    .map(([k]) => k)
    .join('+');
  return p.nameConfidence ? `${a}, name ${p.nameConfidence}` : a;
}

function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function userText(p: ScanProcess): string {
  if (!p.user) return '-';
  return p.user.name ?? p.user.sid;
}

/** The nearest parent in a table cell, or why there is none. */
function parentText(p: ScanProcess): string {
  const first = p.parents[0];
  if (first) return `${escapeForTerminal(first.image)} (${first.pid})`;
  const end = p.parentsEnd;
  if (!end) return '-';
  switch (end.reason) {
    case 'exited-before-capture':
      return `${end.pid}, exited before`;
    case 'not-in-trace':
      return `${end.pid}, not in trace`;
    case 'no-parent':
      return '-';
    default:
      return '?';
  }
}

/** The process table's columns, in order, and how each gives way on a narrow console. */
function processColumns(multi: boolean): ColumnSpec[] {
  return [
    ...(multi ? [{ head: 'File', min: 12, comfortable: 24 }] : []),
    { head: 'PID', right: true },
    { head: 'Image', min: 10, comfortable: 24 },
    { head: 'Services', drop: 13, min: 8, comfortable: 16 },
    { head: 'v1', right: true },
    { head: 'v2', right: true, drop: 1 },
    { head: 'token', right: true, drop: 4 },
    { head: 'unknown', right: true, drop: 5 },
    { head: 'Statuses', drop: 7, min: 8, comfortable: 12 },
    { head: 'Paths (v1 first)', drop: 6, min: 16, comfortable: 40 },
    { head: 'First seen', drop: 12 },
    { head: 'Last seen', drop: 8 },
    { head: 'How sure', drop: 11, min: 8 },
    { head: 'User', drop: 9, min: 8, comfortable: 16 },
    { head: 'Parent', drop: 10, min: 10, comfortable: 24 },
    { head: 'Command line', drop: 2, min: 16, comfortable: 40 },
  ];
}

function processCells(file: string, p: ScanProcess, multi: boolean): string[] {
  const paths = [...p.v1Paths, ...p.paths.filter((x) => !p.v1Paths.includes(x))];
  // Several paths in one cell; --requests, --pid and --json give every path in full.
  let shown = paths.slice(0, 3).join(' ');
  if (paths.length > 3) shown += ` (+${paths.length - 3})`;
  return [
    ...(multi ? [escapeForTerminal(displayPath(file))] : []),
    p.pid === null ? '?' : String(p.pid),
    escapeForTerminal(p.image ?? '(unknown)'),
    escapeForTerminal(p.services.join(',')) || '-',
    ...counts(p),
    statusText(p.statuses),
    escapeForTerminal(shown),
    shortTime(p.firstSeen),
    shortTime(p.lastSeen),
    confidence(p),
    userText(p),
    parentText(p),
    p.commandLine === null ? '-' : escapeForTerminal(p.commandLine),
  ];
}

function requestColumns(multi: boolean): ColumnSpec[] {
  return [
    ...(multi ? [{ head: 'File', min: 12, comfortable: 24 }] : []),
    { head: 'Time' },
    { head: 'PID', right: true },
    { head: 'Image', min: 10, comfortable: 24 },
    { head: 'Class' },
    { head: 'Method', drop: 5 },
    { head: 'Path', min: 16, comfortable: 40 },
    { head: 'Status', drop: 3 },
    { head: 'PID from', drop: 6 },
    { head: 'Flags', drop: 4, min: 6, comfortable: 16 },
    // Why a request is unknown matters more than its status or method: it says what to fix.
    { head: 'Why unknown', drop: 2, min: 12, comfortable: 24 },
    { head: 'Command line', drop: 7, min: 16, comfortable: 40 },
  ];
}

function requestCells(r: ScanRequest, multi: boolean): string[] {
  return [
    ...(multi ? [escapeForTerminal(displayPath(r.file))] : []),
    r.time,
    r.pid === null ? '?' : String(r.pid),
    escapeForTerminal(r.image ?? '(unknown)'),
    r.class,
    escapeForTerminal(r.method ?? '?'),
    r.path === null ? '?' : escapeForTerminal(r.pathCut ? `${r.path}…` : r.path),
    r.status === null ? '-' : String(r.status),
    r.attribution,
    r.flags.join(',') || '-',
    r.reason ?? '-',
    r.commandLine === null ? '-' : escapeForTerminal(r.commandLine),
  ];
}

const END_TEXT: Record<NonNullable<ScanProcess['parentsEnd']>['reason'], (pid: number | null) => string> = {
  'no-parent': () => 'no parent: the chain reaches the system',
  'exited-before-capture': (pid) => `its parent, PID ${pid}, had exited before the capture began`,
  'not-in-trace': (pid) => `its parent, PID ${pid}, is not in the trace at that time`,
  'parent-unknown': () => 'the trace does not say who started it',
  'no-process-events': () => 'the trace has no process events (README, Capturing on Windows)',
  limit: (pid) => `more parents from PID ${pid} on`,
};

const notInTrace = 'not in the trace';

/** `scan --pid N`: one process instance in full, its whole chain of parents and every request. */
function detailView(p: ScanProcess, requests: ScanRequest[], multi: boolean): string {
  const t = (s: string | null) => (s === null ? notInTrace : escapeForTerminal(s));
  const lines = [
    `${t(p.image ?? '(unknown)')}, PID ${p.pid} (process ${p.key})${multi ? ` in ${escapeForTerminal(displayPath(p.file))}` : ''}`,
    `  Command line  ${t(p.commandLine)}`,
    `  Image path    ${t(p.imagePath)}`,
    `  User          ${p.user ? (p.user.name ? `${p.user.name} (${p.user.sid})` : p.user.sid) : notInTrace}`,
    `  Session       ${p.sessionId === null ? notInTrace : p.sessionId === -1 ? 'none (-1)' : p.sessionId}`,
    `  Started       ${p.startTime ?? `${notInTrace} (before ${shortTime(p.firstSeen)})`}`,
    `  Exited        ${p.exitTime ?? notInTrace}`,
    `  Services      ${p.services.length ? escapeForTerminal(p.services.join(', ')) : '-'}`,
    `  Named by      ${p.nameSource ?? 'nothing'}${p.nameConfidence ? `, confidence ${p.nameConfidence}` : ''}`,
    `  Calls         ${p.v1} IMDSv1, ${p.v2} IMDSv2, ${p.token} token, ${p.unknown} unknown`,
    '  Parents (nearest first)',
  ];
  const pidWidth = Math.max(0, ...p.parents.map((x) => String(x.pid).length));
  const imageWidth = Math.max(0, ...p.parents.map((x) => displayWidth(escapeForTerminal(x.image))));
  for (const x of p.parents) {
    const image = escapeForTerminal(x.image);
    const services = x.services.length ? `  [${escapeForTerminal(x.services.join(', '))}]` : '';
    lines.push(`    ${String(x.pid).padStart(pidWidth)}  ${image}${' '.repeat(imageWidth - displayWidth(image))}  ${x.commandLine === null ? `(command line ${notInTrace})` : escapeForTerminal(x.commandLine)}${services}`);
  }
  if (p.parentsEnd) lines.push(`    (${END_TEXT[p.parentsEnd.reason](p.parentsEnd.pid)})`);
  lines.push(`  Requests (${requests.length})`);
  // The request table's columns without PID, Image and Command line, which the view gives above
  // (and without 'Why unknown' when no request is unknown for a reason).
  const all = requestColumns(false);
  const anyReason = requests.some((r) => r.reason !== null);
  const kept = all.flatMap((c, i) => (['Command line', 'PID', 'Image'].includes(c.head) || (c.head === 'Why unknown' && !anyReason) ? [] : [i]));
  const cols = kept.map((i) => all[i]!);
  const rows = requests.map((r) => {
    const c = requestCells(r, false);
    return kept.map((i) => c[i]!);
  });
  const widths = cols.map((c, i) => Math.max(displayWidth(c.head), ...rows.map((r) => displayWidth(r[i]!))));
  const fmt = (cells: string[]) => '    ' + layoutFormatter(cols, { shown: cols.map((_, i) => i), widths })(cells);
  lines.push(fmt(cols.map((c) => c.head)), '    ' + layoutRule({ shown: cols.map((_, i) => i), widths }));
  for (const r of rows) lines.push(fmt(r));
  return lines.join('\n') + '\n\n';
}

const PROCESS_CSV_HEAD = [
  'file', 'pid', 'image', 'services', 'v1', 'v2', 'token', 'unknown', 'paths', 'v1Paths', 'statuses', 'firstSeen', 'lastSeen', 'attribution', 'nameSource', 'nameConfidence',
  'key', 'commandLine', 'imagePath', 'userSid', 'userName', 'sessionId', 'startTime', 'exitTime',
  'parentPid', 'parentImage', 'parentCommandLine', 'parents', 'parentsEndReason', 'parentsEndPid',
];

function processCsvCells(p: ScanProcess): unknown[] {
  const { parents, end } = shownParents(p);
  const first = parents[0];
  return [
    p.file, p.pid, p.image, p.services, p.v1, p.v2, p.token, p.unknown, p.paths, p.v1Paths, p.statuses, p.firstSeen, p.lastSeen, p.attribution, p.nameSource, p.nameConfidence,
    p.key, p.commandLine, p.imagePath, p.user?.sid, p.user?.name, p.sessionId, p.startTime, p.exitTime,
    first?.pid, first?.image, first?.commandLine, JSON.stringify(parents), end?.reason, end?.pid,
  ];
}

const REQUEST_CSV_HEAD = ['file', 'time', 'pid', 'tid', 'attribution', 'image', 'class', 'method', 'path', 'status', 'endpoint', 'clientPort', 'userAgent', 'flags', 'pathCut', 'reason', 'processKey', 'commandLine'];

function requestCsvCells(r: ScanRequest): unknown[] {
  return [r.file, r.time, r.pid, r.tid, r.attribution, r.image, r.class, r.method, r.path, r.status, r.endpoint, r.clientPort, r.userAgent, r.flags, r.pathCut, r.reason, r.processKey, r.commandLine];
}
