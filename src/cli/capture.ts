// `etl-imds capture start|stop|status` (src/capture/session.ts does the work; README, etl-imds
// capture). Windows only, except --dry-run, which prints the exact commands on any OS: one per
// line, as one Windows command line each (the quoting the programs' C runtime undoes).
import type { Argv } from 'yargs';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as sea from 'node:sea';
import { DEFAULT_MAX_SIZE_MB } from '../capture/commands.js';
import { durationText, parseDuration } from '../capture/duration.js';
import {
  CaptureCommandError, CaptureStateError, exists, fileSize, finishCapture, pathsOf, readState, scanCommand, startCapture, statusCommands, stopCapture,
  type CaptureState, type Command, type CommandRunner, type SelfCommand, type SessionContext,
} from '../capture/session.js';
import { windowsCommandLine } from '../capture/windows-command-line.js';
import { CliError, EXIT } from './exit.js';
import { SCAN_OUTPUT_CONFLICTS, scanOutputOptionSpecs } from './scan.js';

/** %ProgramData%\etl-imds: machine-wide, writable by administrators and SYSTEM (the scheduled task). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.win32.join(env.ProgramData ?? env.PROGRAMDATA ?? 'C:\\ProgramData', 'etl-imds');
}

/** How to run this same etl-imds again: etl-imds.exe alone, or Node with the CLI script. */
export function selfCommand(): SelfCommand {
  const script = process.argv[1];
  const single = (sea as { isSea?: () => boolean }).isSea?.() ?? false;
  if (single || !script || path.resolve(script) === process.execPath) return { program: process.execPath, args: [] };
  return { program: process.execPath, args: [path.resolve(script)] };
}

/** One line per command, as Windows hands it to the program. */
export function commandLine(c: Pick<Command, 'program' | 'args'>): string {
  return windowsCommandLine([c.program, ...c.args]);
}

