import type { Argv, Options } from 'yargs';
import { statSync } from 'node:fs';
import { displayPath, type FileScan } from '../scan.js';
import type { Backend } from '../native/binding.js';
import { INSTANCE_ID } from '../imds/analyze.js';
import { checkWith, TraceMismatchError } from '../scan-with.js';
import { defaultJobs, scanFiles, type ScanOutcome } from '../scan-pool.js';
import { CliError, EXIT } from './exit.js';
import { expandInputs } from './inputs.js';
import { Progress } from './progress.js';
import { ScanOutput } from './scan-output.js';

export function scanCommand(y: Argv): Argv {
  return y.command(
    'scan <inputs...>',
    'Which processes called IMDS with (v2) and without (v1) a token, from netsh/pktmon .etl captures',
    (b) =>
      b
        .positional('inputs', { type: 'string', array: true, demandOption: true, describe: '.etl files, directories or globs' })
        .option('processes', { type: 'string', describe: 'a `tasklist /svc` text file naming PIDs' })
        .option('cab', { type: 'string', describe: "netsh's report .cab (default: <name>.cab beside <name>.etl)" })
        .option('auto-cab', { type: 'boolean', default: true, describe: 'look for <name>.cab beside each <name>.etl (--no-auto-cab to stop)' })
        .option('requests', { type: 'boolean', default: false, describe: 'one line per request instead of one per process' })
        .option('pid', { type: 'number', describe: 'only this PID: its whole chain of parents and every request (with --json/--csv: only its rows)' })
        .option('with', { type: 'string', array: true, describe: 'another trace of the same machine and time (kernel logger, WPR) whose process and TCPIP events join the capture; repeatable' })
        .option('wide', { type: 'boolean', default: false, describe: 'print every table column, nothing cut' })
        .option('width', { type: 'number', describe: 'table width in columns (default: the terminal width, 120 when not a terminal)' })
        .options(scanOutputOptionSpecs)
        .conflicts(SCAN_OUTPUT_CONFLICTS)
        .option('fail-on-v1', { type: 'boolean', default: false, describe: 'exit 3 when any IMDSv1 call is found' })
        .option('strict', { type: 'boolean', default: false, describe: 'a damaged part of a file is an error (exit 2)' })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress or notes on stderr' })
        .option('backend', { choices: ['portable', 'tdh'] as const, default: 'portable' as const, describe: "reader: portable (any OS) or tdh (Windows' ETW API)" })
        .option('jobs', { alias: 'j', type: 'number', describe: `files scanned at once, one worker thread each (default: the usable CPUs, container CPU quota included: ${defaultJobs()} here)` }),
    async (args) => {
      process.exitCode = await runScan({ ...args, inputs: args.inputs });
    },
  );
}

/**
 * scan's output options, for `capture stop` to register as well (`.options(scanOutputOptionSpecs)
 * .conflicts(SCAN_OUTPUT_CONFLICTS)`): --json, --csv, --ndjson and what NDJSON lines carry
 * (--host, --instance-id, --out).
 */
export const scanOutputOptionSpecs = {
  json: { type: 'boolean', describe: 'JSON on stdout' },
  csv: { type: 'boolean', describe: 'CSV on stdout (processes, or requests with --requests)' },
  ndjson: { type: 'boolean', describe: 'one JSON object per line, ASCII only: per file, per process instance and per request, each with host, instanceId and file (for Athena, DuckDB, etl-imds report)' },
  host: { type: 'string', describe: "with --ndjson: the computer's name when the trace does not give it" },
  'instance-id': { type: 'string', describe: "with --ndjson: the EC2 instance id (i-...), over the trace's own IMDS answers" },
  out: { type: 'string', describe: 'with --ndjson: write one <instance>-<time>-<trace>.ndjson per input into this folder (made if missing) instead of stdout' },
} as const satisfies Record<string, Options>;

/** Output forms that exclude each other. */
export const SCAN_OUTPUT_CONFLICTS = { json: ['csv', 'ndjson'], csv: ['ndjson'] };

/** What a scan run is given: the options of `etl-imds scan`, by their camelCase names. */
export interface ScanRun {
  inputs: string[];
  processes?: string;
  cab?: string;
  /** Look for <name>.cab beside each <name>.etl (default true). */
  autoCab?: boolean;
  requests?: boolean;
  pid?: number;
  with?: string[];
  wide?: boolean;
  width?: number;
  json?: boolean;
  csv?: boolean;
  ndjson?: boolean;
  host?: string;
  instanceId?: string;
  out?: string;
  failOnV1?: boolean;
  strict?: boolean;
  quiet?: boolean;
  backend?: Backend;
  jobs?: number;
}

/**
 * One scan run, as `etl-imds scan` does it: inputs expanded, files scanned (several at once),
 * output written (stdout, or --out files), notes and errors on stderr. Returns the exit code
 * (README, Exit codes); throws CliError for usage errors, unreadable input or unwritable output.
 * `etl-imds capture stop` runs its trace through here.
 */
