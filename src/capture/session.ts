// `etl-imds capture start|stop|status`: one IMDS capture per state folder, run by the Windows
// tools of commands.ts (netsh or pktmon) and kernel-session.ts (logman, for command lines), ended
// after --duration by a scheduled task that runs as SYSTEM (nobody needs to be logged on), and
// described by a small JSON file in the folder (docs/providers.md, etl-imds capture).
//
// Every program is run with an argument array through a CommandRunner: the real one on Windows,
// one that prints the commands for --dry-run, one that records them in the tests. Files written
// here (the state, the task definition) go to a temporary name first and are renamed into place.

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { captureRecipe, type CaptureTool, type Command } from './commands.js';
import { kernelProcessSession } from './kernel-session.js';
import { windowsCommandLine } from './windows-command-line.js';

export type { Command } from './commands.js';

export interface CommandResult {
  /** Exit status; -1 when the program could not be started. */
  code: number;
  /** stdout and stderr together, as the program wrote them. */
  output: string;
}

export type CommandRunner = (command: Command) => Promise<CommandResult>;

/** How etl-imds runs itself (the scheduled task's program, the scan at stop). */
export interface SelfCommand {
  program: string;
  /** Arguments before the command (the script path under Node; none for etl-imds.exe). */
  args: string[];
}

export const STATE_FILE = 'capture.json';
export const TASK_FILE = 'capture-stop-task.xml';
/** The scheduled task that ends a capture after --duration (one per machine, as netsh's session is). */
export const TASK_NAME = 'etl-imds-capture-stop';
export const TRACE_NAMES = { netsh: 'imds-netsh.etl', pktmon: 'imds-pktmon.etl', kernel: 'imds-kernel.etl' } as const;

export interface CaptureState {
  version: 1;
  /** running: started and not stopped; stopped: stopped (by stop --no-scan, e.g. the task), not yet scanned. */
  phase: 'running' | 'stopped';
  tool: CaptureTool;
  startedAt: string;
  /** When the scheduled task stops it (--duration), or null. */
  stopsAt: string | null;
  stoppedAt: string | null;
  maxSizeMB: number;
  traceFile: string;
  /** The kernel process session's trace (--command-lines), or null. */
  kernelTrace: string | null;
  /** The scheduled task's name, or null without --duration. */
  task: string | null;
  /** What stops the capture and the kernel session, in order (decided at start). */
  stop: Command[];
}

export interface StartOptions {
  /** auto: netsh, and pktmon when netsh cannot start a packet capture. */
  tool: CaptureTool | 'auto';
  maxSizeMB: number;
  /** Milliseconds, or undefined to run until `capture stop`. */
  durationMs?: number;
  commandLines: boolean;
}

export interface SessionContext {
  /** The state folder (a Windows path on Windows). */
  dir: string;
  run: CommandRunner;
  now: () => Date;
  self: SelfCommand;
  /** Print commands instead of running them; write nothing. */
  dryRun: boolean;
  /** Progress and findings, one line each (stderr in the CLI). */
  say: (line: string) => void;
}

export class CaptureCommandError extends Error {
  constructor(
    readonly command: Command,
    readonly result: CommandResult,
  ) {
    super(`${command.purpose} failed: ${windowsCommandLine([command.program, ...command.args])} exited ${result.code}${result.output.trim() ? `:\n${result.output.trim()}` : ''}`);
  }
}

export class CaptureStateError extends Error {}

/** Paths in a folder named the Windows way (C:\..., \\server\...) are joined the Windows way on any OS (--dry-run). */
export function pathsOf(dir: string): path.PlatformPath {
  return /^([A-Za-z]:|\\\\)/.test(dir) ? path.win32 : path;
}

export function statePath(dir: string): string {
  return pathsOf(dir).join(dir, STATE_FILE);
}

