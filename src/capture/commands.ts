// The Windows commands that make a capture scan can use: the one place that knows netsh's and
// pktmon's options (docs/providers.md, netsh trace options and pktmon options). scan's advice, the README's "Capturing on Windows"
// section and `etl-imds capture` all take their commands from here, as argument arrays: a
// command is run with its arguments as they are, never through a shell, and printed in the
// form cmd.exe and PowerShell accept.
//
// Options used, as Microsoft documents them:
// - `netsh trace start` (Windows Server `netsh trace` reference): capture=yes, traceFile,
//   maxSize (MB), fileMode=single|circular|append (circular overwrites the oldest data once the
//   file is full), persistent=yes|no (the session survives a restart), report, provider /
//   keywords / level; capture filters such as IPv4.Address= narrow the packets;
//   PacketTruncateBytes= would cut them, so it is never given. `netsh trace stop`.
// - `pktmon start` (Windows Server `pktmon start` reference): --capture, --comp (all
//   components by default; `nics` logs only at the network adapters), --pkt-size (bytes logged
//   per packet, 128 by default, 0 = the whole packet), --file-name, --file-size (MB, 512 by
//   default), --log-mode circular|multi-file|real-time|memory (circular by default), --trace
//   with -p/--provider, -k/--keywords, -l/--level. `pktmon filter add [name] -i ip -p port`
//   (a packet is logged when it matches every condition of at least one filter; up to 8
//   filters), `pktmon filter remove`, `pktmon stop`.
// - Microsoft-Windows-Kernel-Process {22FB2CD6-0E7B-422B-A0C7-2FAD1FD0E716}, keyword 0x10
//   (WINEVENT_KEYWORD_PROCESS): ProcessStart, ProcessStop and ProcessRundown, which name the
//   PIDs (docs/etl-format.md, Microsoft-Windows-Kernel-Process).

import { IMDS } from '../constants.js';

export type CaptureTool = 'netsh' | 'pktmon';

/** One program run with its arguments (no shell). */
export interface Command {
  program: string;
  args: string[];
  /** What running it does, in a few words. */
  purpose: string;
}

/** The commands of one capture, in the order they are run. */
export interface CaptureRecipe {
  tool: CaptureTool;
  traceFile: string;
  /** Before the workload runs. */
  start: Command[];
  /** After it: stops the capture and writes the trace file. */
  stop: Command[];
  /** Whether a capture is running, and how far it got. */
  status: Command[];
}

export interface CaptureOptions {
  /** Where the trace is written (a Windows path). */
  traceFile?: string;
  /** File size limit in MB (default 256). */
  maxSizeMB?: number;
  /** circular (default) keeps the newest traffic once the file is full; single stops logging then. */
  fileMode?: 'circular' | 'single';
  /** Only packets to and from IMDS (default true): a small file that lasts. */
  imdsOnly?: boolean;
  /** Process start/stop events beside the packets (default true): they name the PIDs. */
  processEvents?: boolean;
  /** netsh: the session survives a restart (default false). */
  persistent?: boolean;
}

export const KERNEL_PROCESS = 'Microsoft-Windows-Kernel-Process';
/** WINEVENT_KEYWORD_PROCESS of Microsoft-Windows-Kernel-Process. */
export const KERNEL_PROCESS_KEYWORDS = '0x10';

export const DEFAULT_TRACE_FILE: Record<CaptureTool, string> = {
  netsh: 'C:\\imds-netsh.etl',
  pktmon: 'C:\\imds-pktmon.etl',
};
export const DEFAULT_MAX_SIZE_MB = 256;

interface Resolved {
  traceFile: string;
  maxSizeMB: number;
  fileMode: 'circular' | 'single';
  imdsOnly: boolean;
  processEvents: boolean;
  persistent: boolean;
}