export async function runScan(args: ScanRun): Promise<number> {
  const { files, missing } = expandInputs(args.inputs);
  for (const m of missing) process.stderr.write(`etl-imds: warning: ${m}: no .etl files found\n`);
  if (files.length === 0) throw new CliError('no input files', EXIT.input);
  if (args.cab && files.length > 1) throw new CliError('--cab names the cabinet of one trace; give one input, or let each <name>.etl find its <name>.cab', EXIT.usage);
  if (args.jobs !== undefined && !(Number.isInteger(args.jobs) && args.jobs >= 1)) throw new CliError('--jobs must be a whole number of at least 1', EXIT.usage);
  if (args.pid !== undefined && !(Number.isInteger(args.pid) && args.pid >= 0 && args.pid <= 0xffffffff)) throw new CliError('--pid must be a process id (a whole number from 0)', EXIT.usage);
  if (args.width !== undefined && !(Number.isInteger(args.width) && args.width >= 40)) throw new CliError('--width must be a whole number of columns, at least 40', EXIT.usage);
  if (args.width !== undefined && args.wide) throw new CliError('--wide and --width exclude each other', EXIT.usage);
  if ([args.json, args.csv, args.ndjson].filter(Boolean).length > 1) throw new CliError('give one of --json, --csv and --ndjson', EXIT.usage);
  if (!args.ndjson) {
    for (const [given, name] of [[args.host, '--host'], [args.instanceId, '--instance-id'], [args.out, '--out']] as const) {
      if (given !== undefined) throw new CliError(`${name} goes with --ndjson`, EXIT.usage);
    }
  }
  if (args.instanceId !== undefined && !INSTANCE_ID.test(args.instanceId)) throw new CliError(`--instance-id must be an EC2 instance id (i- and 8 to 17 hexadecimal digits), not '${args.instanceId}'`, EXIT.usage);
  if (args.host !== undefined && args.host.trim() === '') throw new CliError('--host must name the computer', EXIT.usage);
  if (args.out !== undefined && args.out === '') throw new CliError('--out must name a folder', EXIT.usage);
  const withFiles = args.with ?? [];
  if (withFiles.length > 0) {
    if (files.length > 1) throw new CliError('--with joins other traces to one capture; give one input', EXIT.usage);
    try {
      checkWith(files[0]!, withFiles);
    } catch (e) {
      if (e instanceof TraceMismatchError) throw new CliError(e.message, EXIT.usage);
      const err = e as { message?: string };
      throw new CliError(`--with: ${err.message ?? String(e)}`, EXIT.input);
    }
  }
  // Stdout's width on a console; 120, a common console width, for files and pipes.
  const width = args.wide ? undefined : (args.width ?? (process.stdout.isTTY && process.stdout.columns > 0 ? process.stdout.columns : 120));
  let cancelled = false;
  const onSigint = () => {
    cancelled = true;
  };
  process.on('SIGINT', onSigint);
  // Each file's output is written (to a spool) as the file is reported, in input order.
  const output = new ScanOutput(
    { json: !!args.json, csv: !!args.csv, ndjson: !!args.ndjson, host: args.host, instanceId: args.instanceId, outDir: args.out, requests: !!args.requests, pid: args.pid, width },
    files.length > 1,
  );
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
            output.add(r);
          } catch (e) {
            // No room for the temporary file: stop scanning, report it once the threads are done.
            spoolError ??= e;
            cancelled = true;
          }
          for (const d of r.diagnostics) process.stderr.write(`etl-imds: ${d.severity}: ${d.message}\n`);
          if (!args.quiet) for (const w of r.warnings.slice(0, 10)) process.stderr.write(`etl-imds: note: ${displayPath(f)}: ${w.message}\n`);
          if (!args.quiet) for (const n of r.capture?.notes ?? []) process.stderr.write(`etl-imds: note: ${displayPath(f)}: ${n.text}\n`);
          if (r.diagnostics.length > 0) worst = Math.max(worst, args.strict ? EXIT.input : EXIT.partial);
        } else if (o.error.kind === 'cancelled') {
          interrupted = true;
        } else if (o.error.kind === 'type') {
          usageError ??= o.error.message;
        } else if (!interrupted && usageError === undefined) {
          process.stderr.write(`etl-imds: error: ${o.error.message}\n`);
          output.add(failed(f, o.error));
          worst = Math.max(worst, EXIT.input);
        }
      }
    };
    try {
      await scanFiles(files, {
        processes: args.processes,
        cab: args.cab,
        noAutoCab: args.autoCab === false,
        backend: args.backend,
        jobs: args.jobs,
        with: withFiles,
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
    await output.write();
    const summary = output.summary;
    // Priority: an unreadable input (2) over IMDSv1 found (3) over skipped damage (4).
    let code: number = worst === EXIT.input ? EXIT.input : EXIT.ok;
    if (code === EXIT.ok && args.failOnV1 && summary.v1 > 0) code = EXIT.imdsV1;
    if (code === EXIT.ok && worst === EXIT.partial) code = EXIT.partial;
    return code;
  } finally {
    output.close();
  }
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
