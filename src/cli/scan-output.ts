// What `scan` prints: the process table (default), per-request table (--requests), CSV or JSON.
// Files are added as they are reported, in input order; each file's rows go to a spool straight
// away, and only the summary counts (and, for JSON, the small per-file entries) stay in memory,
// so that a scan of thousands of traces does not keep every trace's results until the end.
import type { FileScan, ScanProcess, ScanRequest, ScanSummary } from '../scan.js';
import { displayPath, summarize } from '../scan.js';
import { Spool, writeOut } from './spool.js';
import { rowFormatter, rule } from './table.js';

export interface ScanFormat {
  json: boolean;
  csv: boolean;
  /** One row per request instead of one per process (table and CSV; JSON has both). */
  requests: boolean;
}

interface SpooledRows {
  spool: Spool;
  count: number;
  /** Table column widths so far (text tables only). */
  widths: number[];
}

export class ScanOutput {
  readonly summary: ScanSummary = { files: 0, filesWithErrors: 0, v1: 0, v2: 0, token: 0, unknown: 0, processesUsingV1: 0 };
  private readonly processes: SpooledRows;
  private readonly requests: SpooledRows;
  private readonly fileEntries: object[] = [];

  constructor(
    private readonly form: ScanFormat,
    /** More than one input: tables get a File column and a total line. */
    private readonly multi: boolean,
  ) {
    this.processes = { spool: new Spool(), count: 0, widths: processTableHead(multi).map((h) => h.length) };
    this.requests = { spool: new Spool(), count: 0, widths: requestTableHead(multi).map((h) => h.length) };
  }

  add(f: FileScan): void {
    const s = summarize([f]);
    for (const k of ['files', 'filesWithErrors', 'v1', 'v2', 'token', 'unknown', 'processesUsingV1'] as const) this.summary[k] += s[k];
    const { json, csv, requests } = this.form;
    if (json) {
      this.fileEntries.push({
        file: f.file,
        error: f.error ?? null,
        packets: f.packets,
        connections: f.connections,
        requests: f.requests.length,
        names: f.names,
        diagnostics: f.diagnostics,
        warnings: f.warnings.map((w) => w.message),
      });
      for (const p of f.processes) this.jsonItem(this.processes, p);
      for (const r of f.requests) this.jsonItem(this.requests, requestJson(r));
    } else if (csv) {
      if (requests) for (const r of f.requests) this.line(this.requests, csvLine(requestCsvCells(r)));
      else for (const p of f.processes) this.line(this.processes, csvLine(processCsvCells(p)));
    } else if (requests) {
      for (const r of f.requests) this.cells(this.requests, requestCells(r, this.multi));
    } else {
      for (const p of f.processes) this.cells(this.processes, processCells(f.file, p, this.multi));
    }
  }

  /** Writes the whole output to stdout. */
  async write(): Promise<void> {
    const { json, csv, requests } = this.form;
    if (json) {
      // Built with empty arrays, which the spooled items then fill: the same text as
      // JSON.stringify(document, null, 2) of the whole document.
      const head = JSON.stringify({ files: this.fileEntries, summary: this.summary, processes: [], requests: [] }, null, 2);
      await writeOut(head.slice(0, head.lastIndexOf('"processes": []')) + '"processes": ');
      await this.jsonArray(this.processes);
      await writeOut(',\n  "requests": ');
      await this.jsonArray(this.requests);
      await writeOut('\n}\n');
    } else if (csv) {
      const rows = requests ? this.requests : this.processes;
      await writeOut(csvLine(requests ? REQUEST_CSV_HEAD : PROCESS_CSV_HEAD));
      for (const c of rows.spool.chunks()) await writeOut(c);
    } else if (requests) {
      if (this.requests.count === 0) await writeOut('No IMDS requests found.\n');
      else await this.table(this.requests, requestTableHead(this.multi), []);
    } else {
      const head = processTableHead(this.multi);
      if (this.processes.count === 0) await writeOut('No IMDS requests found.\n');
      else await this.table(this.processes, head, head.map((h) => ['PID', 'v1', 'v2', 'token', 'unknown'].includes(h)));
      const s = this.summary;
      const total = `${s.v1} IMDSv1, ${s.v2} IMDSv2, ${s.token} token, ${s.unknown} unknown request${s.unknown === 1 ? '' : 's'}; ${s.processesUsingV1} process${s.processesUsingV1 === 1 ? '' : 'es'} using IMDSv1`;
      const lines = ['', this.multi ? `Total over ${s.files} files${s.filesWithErrors ? ` (${s.filesWithErrors} unreadable)` : ''}: ${total}` : total];
      if (s.v1 > 0) lines.push('IMDSv1 callers break when the instance requires tokens (HttpTokens=required); a 401 status means they already do.');
      await writeOut(lines.join('\n') + '\n');
    }
  }