/** Runs a program with its arguments (no shell); its stdout and stderr come back together. */
export const windowsRunner: CommandRunner = (c) =>
  new Promise((resolve) => {
    const child = spawn(c.program, c.args, { windowsHide: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', (e) => resolve({ code: -1, output: `cannot run ${c.program}: ${e.message}` }));
    child.on('close', (code) => resolve({ code: code ?? -1, output: Buffer.concat(chunks).toString('utf8') }));
  });

/** --dry-run: prints each command on stdout and takes it as done. */
export function printingRunner(write: (line: string) => void): CommandRunner {
  return async (c) => {
    write(commandLine(c));
    return { code: 0, output: '' };
  };
}

export interface StopScanOptions {
  /** Stop only; the trace is kept for a later `capture stop` to scan (what the scheduled task runs). */
  scan: boolean;
  /** Arguments passed on to `scan` (format and identity flags). */
  scanArgs: string[];
  /** Write the scan's output to a file in this folder instead of stdout (NDJSON: scan's own --out). */
  out?: string;
  /** The output file's name without extension (--instance-id, else the computer's name; and the time). */
  outName: string;
  outExt: string;
}

/**
 * `capture stop`: stops what runs, then scans the trace with this same etl-imds's `scan` command
 * (the scan CLI's own code path and options: nothing is re-implemented here), the kernel trace
 * joined with --with. Returns the exit code: none running 0; else scan's (0, 3, 4, or 2).
 */
export async function stopAndScan(ctx: SessionContext, o: StopScanOptions): Promise<number> {
  const r = await stopCapture(ctx);
  if (!r.stopped) {
    ctx.say(`no capture is running (nothing in ${ctx.dir})`);
    return EXIT.ok;
  }
  const { state } = r;
  if (!o.scan) {
    ctx.say(`capture stopped; ${state.traceFile} is kept for 'etl-imds capture stop' to scan`);
    return EXIT.ok;
  }
  if (!ctx.dryRun && !exists(state.traceFile)) {
    // Nothing to scan, ever: the folder is left without a capture, so that a new start can run.
    finishCapture(ctx);
    throw new CliError(`${state.traceFile}: the trace is not there (${state.tool} wrote nothing): nothing to scan`, EXIT.input);
  }
  const withKernel = state.kernelTrace !== null && (ctx.dryRun || exists(state.kernelTrace));
  if (state.kernelTrace !== null && !withKernel) ctx.say(`warning: ${state.kernelTrace} is not there: scanning without command lines`);
  // scan writes NDJSON files into --out itself (one per trace, named by instance, time and trace);
  // other forms go to stdout, which is then sent to a file of ours.
  const scanOwnsOut = o.out !== undefined && o.scanArgs.includes('--ndjson');
  const scan = scanCommand(ctx.self, state, withKernel, scanOwnsOut ? [...o.scanArgs, '--out', o.out!] : o.scanArgs);
  if (ctx.dryRun) {
    await ctx.run(scan);
    return EXIT.ok;
  }
  const code = await runScan(scan, o.out === undefined || scanOwnsOut ? undefined : path.join(o.out, `${o.outName}.${o.outExt}`));
  if (code === EXIT.ok || code === EXIT.imdsV1 || code === EXIT.partial) finishCapture(ctx);
  else ctx.say(`the scan failed (exit ${code}): the capture stays stopped in ${ctx.dir}; run 'etl-imds capture stop' again to scan it`);
  return code;
}

/** Runs the scan as a child (argument array), its stdout to `outFile` (whole or not at all) or ours. */
async function runScan(scan: Command, outFile: string | undefined): Promise<number> {
  let fd: number | undefined;
  const temp = outFile === undefined ? undefined : `${outFile}.partial`;
  if (temp !== undefined) {
    try {
      mkdirSync(path.dirname(temp), { recursive: true });
      fd = openSync(temp, 'w');
    } catch (e) {
      throw new CliError(`--out: cannot write ${temp}: ${(e as Error).message}`, EXIT.input);
    }
  }
  // Ctrl-C reaches the scan too, which stops and exits 130: wait for it, then clean up.
  const onSigint = () => {};
  process.on('SIGINT', onSigint);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(scan.program, scan.args, { windowsHide: true, stdio: ['ignore', fd ?? 'inherit', 'inherit'] });
      child.on('error', reject);
      child.on('close', (c, signal) => resolve(c ?? (signal === 'SIGINT' ? EXIT.interrupted : EXIT.input)));
    });
    if (fd !== undefined) {
      closeSync(fd);
      fd = undefined;
      if (code === EXIT.ok || code === EXIT.imdsV1 || code === EXIT.partial) renameSync(temp!, outFile!);
      else rmSync(temp!, { force: true });
    }
    return code;
  } finally {
    process.off('SIGINT', onSigint);
    if (fd !== undefined) {
      closeSync(fd);
      rmSync(temp!, { force: true });
    }
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MB`;
}

export function statusLines(state: CaptureState | null, dir: string): string[] {
  if (!state) return [`no capture in ${dir}`];
  const lines = [
    state.phase === 'running'
      ? `running since ${state.startedAt} (${state.tool})${state.stopsAt ? `, stops by itself at ${state.stopsAt} (scheduled task ${state.task})` : ', until capture stop'}`
      : `stopped at ${state.stoppedAt} (${state.tool}, started ${state.startedAt}), not scanned yet: run 'etl-imds capture stop' to scan it`,
  ];
  for (const [what, f] of [['trace', state.traceFile], ['kernel trace', state.kernelTrace]] as const) {
    if (f === null) continue;
    const { bytes } = fileSize(f);
    lines.push(`${what}: ${f}, ${bytes === null ? 'not written yet' : megabytes(bytes)} (circular, at most ${state.maxSizeMB} MB)`);
  }
  return lines;
}

const dirOption = { type: 'string', describe: 'state folder: the state file and the traces (default %ProgramData%\\etl-imds)' } as const;
const dryRunOption = { type: 'boolean', default: false, describe: 'print the commands (one Windows command line each) instead of running them; any OS' } as const;

function context(dir: string | undefined, dryRun: boolean): SessionContext {
  if (process.platform !== 'win32' && !dryRun) {
    throw new CliError('capture runs netsh, pktmon, logman and schtasks, which exist only on Windows; --dry-run prints the commands on any OS', EXIT.usage);
  }
  // The scheduled task runs elsewhere than here: a relative folder is made absolute (a Windows
  // path given to --dry-run elsewhere is taken as it is).
  const given = dir ?? defaultStateDir();
  return {
    dir: process.platform === 'win32' || pathsOf(given) === path ? path.resolve(given) : given,
    run: dryRun ? printingRunner((l) => process.stdout.write(l + '\n')) : windowsRunner,
    now: () => new Date(),
    self: selfCommand(),
    dryRun,
    say: (l) => process.stderr.write(`etl-imds: ${l}\n`),
  };
}

/** Failures of the Windows commands and of the state file are exit 2, with what failed; unusable names exit 1. */
async function guarded<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof CaptureCommandError || e instanceof CaptureStateError) throw new CliError(e.message, EXIT.input);
    // A folder name the commands cannot take (commands.ts, kernel-session.ts).
    if (e instanceof RangeError) throw new CliError(e.message, EXIT.usage);
    throw e;
  }
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}

export function captureCommand(y: Argv): Argv {
  return y.command('capture', 'Run an IMDS capture on this Windows machine: start, status, stop (and scan it)', (c) =>
    c
      .command(
        'start',
        'start a capture of IMDS traffic (netsh, or pktmon where netsh cannot), unless one runs',
        (b) =>
          b
            .option('dir', dirOption)
            .option('duration', { type: 'string', describe: 'stop by itself after this long, e.g. 90m, 24h, 7d (a scheduled task running as SYSTEM)' })
            .option('max-size', { type: 'number', default: DEFAULT_MAX_SIZE_MB, describe: 'size of the circular trace file in MB' })
            .option('command-lines', { type: 'boolean', default: false, describe: "a kernel process session beside it: each caller's command line, account and parents" })
            .option('tool', { choices: ['auto', 'netsh', 'pktmon'] as const, default: 'auto' as const, describe: 'auto: netsh, else pktmon' })
            .option('dry-run', dryRunOption),
        async (args) => {
          const maxSizeMB = args.maxSize;
          if (!Number.isInteger(maxSizeMB) || maxSizeMB < 1) throw new CliError('--max-size must be a whole number of MB, at least 1', EXIT.usage);
          let durationMs: number | undefined;
          if (args.duration !== undefined) {
            try {
              durationMs = parseDuration(args.duration);
            } catch (e) {
              throw new CliError((e as Error).message, EXIT.usage);
            }
          }
          const ctx = context(args.dir, args.dryRun);
          const r = await guarded(() => startCapture(ctx, { tool: args.tool, maxSizeMB, durationMs, commandLines: args.commandLines }));
          const s = r.state;
          if (!r.started && r.reason === 'running') {
            ctx.say(`a capture is already running in ${ctx.dir} (${s.tool}, since ${s.startedAt}${s.stopsAt ? `, until ${s.stopsAt}` : ''}): left as it is`);
          } else if (!r.started) {
            throw new CliError(`the capture in ${ctx.dir} (stopped at ${s.stoppedAt}) has not been scanned: run 'etl-imds capture stop' first`, EXIT.usage);
          } else if (!ctx.dryRun) {
            ctx.say(`capture started (${s.tool}): ${s.traceFile}, circular, ${s.maxSizeMB} MB${s.kernelTrace ? `; command lines: ${s.kernelTrace}` : ''}`);
            ctx.say(durationMs === undefined ? "it runs until 'etl-imds capture stop'" : `it stops by itself in ${durationText(durationMs)}, at ${s.stopsAt} (scheduled task ${s.task}); 'etl-imds capture stop' scans it`);
          }
        },
      )
      .command(
        'stop',
        'stop the capture (and the kernel session, and the scheduled stop), then scan it',
        (b) =>
          // scan's own output options (passed on to it), with --out for every form, not only NDJSON.
          b
            .option('dir', dirOption)
            .option('scan', { type: 'boolean', default: true, describe: 'scan the trace once stopped (--no-scan: keep it for a later stop to scan)' })
            .options(scanOutputOptionSpecs)
            .conflicts(SCAN_OUTPUT_CONFLICTS)
            .option('requests', { type: 'boolean', describe: 'one row per request (table, CSV)' })
            .option('fail-on-v1', { type: 'boolean', describe: 'exit 3 when an IMDSv1 call is found' })
            .option('quiet', { alias: 'q', type: 'boolean', describe: 'no progress or notes on stderr' })
            .option('out', { type: 'string', describe: "write the result to a new file in this folder instead of stdout: <instance id or computer name>-<UTC time>.<json|csv|txt>; with --ndjson, scan's own --out (<instance>-<time>-<trace>.ndjson)" })
            .option('dry-run', dryRunOption),
        async (args) => {
          const scanArgs: string[] = [];
          for (const [flag, on] of [['--json', args.json], ['--ndjson', args.ndjson], ['--csv', args.csv], ['--requests', args.requests], ['--fail-on-v1', args.failOnV1], ['--quiet', args.quiet]] as const) {
            if (on) scanArgs.push(flag);
          }
          // NDJSON lines carry the host and instance; other forms take them only for the --out file's name.
          if (args.ndjson && args.host !== undefined) scanArgs.push('--host', args.host);
          if (args.ndjson && args.instanceId !== undefined) scanArgs.push('--instance-id', args.instanceId);
          const ctx = context(args.dir, args.dryRun);
          const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
          const outName = `${safeName(args.instanceId ?? os.hostname())}-${stamp}`;
          const outExt = args.json ? 'json' : args.csv ? 'csv' : 'txt';
          process.exitCode = await guarded(() => stopAndScan(ctx, { scan: args.scan, scanArgs, out: args.out, outName, outExt }));
        },
      )
      .command(
        'status',
        'what runs, since when, how big the trace is',
        (b) => b.option('dir', dirOption).option('json', { type: 'boolean', default: false, describe: 'the state and file sizes as JSON' }).option('dry-run', dryRunOption),
        async (args) => {
          const ctx = context(args.dir, args.dryRun);
          await guarded(async () => {
            const state = readState(ctx.dir);
            if (args.json) {
              const files = state ? [state.traceFile, state.kernelTrace].filter((f): f is string => f !== null).map(fileSize) : [];
              if (!ctx.dryRun) process.stdout.write(JSON.stringify({ dir: ctx.dir, capture: state, files }, null, 2) + '\n');
            } else if (!ctx.dryRun) {
              for (const l of statusLines(state, ctx.dir)) process.stdout.write(l + '\n');
            } else if (!state) {
              ctx.say(`no capture in ${ctx.dir}`);
            }
            if (!state || state.phase !== 'running') return;
            // The tools' own view: whether the session really runs (after a reboot, say).
            for (const c of statusCommands(state)) {
              const r = await ctx.run(c);
              if (ctx.dryRun) continue;
              const out = `${c.purpose} (${commandLine(c)}, exit ${r.code}):\n${r.output.trimEnd().replace(/^/gm, '  ')}\n`;
              (args.json ? process.stderr : process.stdout).write(out);
            }
          });
        },
      )
      .demandCommand(1, 'Give a capture command: start, stop or status.'),
  );
}
