// The kernel process session that records who each caller is (command line, account, parents)
// beside a netsh or pktmon capture, started before it and stopped after it, so that its process
// rundowns at both ends cover the whole capture (docs/providers.md, A kernel process session).
// Commands are argument arrays (never a shell string built from input) with a printed form that
// cmd.exe and PowerShell both accept.
//
// logman ships with every Windows Server from 2016 to 2025 (and Server Core). Its options, as its
// own help (`logman create trace /?`, build 17763) gives them: -p <provider [flags [level]]>, the
// kernel provider "Windows Kernel Trace" taking flag names in parentheses, e.g.
// `logman start "NT Kernel Logger" -p "Windows Kernel Trace" (process,thread) -ets`; -o <path>;
// -ets (act on the session directly, nothing saved or scheduled); -max <MB> and -f bincirc for a
// circular file. The `process` flag logs process start and end, and a rundown of the running
// processes when the session starts and when it stops, each with its command line, parent,
// session and account (docs/etl-format.md, Kernel Process events (MOF)).

import { printable, WORKLOAD_REMINDER, type CaptureRecipe, type Command } from './commands.js';

export { printable, type Command };

export interface KernelSession {
  traceFile: string;
  /** Run before the capture starts. */
  start: Command[];
  /** Run after the capture stopped. */
  stop: Command[];
}

export interface KernelSessionOptions {
  /** Where the kernel trace is written (a Windows path). */
  traceFile?: string;
  /** A circular file of this many MB (the oldest events are overwritten); default: a plain file. */
  circularMB?: number;
}

/** The one session the kernel's own events (the classic kernel provider) can be logged to. */
export const KERNEL_LOGGER = 'NT Kernel Logger';
export const KERNEL_PROVIDER = 'Windows Kernel Trace';
export const DEFAULT_KERNEL_TRACE = 'C:\\imds-kernel.etl';

export function kernelProcessSession(o: KernelSessionOptions = {}): KernelSession {
  const traceFile = o.traceFile ?? DEFAULT_KERNEL_TRACE;
  if (traceFile === '' || /["\r\n]/.test(traceFile)) throw new RangeError(`unusable trace file name ${JSON.stringify(traceFile)}`);
  const args = ['start', KERNEL_LOGGER, '-p', KERNEL_PROVIDER, '(process)', '-o', traceFile];
  if (o.circularMB !== undefined) {
    if (!Number.isInteger(o.circularMB) || o.circularMB < 1) throw new RangeError(`circularMB must be a whole number of MB, at least 1 (got ${o.circularMB})`);
    args.push('-max', String(o.circularMB), '-f', 'bincirc');
  }
  args.push('-ets');
  return {
    traceFile,
    start: [{ program: 'logman', args, purpose: 'start the kernel process session (before the capture)' }],
    stop: [{ program: 'logman', args: ['stop', KERNEL_LOGGER, '-ets'], purpose: 'stop it (after the capture) and write the kernel trace' }],
  };
}

/** The scan that joins the kernel trace to the capture. */
export function scanWithKernel(capture: string, session: KernelSession): Command {
  return { program: 'etl-imds', args: ['scan', capture, '--with', session.traceFile], purpose: 'scan the capture with the kernel trace joined' };
}

/** A capture with the kernel process session around it, then the scan that joins the two, as a cmd.exe script. */
export function captureWithKernelScript(capture: CaptureRecipe, session: KernelSession): string {
  return [
    ...session.start.map(printable),
    ...capture.start.map(printable),
    WORKLOAD_REMINDER,
    ...capture.stop.map(printable),
    ...session.stop.map(printable),
    printable(scanWithKernel(capture.traceFile, session)),
  ].join('\n');
}
