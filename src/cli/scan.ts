import type { Argv } from 'yargs';
import { statSync } from 'node:fs';
import { displayPath, summarize, type FileScan, type ScanProcess, type ScanRequest } from '../scan.js';
import { defaultJobs, scanFiles, type ScanOutcome } from '../scan-pool.js';
import { CliError, EXIT } from './exit.js';
import { expandInputs } from './inputs.js';
import { Progress } from './progress.js';
import { Spool, writeOut } from './spool.js';
import { rowFormatter, rule, table } from './table.js';

interface ScanArgs {
  inputs: string[];
  processes?: string;
  cab?: string;
  autoCab: boolean;
  requests: boolean;
  json: boolean;
  csv: boolean;
  failOnV1: boolean;
  strict: boolean;
  quiet: boolean;
  backend: 'portable' | 'tdh';
  jobs?: number;
}

export function scanCommand(y: Argv): Argv {
  return y.command<ScanArgs>(
    'scan <inputs...>',
    'Which processes called IMDS with (v2) and without (v1) a token, from netsh/pktmon .etl captures',
    (b) =>
      b
        .positional('inputs', { type: 'string', array: true, demandOption: true, describe: '.etl files, directories or globs' })
        .option('processes', { type: 'string', describe: 'a `tasklist /svc` text file naming PIDs' })
        .option('cab', { type: 'string', describe: "netsh's report .cab (default: <name>.cab beside <name>.etl)" })
        .option('auto-cab', { type: 'boolean', default: true, describe: 'look for <name>.cab beside each <name>.etl (--no-auto-cab to stop)' })
        .option('requests', { type: 'boolean', default: false, describe: 'one line per request instead of one per process' })
        .option('json', { type: 'boolean', describe: 'JSON on stdout' })
        .option('csv', { type: 'boolean', describe: 'CSV on stdout (processes, or requests with --requests)' })
        .option('fail-on-v1', { type: 'boolean', default: false, describe: 'exit 3 when any IMDSv1 call is found' })
        .option('strict', { type: 'boolean', default: false, describe: 'a damaged part of a file is an error (exit 2)' })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress or notes on stderr' })
        .option('backend', { choices: ['portable', 'tdh'] as const, default: 'portable' as const, describe: "reader: portable (any OS) or tdh (Windows' ETW API)" })
        .option('jobs', { alias: 'j', type: 'number', describe: `files scanned at once, one worker thread each (default: the usable CPUs, container CPU quota included: ${defaultJobs()} here)` })
        .conflicts('json', 'csv') as unknown as Argv<ScanArgs>,
    async (args) => {
      const { files, missing } = expandInputs(args.inputs);
      for (const m of missing) process.stderr.write(`etl-imds: warning: ${m}: no .etl files found\n`);
      if (files.length === 0) throw new CliError('no input files', EXIT.input);
      if (args.cab && files.length > 1) throw new CliError('--cab names the cabinet of one trace; give one input, or let each <name>.etl find its <name>.cab', EXIT.usage);
      if (args.jobs !== undefined && !(Number.isInteger(args.jobs) && args.jobs >= 1)) throw new CliError('--jobs must be a whole number of at least 1', EXIT.usage);
      let cancelled = false;
      const onSigint = () => {
        cancelled = true;
      };
      process.on('SIGINT', onSigint);
      // Per file: what the process table, CSV and JSON summaries need. The requests themselves
      // go to the spool as they come (a fleet's requests are never all in memory at once).
      const results: FileScan[] = [];
      const requestCounts: number[] = [];
      const spool = new Spool();
      const multi = files.length > 1;
      const requestOut = args.json ? 'json' : !args.requests ? null : args.csv ? 'csv' : 'table';
      const widths = requestTableHead(multi).map((h) => h.length);
      let spooled = 0;
      const spoolRequests = (r: FileScan) => {
        for (const q of r.requests) {
          if (requestOut === 'json') {
            spool.write((spooled ? ',\n' : '') + indent(JSON.stringify(requestJson(q), null, 2), '    '));
          } else if (requestOut === 'csv') {
            spool.write(csvLine(requestCsvCells(q)));
          } else if (requestOut === 'table') {
            const cells = requestCells(q, multi);
            cells.forEach((c, i) => (widths[i] = Math.max(widths[i]!, c.length)));
            spool.write(JSON.stringify(cells) + '\n');
          }
          spooled++;
        }
      };
      try {
        let worst: number = EXIT.ok;
        // Several files are scanned at once; what is said about each comes out in input order.
        const sizes = files.map((f) => {
          try {
            return statSync(f).size;
          } catch {
            return 0; // reported by the reader
          }
        });
        const total = sizes.reduce((a, b) => a + b, 0);
        const progress = new Progress(files.length === 1 ? `scanning ${displayPath(files[0]!)}` : `scanning ${files.length} files`, total, args.quiet);
        const done = new Array<number>(files.length).fill(0);
        let doneSum = 0;
        const outcomes: (ScanOutcome | undefined)[] = new Array(files.length);
        let reported = 0;
        let usageError: string | undefined;
        let interrupted = false;
        let spoolError: unknown;
        const report = () => {
          while (reported < files.length && outcomes[reported]) {
            const f = files[reported]!;
            const o = outcomes[reported]!;
            outcomes[reported] = undefined; // what is kept of it is below
            reported++;
            if (o.ok) {
              const r = o.scan;
              try {
                spoolRequests(r);
              } catch (e) {
                // No room for the temporary file: stop scanning, report it once the threads are done.
                spoolError ??= e;
                cancelled = true;
              }
              results.push({ ...r, requests: [] });
              requestCounts.push(r.requests.length);
              for (const d of r.diagnostics) process.stderr.write(`etl-imds: ${d.severity}: ${d.message}\n`);
              if (!args.quiet) for (const w of r.warnings.slice(0, 10)) process.stderr.write(`etl-imds: note: ${displayPath(f)}: ${w}\n`);
              if (r.diagnostics.length > 0) worst = Math.max(worst, args.strict ? EXIT.input : EXIT.partial);
            } else if (o.error.kind === 'cancelled') {
              interrupted = true;
            } else if (o.error.kind === 'type') {
              usageError ??= o.error.message;
            } else if (!interrupted && usageError === undefined) {
              process.stderr.write(`etl-imds: error: ${o.error.message}\n`);
              results.push(failed(f, o.error));
              requestCounts.push(0);
              worst = Math.max(worst, EXIT.input);
            }
          }
        };
        try {
          await scanFiles(files, {
            processes: args.processes,
            cab: args.cab,
            noAutoCab: !args.autoCab,
            backend: args.backend,
            jobs: args.jobs,
            onProgress: (i, d) => {
              doneSum += d - done[i]!;
              done[i] = d;
              progress.update(doneSum, total);
              return !cancelled;
            },
            onOutcome: (i, o) => {
              outcomes[i] = o;
              const before = reported;
              if (i === reported) progress.done();
              report();
              if (reported > before && reported < files.length) progress.update(doneSum, total);
            },
          });
        } finally {
          progress.done();
          process.off('SIGINT', onSigint);
        }
        if (spoolError !== undefined) throw spoolError;
        if (interrupted || cancelled) throw new CliError('interrupted', EXIT.interrupted);
        if (usageError !== undefined) throw new CliError(usageError, EXIT.usage);
        const summary = summarize(results);
        if (requestOut === 'json') {
          const head = JSON.stringify(toJson(results, requestCounts, summary), null, 2);
          if (spooled === 0) await writeOut(head + '\n');
          else {
            // The document ends with "requests": [] — the spooled requests go inside the brackets.
            await writeOut(head.slice(0, -'[]\n}'.length) + '[\n');
            for (const c of spool.chunks()) await writeOut(c);
            await writeOut('\n  ]\n}\n');
          }
        } else if (requestOut === 'csv') {
          await writeOut(csvLine(REQUEST_CSV_HEAD));
          for (const c of spool.chunks()) await writeOut(c);
        } else if (requestOut === 'table') {
          if (spooled === 0) await writeOut('No IMDS requests found.\n');
          else {
            const fmt = rowFormatter(widths);
            await writeOut(fmt(requestTableHead(multi)) + '\n' + rule(widths) + '\n');
            let out: string[] = [];
            let n = 0;
            for (const line of spool.lines()) {
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
        } else if (args.csv) await writeOut(processesCsv(results));
        else await writeOut(processesTable(results, summary));
        // Priority: an unreadable input (2) over IMDSv1 found (3) over skipped damage (4).
        let code: number = worst === EXIT.input ? EXIT.input : EXIT.ok;
        if (code === EXIT.ok && args.failOnV1 && summary.v1 > 0) code = EXIT.imdsV1;
        if (code === EXIT.ok && worst === EXIT.partial) code = EXIT.partial;
        process.exitCode = code;
      } finally {
        spool.close();
      }
    },
  );
}

function failed(file: string, err: { message?: string; code?: string }): FileScan {
  return {
    file,
    error: { message: err.message ?? 'error', code: err.code ?? 'ERROR' },
    packets: 0,
    connections: 0,
    requests: [],
    processes: [],
    names: { source: 'none', traceProcesses: 0 },
    diagnostics: [],
    warnings: [],
  };
}

// The requests are not in `files` any more (they were spooled); the document gets an empty
// "requests" array, which the caller fills from the spool.
function toJson(files: FileScan[], requestCounts: number[], summary: ReturnType<typeof summarize>) {
  return {
    files: files.map((f, i) => ({
      file: f.file,
      error: f.error ?? null,
      packets: f.packets,
      connections: f.connections,
      requests: requestCounts[i] ?? 0,
      names: f.names,
      diagnostics: f.diagnostics,
      warnings: f.warnings,
    })),
    summary,
    processes: files.flatMap((f) => f.processes),
    requests: [],
  };
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

function processesTable(files: FileScan[], s: ReturnType<typeof summarize>): string {
  const multi = files.length > 1;
  const head = [...(multi ? ['File'] : []), 'PID', 'Image', 'Services', 'v1', 'v2', 'token', 'unknown', 'Statuses', 'Paths (v1 first)', 'First seen', 'Last seen', 'How sure'];
  const rows: string[][] = [];
  for (const f of files) {
    for (const p of f.processes) {
      const paths = [...p.v1Paths, ...p.paths.filter((x) => !p.v1Paths.includes(x))];
      // Keep the table readable in a terminal: --requests or --json give every path in full.
      let shown = paths.slice(0, 3).join(' ');
      if (shown.length > 64) shown = shown.slice(0, 63) + '…';
      if (paths.length > 3) shown += ` (+${paths.length - 3})`;
      rows.push([
        ...(multi ? [displayPath(f.file)] : []),
        p.pid === null ? '?' : String(p.pid),
        p.image ?? '(unknown)',
        p.services.join(',') || '-',
        ...counts(p),
        statusText(p.statuses),
        shown,
        shortTime(p.firstSeen),
        shortTime(p.lastSeen),
        confidence(p),
      ]);
    }
  }
  const right = head.map((h) => ['PID', 'v1', 'v2', 'token', 'unknown'].includes(h));
  const out: string[] = [];
  if (rows.length) out.push(table(head, rows, right));
  else out.push('No IMDS requests found.');
  const errs = files.filter((f) => f.error).length;
  const total = `${s.v1} IMDSv1, ${s.v2} IMDSv2, ${s.token} token, ${s.unknown} unknown request${s.unknown === 1 ? '' : 's'}; ${s.processesUsingV1} process${s.processesUsingV1 === 1 ? '' : 'es'} using IMDSv1`;
  out.push('', multi ? `Total over ${files.length} files${errs ? ` (${errs} unreadable)` : ''}: ${total}` : total);
  if (s.v1 > 0) out.push('IMDSv1 callers break when the instance requires tokens (HttpTokens=required); a 401 status means they already do.');
  return out.join('\n') + '\n';
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

function csv(head: string[], rows: unknown[][]): string {
  return [head, ...rows].map(csvLine).join('');
}

function csvLine(cells: unknown[]): string {
  return cells.map(csvCell).join(',') + '\r\n';
}

function processesCsv(files: FileScan[]): string {
  const head = ['file', 'pid', 'image', 'services', 'v1', 'v2', 'token', 'unknown', 'paths', 'v1Paths', 'statuses', 'firstSeen', 'lastSeen', 'attribution', 'nameSource', 'nameConfidence'];
  const rows = files.flatMap((f) =>
    f.processes.map((p) => [p.file, p.pid, p.image, p.services, p.v1, p.v2, p.token, p.unknown, p.paths, p.v1Paths, p.statuses, p.firstSeen, p.lastSeen, p.attribution, p.nameSource, p.nameConfidence]),
  );
  return csv(head, rows);
}

const REQUEST_CSV_HEAD = ['file', 'time', 'pid', 'tid', 'attribution', 'image', 'class', 'method', 'path', 'status', 'endpoint', 'clientPort', 'userAgent', 'flags'];

function requestCsvCells(r: ScanRequest): unknown[] {
  return [r.file, r.time, r.pid, r.tid, r.attribution, r.image, r.class, r.method, r.path, r.status, r.endpoint, r.clientPort, r.userAgent, r.flags];
}
