// "Who is calling": a machine whose IMDS callers have something to tell apart, from the committed
// real-client captures (fixtures/imds). Written three ways by the callers of this module: a netsh
// and a pktmon capture with Microsoft-Windows-Kernel-Process events, and a kernel process trace
// (WPR-style, kernel Process events with command lines and accounts) taken beside them. It has:
// - curl.exe five processes deep (services > svchost/Schedule > cmd > powershell > curl), whose
//   chain ends at an smss.exe that exited before the capture, as on every Windows machine; the
//   PowerShell above it calls IMDS too, with a -EncodedCommand line over 1,000 characters;
// - PID 5000 used twice: python.exe (under NETWORK SERVICE) starts and exits between two calls of
//   the SSM agent, then node.exe takes the PID;
// - command lines with Japanese and accented characters;
// - a user process whose parent (userinit.exe) exited before the capture.

import { join } from 'node:path';
import { backgroundTraffic, captureTcpipEvents, loadCapture, mergeByTime, placeCapture, placedTruth, take, type PidMode, type PlaceOptions } from './imds.js';
import type { TruthRequest } from './capture.js';
import { Rng } from './bytes.js';
import { FILETIME_SECOND, type GenPacket } from './packet.js';
import { fileName, type GenProcess, type GenTcpipEvent } from './providers.js';

export interface ScenarioProcess extends GenProcess {
  /** Set for every process: the kernel writes it, and the tests expect it. */
  commandLine: string;
  createTime: bigint;
}

export interface CallerScenario {
  /** When the capture starts and ends; the kernel trace starts a second before and ends a second after. */
  start: bigint;
  end: bigint;
  bootTime: bigint;
  /** Every process alive at some point of the capture, in the order they were created. */
  processes: ScenarioProcess[];
  /** PIDs that exited before the capture (parents only). */
  exitedBefore: { pid: number; image: string }[];
  packets: GenPacket[];
  /** The requests, with the PID and the image of the process that made them. */
  truth: (TruthRequest & { image: string })[];
  /** Microsoft-Windows-TCPIP TcpConnectTcbComplete for every IMDS connection (its owner's PID). */
  tcpipEvents: GenTcpipEvent[];
}

export interface CallerScenarioOptions {
  /** FILETIME the capture starts at (default 2024-06-02T20:00:00Z). */
  start?: bigint;
  /** Which packets carry the caller's PID (default 'packet'; 'none': only TCPIP events can tell). */
  pidMode?: PidMode;
}

const DEFAULT_SCENARIO_START = 133_618_320_000_000_000n; // 2024-06-02T20:00:00Z
const SYSTEM = 'S-1-5-18';
const NETWORK_SERVICE = 'S-1-5-20';
/** A local user of the machine (relative id 1013). */
export const SCENARIO_USER = 'S-1-5-21-1004336348-1177238915-682003330-1013';

/** A PowerShell line as schedulers write it: the script in base64 of UTF-16LE, over 1,000 characters. */
function encodedCommand(): string {
  const script = [
    '$ErrorActionPreference = "Stop"',
    '$base = "http://169.254.169.254/latest/meta-data"',
    ...Array.from({ length: 12 }, (_, i) => `$r${i} = Invoke-RestMethod -Uri "$base/tags/instance/poll-${i}" -TimeoutSec 2`),
    'curl.exe -s "$base/instance-id" "$base/iam/security-credentials/" | Out-File C:\\ops\\last-poll.txt',
  ].join('; ');
  return 'powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ' + Buffer.from(script, 'utf16le').toString('base64');
}