  close(): void {
    this.processes.spool.close();
    this.requests.spool.close();
  }

  private jsonItem(rows: SpooledRows, value: unknown): void {
    rows.spool.write((rows.count ? ',\n' : '') + indent(JSON.stringify(value, null, 2), '    '));
    rows.count++;
  }

  private line(rows: SpooledRows, text: string): void {
    rows.spool.write(text);
    rows.count++;
  }

  private cells(rows: SpooledRows, cells: string[]): void {
    cells.forEach((c, i) => (rows.widths[i] = Math.max(rows.widths[i]!, c.length)));
    rows.spool.write(JSON.stringify(cells) + '\n');
    rows.count++;
  }

  private async jsonArray(rows: SpooledRows): Promise<void> {
    if (rows.count === 0) return writeOut('[]');
    await writeOut('[\n');
    for (const c of rows.spool.chunks()) await writeOut(c);
    await writeOut('\n  ]');
  }

  /** A text table whose rows were spooled as JSON arrays of cells, padded to the widest cell. */
  private async table(rows: SpooledRows, head: string[], rightAlign: boolean[]): Promise<void> {
    const fmt = rowFormatter(rows.widths, rightAlign);
    await writeOut(fmt(head) + '\n' + rule(rows.widths) + '\n');
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

function requestJson(r: ScanRequest) {
  const { fileTime: _ft, ...rest } = r;
  return rest;
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

function processTableHead(multi: boolean): string[] {
  return [...(multi ? ['File'] : []), 'PID', 'Image', 'Services', 'v1', 'v2', 'token', 'unknown', 'Statuses', 'Paths (v1 first)', 'First seen', 'Last seen', 'How sure'];
}

function processCells(file: string, p: ScanProcess, multi: boolean): string[] {
  const paths = [...p.v1Paths, ...p.paths.filter((x) => !p.v1Paths.includes(x))];
  // Keep the table readable in a terminal: --requests or --json give every path in full.
  let shown = paths.slice(0, 3).join(' ');
  if (shown.length > 64) shown = shown.slice(0, 63) + '…';
  if (paths.length > 3) shown += ` (+${paths.length - 3})`;
  return [
    ...(multi ? [displayPath(file)] : []),
    p.pid === null ? '?' : String(p.pid),
    p.image ?? '(unknown)',
    p.services.join(',') || '-',
    ...counts(p),
    statusText(p.statuses),
    shown,
    shortTime(p.firstSeen),
    shortTime(p.lastSeen),
    confidence(p),
  ];
}

function requestTableHead(multi: boolean): string[] {
  return [...(multi ? ['File'] : []), 'Time', 'PID', 'Image', 'Class', 'Method', 'Path', 'Status', 'PID from', 'Flags'];
}

function requestCells(r: ScanRequest, multi: boolean): string[] {
  return [
    ...(multi ? [displayPath(r.file)] : []),
    r.time,
    r.pid === null ? '?' : String(r.pid),
    r.image ?? '(unknown)',
    r.class,
    r.method ?? '?',
    r.path ?? '?',
    r.status === null ? '-' : String(r.status),
    r.attribution,
    r.flags.join(',') || '-',
  ];
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : Array.isArray(v) ? v.join(';') : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(cells: unknown[]): string {
  return cells.map(csvCell).join(',') + '\r\n';
}

const PROCESS_CSV_HEAD = ['file', 'pid', 'image', 'services', 'v1', 'v2', 'token', 'unknown', 'paths', 'v1Paths', 'statuses', 'firstSeen', 'lastSeen', 'attribution', 'nameSource', 'nameConfidence'];

function processCsvCells(p: ScanProcess): unknown[] {
  return [p.file, p.pid, p.image, p.services, p.v1, p.v2, p.token, p.unknown, p.paths, p.v1Paths, p.statuses, p.firstSeen, p.lastSeen, p.attribution, p.nameSource, p.nameConfidence];
}

const REQUEST_CSV_HEAD = ['file', 'time', 'pid', 'tid', 'attribution', 'image', 'class', 'method', 'path', 'status', 'endpoint', 'clientPort', 'userAgent', 'flags'];

function requestCsvCells(r: ScanRequest): unknown[] {
  return [r.file, r.time, r.pid, r.tid, r.attribution, r.image, r.class, r.method, r.path, r.status, r.endpoint, r.clientPort, r.userAgent, r.flags];
}