function resolve(tool: CaptureTool, o: CaptureOptions): Resolved {
  const maxSizeMB = o.maxSizeMB ?? DEFAULT_MAX_SIZE_MB;
  if (!Number.isInteger(maxSizeMB) || maxSizeMB < 1) throw new RangeError(`maxSizeMB must be a whole number of MB, at least 1 (got ${o.maxSizeMB})`);
  const traceFile = o.traceFile ?? DEFAULT_TRACE_FILE[tool];
  // Argument arrays make quoting moot when run; the printed form must still be one argument.
  if (/["\r\n]/.test(traceFile) || traceFile === '') throw new RangeError(`unusable trace file name ${JSON.stringify(traceFile)}`);
  return {
    traceFile, maxSizeMB, fileMode: o.fileMode ?? 'circular', imdsOnly: o.imdsOnly ?? true,
    processEvents: o.processEvents ?? true, persistent: o.persistent ?? false,
  };
}

/**
 * netsh trace: NDIS packet capture (whole packets, both directions, at the adapters), with the
 * Kernel-Process provider for process names. netsh's capture filter takes one address family;
 * the IPv4 one is given (IMDS's IPv6 address answers only on instances that enabled it).
 */
export function netshRecipe(options: CaptureOptions = {}): CaptureRecipe {
  const o = resolve('netsh', options);
  const args = ['trace', 'start', 'capture=yes'];
  if (o.imdsOnly) args.push(`IPv4.Address=${IMDS.ipv4}`);
  if (o.processEvents) args.push(`provider=${KERNEL_PROCESS}`, `keywords=${KERNEL_PROCESS_KEYWORDS}`, 'level=4');
  // The report stays on: the .cab beside the trace holds the process list that names PIDs.
  args.push(`traceFile=${o.traceFile}`, `maxSize=${o.maxSizeMB}`, `fileMode=${o.fileMode}`, `persistent=${o.persistent ? 'yes' : 'no'}`, 'overwrite=yes');
  return {
    tool: 'netsh',
    traceFile: o.traceFile,
    start: [{ program: 'netsh', args, purpose: 'start the capture' }],
    stop: [{ program: 'netsh', args: ['trace', 'stop'], purpose: 'stop it and write the trace file' }],
    status: [{ program: 'netsh', args: ['trace', 'show', 'status'], purpose: 'show the running capture' }],
  };
}

/**
 * pktmon: whole packets (--pkt-size 0) at every component (the sending process's PID is
 * logged above the adapter), filtered to IMDS port 80 on both of its addresses, with the
 * Kernel-Process provider for process names.
 */
export function pktmonRecipe(options: CaptureOptions = {}): CaptureRecipe {
  const o = resolve('pktmon', options);
  // pktmon's other log modes keep every file (multi-file) or show events live; none stops when full.
  if (o.fileMode !== 'circular') throw new RangeError('pktmon logs to a circular file only here (its other modes do not stop when full)');
  const start: Command[] = [];
  if (o.imdsOnly) {
    start.push({ program: 'pktmon', args: ['filter', 'remove'], purpose: 'clear filters left from earlier captures' });
    start.push({ program: 'pktmon', args: ['filter', 'add', 'IMDS', '-i', IMDS.ipv4, '-p', String(IMDS.port)], purpose: 'log IMDS traffic (IPv4)' });
    start.push({ program: 'pktmon', args: ['filter', 'add', 'IMDSv6', '-i', IMDS.ipv6, '-p', String(IMDS.port)], purpose: 'log IMDS traffic (IPv6)' });
  }
  const args = ['start', '--capture', '--comp', 'all', '--pkt-size', '0'];
  if (o.processEvents) args.push('--trace', '-p', KERNEL_PROCESS, '-k', KERNEL_PROCESS_KEYWORDS, '-l', '4');
  args.push('--file-name', o.traceFile, '--file-size', String(o.maxSizeMB), '--log-mode', 'circular');
  start.push({ program: 'pktmon', args, purpose: 'start the capture' });
  return {
    tool: 'pktmon',
    traceFile: o.traceFile,
    start,
    stop: [
      { program: 'pktmon', args: ['stop'], purpose: 'stop it and write the trace file' },
      ...(o.imdsOnly ? [{ program: 'pktmon', args: ['filter', 'remove'], purpose: 'remove the IMDS filters again' }] : []),
    ],
    status: [{ program: 'pktmon', args: ['status'], purpose: 'show the running capture' }],
  };
}

export function captureRecipe(tool: CaptureTool, options: CaptureOptions = {}): CaptureRecipe {
  return tool === 'netsh' ? netshRecipe(options) : pktmonRecipe(options);
}

/** One argument as cmd.exe and PowerShell read it: quoted when it holds a space or a special character. */
function printArg(a: string): string {
  return /^[A-Za-z0-9_\-.:=\\/+]+$/.test(a) ? a : `"${a}"`;
}

/** The command as a person types it. */
export function printable(c: Command): string {
  return [c.program, ...c.args].map(printArg).join(' ');
}

/** The start commands joined into one line with `&&` (cmd.exe and PowerShell 7 both read it). */
export function printableStart(r: CaptureRecipe): string {
  return r.start.map(printable).join(' && ');
}

export const WORKLOAD_REMINDER = 'rem ... let the instance run its agents, scheduled tasks, etc. ...';

/** A whole capture as a cmd.exe script: start, a reminder to run the workload, stop. */
export function captureScript(r: CaptureRecipe): string {
  return [...r.start.map(printable), WORKLOAD_REMINDER, ...r.stop.map(printable)].join('\n');
}