export function callerScenario(repoRoot: string, options: CallerScenarioOptions = {}): CallerScenario {
  const start = options.start ?? DEFAULT_SCENARIO_START;
  const pidMode = options.pidMode ?? 'packet';
  const t = (s: number) => start + BigInt(Math.round(s * 1e7));
  const bootTime = start - 3n * 86_400n * FILETIME_SECOND;
  const boot = (s: number) => bootTime + BigInt(s) * FILETIME_SECOND;
  const nt = (p: string) => `\\Device\\HarddiskVolume1\\${p}`;
  let sequence = 100n;
  const seq = new Map<number, bigint>();
  const proc = (p: Omit<ScenarioProcess, 'sequence' | 'parentSequence'>): ScenarioProcess => {
    const own = (sequence += 3n);
    // A parent's sequence number: the one of the process that holds its PID now (a reuse takes a new one).
    const parentSequence = p.ppid !== undefined ? seq.get(p.ppid) ?? 7n : undefined;
    seq.set(p.pid, own);
    return { ...p, sequence: own, ...(parentSequence !== undefined ? { parentSequence } : {}) };
  };
  const processes: ScenarioProcess[] = [
    proc({ pid: 4, image: 'System', ppid: 0, userSid: SYSTEM, commandLine: '', createTime: boot(0) }),
    proc({ pid: 520, image: nt('Windows\\System32\\wininit.exe'), ppid: 412, sessionId: 0, userSid: SYSTEM, commandLine: 'wininit.exe', createTime: boot(9) }),
    proc({ pid: 640, image: nt('Windows\\System32\\services.exe'), ppid: 520, sessionId: 0, userSid: SYSTEM, commandLine: 'C:\\Windows\\system32\\services.exe', createTime: boot(10) }),
    proc({ pid: 1020, image: nt('Windows\\System32\\svchost.exe'), ppid: 640, sessionId: 0, userSid: SYSTEM, commandLine: 'C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule', createTime: boot(20) }),
    proc({ pid: 2900, image: nt('Program Files\\Amazon\\SSM\\amazon-ssm-agent.exe'), ppid: 640, sessionId: 0, userSid: SYSTEM, commandLine: '"C:\\Program Files\\Amazon\\SSM\\amazon-ssm-agent.exe"', createTime: boot(31) }),
    proc({ pid: 2400, image: nt('Windows\\explorer.exe'), ppid: 2300, sessionId: 2, userSid: SCENARIO_USER, commandLine: 'C:\\Windows\\Explorer.EXE', createTime: boot(3600) }),
    proc({ pid: 3100, image: nt('Windows\\System32\\cmd.exe'), ppid: 1020, sessionId: 0, userSid: SYSTEM, commandLine: 'C:\\Windows\\system32\\cmd.exe /c "C:\\ops\\poll.cmd"', createTime: t(0.2), startTime: t(0.2), exitTime: t(2.6) }),
    proc({ pid: 3104, image: nt('Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe'), ppid: 3100, sessionId: 0, userSid: SYSTEM, commandLine: encodedCommand(), createTime: t(0.3), startTime: t(0.3), exitTime: t(2.5) }),
    proc({ pid: 4200, image: nt('Windows\\System32\\curl.exe'), ppid: 3104, sessionId: 0, userSid: SYSTEM, commandLine: 'curl.exe -s http://169.254.169.254/latest/meta-data/instance-id http://169.254.169.254/latest/meta-data/iam/security-credentials/', createTime: t(0.5), startTime: t(0.5), exitTime: t(1.4) }),
    proc({ pid: 5100, image: nt('Windows\\System32\\cmd.exe'), ppid: 1020, sessionId: 0, userSid: NETWORK_SERVICE, commandLine: 'C:\\Windows\\system32\\cmd.exe /c C:\\Python312\\python.exe C:\\agents\\inventory.py --once', createTime: t(1.9), startTime: t(1.9), exitTime: t(4.2) }),
    proc({ pid: 5000, image: nt('Python312\\python.exe'), ppid: 5100, sessionId: 0, userSid: NETWORK_SERVICE, commandLine: 'C:\\Python312\\python.exe C:\\agents\\inventory.py --once', createTime: t(2.0), startTime: t(2.0), exitTime: t(4.0) }),
    proc({ pid: 5000, image: nt('Program Files\\nodejs\\node.exe'), ppid: 2400, sessionId: 2, userSid: SCENARIO_USER, commandLine: '"C:\\Program Files\\nodejs\\node.exe" C:\\apps\\メタデータ\\server.js --owner=José --équipe=Café', createTime: t(6.0), startTime: t(6.0) }),
  ];
  const exitedBefore = [{ pid: 412, image: 'smss.exe' }, { pid: 2300, image: 'userinit.exe' }];

  const capture = (name: string) => loadCapture(join(repoRoot, 'fixtures', 'imds', `${name}.json`));
  const placed: { name: string; image: string; o: PlaceOptions }[] = [
    { name: 'raw-keepalive', image: 'powershell.exe', o: { start: t(0.8), cpu: 1, pid: () => 3104, portOffset: 50, pidMode } },
    { name: 'curl-v1', image: 'curl.exe', o: { start: t(1.0), cpu: 0, pid: () => 4200, portOffset: 100, pidMode } },
    { name: 'botocore-v2', image: 'amazon-ssm-agent.exe', o: { start: t(1.5), cpu: 1, pid: () => 2900, portOffset: 200, pidMode } },
    { name: 'botocore-v1-fallback', image: 'python.exe', o: { start: t(3.0), cpu: 0, pid: () => 5000, portOffset: 300, pidMode } },
    { name: 'botocore-v2', image: 'amazon-ssm-agent.exe', o: { start: t(5.0), cpu: 1, pid: () => 2900, portOffset: 400, pidMode } },
    { name: 'sdk-js-v2', image: 'node.exe', o: { start: t(7.0), cpu: 0, pid: () => 5000, portOffset: 500, pidMode } },
  ];
  const streams = placed.map(({ name, o }) => placeCapture(capture(name), o));
  const bg = take(backgroundTraffic({ start: t(0.1), rng: new Rng(15), cpus: 2, pids: [1020, 2900], gap: 40000 }), { maxPackets: 200 });
  const packets = [...mergeByTime(...streams, bg)];
  const truth = placed.flatMap(({ name, image, o }) => placedTruth(capture(name), o).map((r) => ({ ...r, image })));
  const tcpipEvents = placed.flatMap(({ name, o }) => captureTcpipEvents(capture(name), o)).sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  return { start, end: t(9), bootTime, processes, exitedBefore, packets, truth, tcpipEvents };
}

/** The image file name of a scenario process, as scan names it. */
export function scenarioImage(p: GenProcess): string {
  return fileName(p.image);
}
