// `etl-imds report <ndjson files | dirs>`: the fleet table, one row per image + command line
// (README, Across a fleet, step 8).
import path from 'node:path';
import type { Argv } from 'yargs';
import { FleetReport, ReportInputError, type ReportRow, type ReportSummary, type SkippedLine } from '../fleet/report.js';
import { CliError, EXIT } from './exit.js';
import { eachInputFile } from './inputs.js';
import { writeOut } from './spool.js';
import { table } from './table.js';
import { csvLine } from './csv.js';
import { escapeForTerminal } from './text.js';

interface ReportArgs {
  inputs: string[];
  json?: boolean;
  csv?: boolean;
  strict: boolean;
  quiet: boolean;
}

/**
 * NDJSON in a directory: *.ndjson and *.jsonl as scan and capture write them, and the `stdout`
 * files Run Command stores in S3 (<prefix>/<command-id>/<instance-id>/<step>/stdout).
 */
export function isNdjsonFile(file: string): boolean {
  const base = path.basename(file).toLowerCase();
  return base.endsWith('.ndjson') || base.endsWith('.jsonl') || base === 'stdout';
}

const SKIPS_SHOWN = 10;

export function reportCommand(y: Argv): Argv {
  return y.command<ReportArgs>(
    'report <inputs...>',
    'Merge many instances\' NDJSON (scan --ndjson, capture stop) into one fleet table: one row per image + command line',
    (b) =>
      b
        .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'NDJSON files, directories (searched for *.ndjson, *.jsonl and Run Command stdout files) or globs' })
        .option('json', { type: 'boolean', describe: 'JSON on stdout' })
        .option('csv', { type: 'boolean', describe: 'CSV on stdout: one row per image + command line (columns: README, etl-imds report)' })
        .conflicts('json', 'csv')
        .option('strict', { type: 'boolean', default: false, describe: 'a line that is not etl-imds NDJSON is an error (exit 2) instead of skipped (exit 4)' })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no notes on stderr' }) as unknown as Argv<ReportArgs>,
    async (args) => {
      let shown = 0;
      let firstSkip: SkippedLine | undefined;
      const report = new FleetReport((s) => {
        firstSkip ??= s;
        if (args.strict) throw new CliError(`${s.file}: line ${s.line}: ${s.reason}`, EXIT.input);
        if (!args.quiet && shown++ < SKIPS_SHOWN) process.stderr.write(`etl-imds: warning: ${s.file}: line ${s.line}: ${s.reason}; skipped\n`);
      });
      let rows: ReportRow[];
      try {
        // Files are read as the folders are walked: a fleet's prefix is never listed in memory.
        const noNdjson = (m: string) => process.stderr.write(`etl-imds: warning: ${m}: no NDJSON files found\n`);
        for (const f of eachInputFile(args.inputs, isNdjsonFile, noNdjson)) {
          try {
            report.addFile(f);
          } catch (e) {
            if (e instanceof CliError) throw e;
            if (e instanceof ReportInputError) throw new CliError(e.message, EXIT.input);
            throw new CliError(`${f}: ${(e as Error).message}`, EXIT.input);
          }
        }
        if (report.summary.files === 0) throw new CliError('no input files', EXIT.input);
        rows = report.rows();
      } finally {
        report.close();
      }
      const s = report.summary;
      if (!args.quiet && s.skippedLines > SKIPS_SHOWN) process.stderr.write(`etl-imds: warning: ${s.skippedLines - SKIPS_SHOWN} more lines skipped\n`);
      if (args.json) await writeOut(JSON.stringify({ summary: s, rows }, null, 2) + '\n');
      else if (args.csv) await writeOut(csvReport(rows));
      else await writeOut(textReport(rows, s));
      process.exitCode = firstSkip ? EXIT.partial : EXIT.ok;
    },
  );
}

function statusText(s: Record<string, number>): string {
  return Object.entries(s)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}×${v}`)
    .join(' ');
}

function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

const HEAD = ['Image', 'Command line', 'Instances', 'v1', 'v2', 'token', 'unknown', 'Statuses', 'First seen', 'Last seen'];
const RIGHT = HEAD.map((h) => ['Instances', 'v1', 'v2', 'token', 'unknown'].includes(h));

/** The CSV columns: ReportRow's fields in order. */
export const REPORT_CSV_HEAD = ['image', 'commandLine', 'instances', 'processes', 'v1', 'v2', 'token', 'unknown', 'statuses', 'firstSeen', 'lastSeen'] as const;

function csvReport(rows: ReportRow[]): string {
  // statuses as a JSON object ({"200":3,"401":1}), like scan's CSV.
  return csvLine([...REPORT_CSV_HEAD]) + rows.map((r) => csvLine(REPORT_CSV_HEAD.map((k) => r[k]))).join('');
}

function cells(r: ReportRow): string[] {
  return [
    escapeForTerminal(r.image ?? '(unknown)'),
    r.commandLine === null ? '-' : escapeForTerminal(r.commandLine),
    String(r.instances),
    String(r.v1),
    String(r.v2),
    String(r.token),
    String(r.unknown),
    statusText(r.statuses),
    shortTime(r.firstSeen),
    shortTime(r.lastSeen),
  ];
}

function textReport(rows: ReportRow[], s: ReportSummary): string {
  const lines: string[] = [];
  lines.push(rows.length ? table(HEAD, rows.map(cells), RIGHT) : 'No IMDS callers found.');
  const n = (x: number, one: string, many = `${one}s`) => `${x} ${x === 1 ? one : many}`;
  lines.push(
    '',
    `${n(s.instances, 'instance')} (${s.instancesWithV1} using IMDSv1), ${n(s.traces, 'trace')}${s.tracesWithErrors ? ` (${s.tracesWithErrors} unreadable)` : ''}, ${n(s.files, 'NDJSON file')}: ` +
      `${s.v1} IMDSv1, ${s.v2} IMDSv2, ${s.token} token, ${n(s.unknown, 'unknown request')}`,
  );
  return lines.join('\n') + '\n';
}