/** The state in `dir`, or null when no capture was started there. */
export function readState(dir: string): CaptureState | null {
  const file = statePath(dir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CaptureStateError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let s: unknown;
  try {
    s = JSON.parse(text);
  } catch (e) {
    throw new CaptureStateError(`${file} is not JSON (${(e as Error).message}); remove it once the capture is stopped by hand`);
  }
  if (!isState(s)) throw new CaptureStateError(`${file} is not an etl-imds capture state (version 1); remove it once the capture is stopped by hand`);
  return s;
}

function isState(s: unknown): s is CaptureState {
  const o = s as Partial<CaptureState> | null;
  const optionalString = (v: unknown) => v === null || typeof v === 'string';
  return (
    typeof o === 'object' && o !== null && o.version === 1 && (o.phase === 'running' || o.phase === 'stopped') &&
    (o.tool === 'netsh' || o.tool === 'pktmon') && typeof o.startedAt === 'string' && optionalString(o.stopsAt) &&
    optionalString(o.stoppedAt) && typeof o.maxSizeMB === 'number' && typeof o.traceFile === 'string' &&
    optionalString(o.kernelTrace) && optionalString(o.task) && Array.isArray(o.stop) &&
    o.stop.every((c) => typeof c?.program === 'string' && Array.isArray(c.args) && c.args.every((a) => typeof a === 'string'))
  );
}

/** Writes `text` to `file` through a temporary file in the same folder, so no reader sees half of it. */
function writeWhole(file: string, data: string | Buffer): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, data);
    renameSync(temp, file);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
}

function writeState(dir: string, state: CaptureState): void {
  mkdirSync(dir, { recursive: true });
  writeWhole(statePath(dir), JSON.stringify(state, null, 2) + '\n');
}

function removeState(dir: string): void {
  rmSync(statePath(dir), { force: true });
}

/** What `start` runs with these options and this tool, and the state it leaves. */
export interface StartPlan {
  state: CaptureState;
  kernelStart: Command[];
  kernelStop: Command[];
  captureStart: Command[];
  captureStop: Command[];
  task: Command[];
  taskXml: string | null;
}

export function startPlan(ctx: Pick<SessionContext, 'dir' | 'now' | 'self'>, o: StartOptions, tool: CaptureTool): StartPlan {
  const now = ctx.now();
  const paths = pathsOf(ctx.dir);
  const traceFile = paths.join(ctx.dir, TRACE_NAMES[tool]);
  // persistent=yes: netsh starts the session again after a reboot. pktmon has no such option
  // (docs/providers.md, etl-imds capture).
  const recipe = captureRecipe(tool, { traceFile, maxSizeMB: o.maxSizeMB, persistent: true });
  const kernel = o.commandLines ? kernelProcessSession({ traceFile: paths.join(ctx.dir, TRACE_NAMES.kernel), circularMB: o.maxSizeMB }) : null;
  const stopsAt = o.durationMs === undefined ? null : new Date(now.getTime() + o.durationMs);
  const taskXml = stopsAt ? stopTaskXml(ctx, stopsAt, now) : null;
  const task = stopsAt ? [{ program: 'schtasks', args: ['/Create', '/TN', TASK_NAME, '/XML', paths.join(ctx.dir, TASK_FILE), '/RU', 'SYSTEM', '/F'], purpose: 'schedule the stop after --duration (as SYSTEM)' }] : [];
  const state: CaptureState = {
    version: 1,
    phase: 'running',
    tool,
    startedAt: now.toISOString(),
    stopsAt: stopsAt?.toISOString() ?? null,
    stoppedAt: null,
    maxSizeMB: o.maxSizeMB,
    traceFile,
    kernelTrace: kernel?.traceFile ?? null,
    task: stopsAt ? TASK_NAME : null,
    // The kernel session stops after the capture, so that its rundown covers the capture's end.
    stop: [...recipe.stop, ...(kernel?.stop ?? [])],
  };
  return { state, kernelStart: kernel?.start ?? [], kernelStop: kernel?.stop ?? [], captureStart: recipe.start, captureStop: recipe.stop, task, taskXml };
}

function deleteTask(name: string): Command {
  return { program: 'schtasks', args: ['/Delete', '/TN', name, '/F'], purpose: 'remove the scheduled stop' };
}

/** The status commands for a state: the tool's own, and the task's. */
export function statusCommands(state: CaptureState): Command[] {
  const tool = state.tool === 'netsh' ? { program: 'netsh', args: ['trace', 'show', 'status'] } : { program: 'pktmon', args: ['status'] };
  return [
    { ...tool, purpose: `${state.tool}'s own status` },
    ...(state.task ? [{ program: 'schtasks', args: ['/Query', '/TN', state.task, '/V', '/FO', 'LIST'], purpose: 'the scheduled stop' }] : []),
  ];
}

/** The scan `stop` runs: the capture, with the kernel trace joined when there is one. */
export function scanCommand(self: SelfCommand, state: CaptureState, withKernel: boolean, pass: string[]): Command {
  const args = [...self.args, 'scan', state.traceFile];
  if (withKernel && state.kernelTrace) args.push('--with', state.kernelTrace);
  return { program: self.program, args: [...args, ...pass], purpose: 'scan the capture' };
}

/** A local time as Task Scheduler's StartBoundary takes it (no zone: the machine's own clock). */
export function localBoundary(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function xmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The scheduled task that stops the capture once at `at`, as SYSTEM (S-1-5-18), whether anyone
 * is logged on or not; StartWhenAvailable runs it at the next boot when the machine was off then.
 * Its action runs `etl-imds capture stop --dir DIR --no-scan`: the trace stays for `capture stop`
 * to scan. Task Scheduler's XML (schema version 1.2); Arguments is one Windows command line.
 */
export function stopTaskXml(ctx: Pick<SessionContext, 'dir' | 'self'>, at: Date, created: Date): string {
  const args = windowsCommandLine([...ctx.self.args, 'capture', 'stop', '--dir', ctx.dir, '--no-scan']);
  return [
    '<?xml version="1.0" encoding="UTF-16"?>',
    '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
    '  <RegistrationInfo>',
    `    <Date>${localBoundary(created)}</Date>`,
    '    <Author>etl-imds</Author>',
    `    <Description>${xmlText(`Stops the etl-imds IMDS capture in ${ctx.dir} (capture start --duration); capture stop then scans it.`)}</Description>`,
    '  </RegistrationInfo>',
    '  <Triggers>',
    '    <TimeTrigger>',
    `      <StartBoundary>${localBoundary(at)}</StartBoundary>`,
    '      <Enabled>true</Enabled>',
    '    </TimeTrigger>',
    '  </Triggers>',
    '  <Principals>',
    '    <Principal id="Author">',
    '      <UserId>S-1-5-18</UserId>',
    '      <RunLevel>HighestAvailable</RunLevel>',
    '    </Principal>',
    '  </Principals>',
    '  <Settings>',
    '    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>',
    '    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>',
    '    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>',
    '    <StartWhenAvailable>true</StartWhenAvailable>',
    '    <Enabled>true</Enabled>',
    '    <ExecutionTimeLimit>PT1H</ExecutionTimeLimit>',
    '  </Settings>',
    '  <Actions Context="Author">',
    '    <Exec>',
    `      <Command>${xmlText(ctx.self.program)}</Command>`,
    `      <Arguments>${xmlText(args)}</Arguments>`,
    `      <WorkingDirectory>${xmlText(ctx.dir)}</WorkingDirectory>`,
    '    </Exec>',
    '  </Actions>',
    '</Task>',
    '',
  ].join('\r\n');
}

/** Runs commands in order; the first failure throws (its output in the error). */
async function runAll(ctx: SessionContext, commands: Command[]): Promise<void> {
  for (const c of commands) {
    const r = await ctx.run(c);
    if (r.code !== 0) throw new CaptureCommandError(c, r);
  }
}

/** Runs every command, failures included; says what failed. */
async function runEach(ctx: SessionContext, commands: Command[]): Promise<void> {
  for (const c of commands) {
    const r = await ctx.run(c);
    if (r.code !== 0) ctx.say(`warning: ${new CaptureCommandError(c, r).message}`);
  }
}

export type StartOutcome = { started: true; state: CaptureState } | { started: false; state: CaptureState; reason: 'running' | 'unscanned' };

/**
 * Starts a capture unless one is in the state folder: a second start leaves the first running.
 * The kernel session (--command-lines) starts first, so that its rundown covers the capture's
 * start; with tool auto, pktmon is tried when netsh cannot start. What was started is stopped
 * again when a later step fails.
 */
export async function startCapture(ctx: SessionContext, o: StartOptions): Promise<StartOutcome> {
  const existing = readState(ctx.dir);
  if (existing) return { started: false, state: existing, reason: existing.phase === 'running' ? 'running' : 'unscanned' };
  let plan = startPlan(ctx, o, o.tool === 'auto' ? 'netsh' : o.tool);
  await runAll(ctx, plan.kernelStart);
  try {
    try {
      await startOrUndo(ctx, plan.captureStart, afterFailedStart(plan));
    } catch (e) {
      if (!(e instanceof CaptureCommandError) || o.tool !== 'auto') throw e;
      ctx.say(`note: ${e.message}`);
      ctx.say('note: netsh could not start a packet capture; trying pktmon');
      plan = startPlan(ctx, o, 'pktmon');
      await startOrUndo(ctx, plan.captureStart, afterFailedStart(plan));
    }
    if (plan.taskXml !== null) {
      // Task Scheduler reads its XML as UTF-16 (the encoding it declares), with a byte order mark.
      const taskFile = pathsOf(ctx.dir).join(ctx.dir, TASK_FILE);
      if (!ctx.dryRun) {
        mkdirSync(ctx.dir, { recursive: true });
        writeWhole(taskFile, Buffer.from('\uFEFF' + plan.taskXml, 'utf16le'));
      }
      try {
        await startOrUndo(ctx, plan.task, plan.captureStop);
      } catch (e) {
        if (!ctx.dryRun) rmSync(taskFile, { force: true });
        throw e;
      }
    }
  } catch (e) {
    await runEach(ctx, plan.kernelStop);
    throw e;
  }
  if (!ctx.dryRun) writeState(ctx.dir, plan.state);
  return { started: true, state: plan.state };
}

/**
 * What to undo when the capture's start failed: its filters (pktmon), never a stop, which would
 * end a session someone else runs (the likely reason the start failed).
 */
function afterFailedStart(plan: StartPlan): Command[] {
  return plan.captureStop.filter((c) => c.program === 'pktmon' && c.args[0] === 'filter');
}

/** Runs `start`; when it fails, runs `undo` (all of it, failures said) before throwing. */
async function startOrUndo(ctx: SessionContext, start: Command[], undo: Command[]): Promise<void> {
  try {
    await runAll(ctx, start);
  } catch (e) {
    await runEach(ctx, undo);
    throw e;
  }
}

/** Nothing was running; or the capture, stopped now or earlier (by the task), waiting to be scanned. */
export type StopOutcome = { stopped: false; state: null } | { stopped: true; state: CaptureState };

/**
 * Stops what the state says is running: the capture, then the kernel session, then the
 * scheduled task. The state is kept, as phase stopped, until a scan of the trace succeeded
 * (finishCapture), so that a stop without a scan (--no-scan, the task) leaves it to be scanned.
 */
export async function stopCapture(ctx: SessionContext): Promise<StopOutcome> {
  const state = readState(ctx.dir);
  if (!state) return { stopped: false, state: null };
  if (state.phase === 'stopped') return { stopped: true, state };
  const stopped: CaptureState = { ...state, phase: 'stopped', stoppedAt: ctx.now().toISOString() };
  // A capture that ended otherwise (a reboot under pktmon, someone ran netsh trace stop) makes
  // its stop command fail: said, and the rest still runs.
  await runEach(ctx, state.stop);
  // Written before the task is removed: when the task itself runs this, removing it may end it.
  if (!ctx.dryRun) writeState(ctx.dir, stopped);
  if (state.task) await runEach(ctx, [deleteTask(state.task)]);
  if (!ctx.dryRun && state.task) rmSync(pathsOf(ctx.dir).join(ctx.dir, TASK_FILE), { force: true });
  return { stopped: true, state: stopped };
}

/** After a scan of a stopped capture succeeded: the folder holds no capture any more (the traces stay). */
export function finishCapture(ctx: Pick<SessionContext, 'dir' | 'dryRun'>): void {
  if (!ctx.dryRun) removeState(ctx.dir);
}

export interface FileSize {
  file: string;
  /** Bytes, or null when the file is not there (yet). */
  bytes: number | null;
}

export function fileSize(file: string): FileSize {
  try {
    return { file, bytes: statSync(file).size };
  } catch {
    return { file, bytes: null };
  }
}

export function exists(file: string): boolean {
  return existsSync(file);
}
