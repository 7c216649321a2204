// scan(): IMDS calls per process, straight from an .etl file.
//   1. native code selects the packets of TCP connections to/from IMDS (one streaming pass);
//   2. src/imds reassembles, parses and classifies them, and attributes PIDs;
//   3. src/processes names the PIDs (process events in the trace, tasklist text, the netsh cab).
import path from 'node:path';
import { native, type Backend, type NativeScanBatch, type NativeScanSummary } from './native/binding.js';
import type { Diagnostic, TraceEvent } from './native/types.js';
import { ImdsAnalyzer } from './imds/analyze.js';
import type { ImdsNote, ImdsRequest, ImdsResult, TcpipHint } from './imds/types.js';
import { tcpipHint } from './imds/tcpip.js';
import { PROVIDERS } from './constants.js';
import {
  findCabForEtl,
  loadProcessesFile,
  loadProcessListFromCab,
  PROCESS_NAMING_PROVIDERS,
  ProcessTable,
  type ProcessList,
  type ProcessName,
} from './processes/index.js';
import { computerNameOf, EventShapeError } from './processes/trace-events.js';
import { identityOf, unattributedIdentity, type ProcessIdentity } from './processes/identity.js';
import { checkWith, readWith } from './scan-with.js';
import { fileTimeToIso } from './time.js';
import { assessCapture, type CaptureQuality } from './capture/quality.js';

export interface ScanOptions {
  /** A `tasklist /svc` text file naming PIDs. */
  processes?: string;
  /** netsh's report cabinet; by default `<name>.cab` beside `<name>.etl` is used when present. */
  cab?: string;
  /** Do not look for the cabinet beside the trace. */
  noAutoCab?: boolean;
  backend?: Backend;
  /**
   * Other traces of the same machine and time (a kernel logger or WPR trace beside the capture):
   * their process and TCPIP events join the capture's packets. A trace of another machine, boot or
   * time is refused with a TraceMismatchError.
   */
  with?: string[];
  /** Called as the file is read; return false to cancel. */
  onProgress?: (bytesDone: number, fileSize: number) => boolean | void;
}

export interface ScanRequest {
  file: string;
  time: string;
  fileTime: bigint;
  pid: number | null;
  /** The process instance that made it: the `key` of its entry in the file's processes. */
  processKey: string;
  /** That process's command line, when the trace has it (the rest of who it is: its process entry). */
  commandLine: string | null;
  tid: number | null;
  attribution: ImdsRequest['attribution'];
  image: string | null;
  services: string[];
  nameSource: ProcessName['source'] | null;
  nameConfidence: ProcessName['confidence'] | null;
  class: ImdsRequest['class'];
  method: string | null;
  path: string | null;
  /** Only the start of the path was captured; `path` is that start. */
  pathCut: boolean;
  status: number | null;
  /** Why the class is 'unknown' ("cut at 128 bytes", ...); null otherwise. */
  reason: string | null;
  endpoint: ImdsRequest['endpoint'];
  clientPort: number;
  userAgent: string | null;
  flags: string[];
  frames: number[];
  connection: number;
}

/** One process instance (a PID and a start time) that called IMDS, with who it is and what it did. */
export interface ScanProcess extends ProcessIdentity {
  file: string;
  pid: number | null;
  image: string | null;
  services: string[];
  nameSource: ProcessName['source'] | null;
  nameConfidence: ProcessName['confidence'] | null;
  v1: number;
  v2: number;
  token: number;
  unknown: number;
  /** Distinct paths (sorted), with how many requests of each class used them. */
  paths: string[];
  v1Paths: string[];
  statuses: Record<string, number>;
  attribution: Record<string, number>;
  userAgents: string[];
  firstSeen: string;
  lastSeen: string;
}

export interface FileScan {
  file: string;
  error?: { message: string; code: string };
  packets: number;
  connections: number;
  requests: ScanRequest[];
  processes: ScanProcess[];
  names: { source: string; path?: string; rows?: number; traceProcesses: number } ;
  /** How the capture was made, what it could not show, and the command that would have. */
  capture?: CaptureQuality;
  diagnostics: Diagnostic[];
  /** Notes about the IMDS analysis (printed as notes; their messages are the JSON's `warnings`). */
  warnings: ImdsNote[];
  /** The computer's name, from the system configuration events of the trace or a --with trace. */
  computerName?: string;
  /** The instance's id, from IMDS's own answer in the trace (ImdsResult.instanceId). */
  instanceId?: string;
}

export class ScanCancelled extends Error {
  constructor() {
    super('scan cancelled');
  }
}

interface SideCounts {
  processEvents: number;
  tcpipEvents: number;
  /** The first computer name the system configuration events give. */
  computerName?: string;
}

function nameEvent(e: TraceEvent, table: ProcessTable, hints: TcpipHint[], counts: SideCounts): void {
  if (counts.computerName === undefined && e.provider === PROVIDERS.eventTraceConfig) {
    try {
      counts.computerName = computerNameOf(e);
    } catch (err) {
      if (!(err instanceof EventShapeError)) throw err; // a cut CPU event names no computer
    }
  }
  if (e.provider === PROVIDERS.tcpip) {
    counts.tcpipEvents++;
    const h = tcpipHint(e);
    if (h) hints.push(h);
  } else {
    if (e.provider === PROVIDERS.processClass || e.provider === PROVIDERS.kernelProcess) counts.processEvents++;
    table.addEvent(e);
  }
}

async function nameList(file: string, options: ScanOptions): Promise<ProcessList | undefined> {
  if (options.processes) return loadProcessesFile(options.processes);
  const cab = options.cab ?? (options.noAutoCab ? undefined : await findCabForEtl(file));
  if (cab) return loadProcessListFromCab(cab);
  return undefined;
}

export async function scanFile(file: string, options: ScanOptions = {}): Promise<FileScan> {
  const table = new ProcessTable(file);
  const hints: TcpipHint[] = [];
  // Process names and joined traces first: a bad --processes, --cab or --with is the user's to fix
  // before anything is read.
  const list = await nameList(file, options);
  checkWith(file, options.with ?? []);
  // One pass: IMDS packets and the events that name their processes.
  const scan = native().scanPackets(file, { backend: options.backend, collect: PROCESS_NAMING_PROVIDERS, collectImdsOnly: [PROVIDERS.tcpip] });
  const analyzer = new ImdsAnalyzer({ file });
  const diagnostics: Diagnostic[] = [];
  let progress = { done: 0, size: 0 };
  const counts: SideCounts = { processEvents: 0, tcpipEvents: 0 };
  let packets = 0;
  let summary: NativeScanSummary | undefined;
  // The next batch is read (natively, off this thread) while this one is analysed. At most 1024
  // IMDS packets a batch: the packets of a batch and the next one are all alive at once, and with
  // 4096 the young generation grew to its cap (2 GB trace: 136 -> 120 MiB peak RSS).
  let ahead: Promise<NativeScanBatch> | undefined = scan.next(1024);
  try {
    for (;;) {
      const b: NativeScanBatch = await ahead!;
      ahead = b.done ? undefined : scan.next(1024);
      diagnostics.push(...b.diagnostics);
      for (const p of b.packets) analyzer.push(p);
      for (const e of b.events) nameEvent(e, table, hints, counts);
      packets += b.packets.length;
      progress = { done: b.bytesDone, size: b.fileSize };
      if (options.onProgress && options.onProgress(b.bytesDone, b.fileSize) === false) throw new ScanCancelled();
      if (b.done) break;
    }
    summary = scan.summary();
  } finally {
    // A batch still being read must land before the scan can be closed; its outcome no longer matters.
    if (ahead) await ahead.catch(() => undefined);
    scan.close();
  }
  for (const other of options.with ?? []) {
    const more = await readWith(
      other,
      [...PROCESS_NAMING_PROVIDERS, PROVIDERS.tcpip],
      (e) => nameEvent(e, table, hints, counts),
      () => !options.onProgress || options.onProgress(progress.done, progress.size) !== false,
    );
    diagnostics.push(...more);
    if (options.onProgress && options.onProgress(progress.done, progress.size) === false) throw new ScanCancelled();
  }
  for (const h of hints) analyzer.addHint(h);
  const result: ImdsResult = analyzer.finish();
  if (list) table.addTasklist(list.rows, list.source);
  // A wrapped circular file misses packets from before it is complete: requests from then may be partial.
  const completeFrom = summary!.capture.wrapped ? summary!.capture.completeFrom : 0n;
  for (const r of result.requests) if (r.time < completeFrom) r.flags = [...r.flags, 'before-coverage'].sort() as ImdsRequest['flags'];

  const identities = new Map<string, ProcessIdentity>();
  const requests = result.requests.map((r): ScanRequest => {
    const name = r.pid !== null ? table.nameFor(r.pid, r.time) : undefined;
    const key = r.pid === null ? '?' : name?.key ?? String(r.pid);
    // Who the process is, worked out once per instance.
    let identity = identities.get(key);
    if (!identity) identities.set(key, (identity = r.pid === null ? unattributedIdentity() : identityOf(table, r.pid, name)));
    return {
      file,
      time: fileTimeToIso(r.time),
      fileTime: r.time,
      pid: r.pid,
      processKey: key,
      commandLine: identity.commandLine,
      tid: r.tid,
      attribution: r.attribution,
      image: name?.image ?? null,
      services: name?.services ?? [],
      nameSource: name?.source ?? null,
      nameConfidence: name?.confidence ?? null,
      class: r.class,
      method: r.method,
      path: r.path,
      pathCut: r.pathCut,
      status: r.status,
      reason: r.reason,
      endpoint: r.endpoint,
      clientPort: r.clientPort,
      userAgent: r.userAgent,
      flags: r.flags,
      frames: r.frames,
      connection: r.connection,
    };
  });
  const names = {
    source: list ? list.source : 'trace',
    path: list?.path,
    rows: list?.rows.length,
    // Names are only looked at when there is something to name.
    traceProcesses: packets > 0 ? table.tracedPids().length : 0,
  };
  const capture = assessCapture({
    header: summary!.header,
    native: summary!.capture,
    imds: result.stats,
    requests: requests.length,
    requestsWithoutPid: requests.filter((r) => r.pid === null).length,
    processEvents: counts.processEvents,
    tcpipEvents: counts.tcpipEvents,
    names,
  });
  return {
    file,
    packets,
    connections: result.connections,
    requests,
    processes: perProcess(requests, identities),
    names,
    capture,
    diagnostics,
    warnings: result.warnings,
    ...(counts.computerName !== undefined ? { computerName: counts.computerName } : {}),
    ...(result.instanceId !== null ? { instanceId: result.instanceId } : {}),
  };
}

/**
 * Requests grouped by the process instance that made them (`processKey`), worst first: IMDSv1
 * callers, then by volume. `identities` gives who each instance is (by key); without it, only
 * what the requests themselves say is known.
 */
export function perProcess(requests: ScanRequest[], identities: ReadonlyMap<string, ProcessIdentity> = new Map()): ScanProcess[] {
  const by = new Map<string, { p: ScanProcess; first: bigint; last: bigint; paths: Set<string>; v1Paths: Set<string>; ua: Set<string> }>();
  for (const r of requests) {
    const key = `${r.file}\0${r.processKey}`;
    let x = by.get(key);
    if (!x) {
      const identity = identities.get(r.processKey) ?? { ...unattributedIdentity(), key: r.processKey };
      x = {
        p: {
          file: r.file,
          pid: r.pid,
          image: r.image,
          services: r.services,
          nameSource: r.nameSource,
          nameConfidence: r.nameConfidence,
          ...identity,
          v1: 0,
          v2: 0,
          token: 0,
          unknown: 0,
          paths: [],
          v1Paths: [],
          statuses: {},
          attribution: {},
          userAgents: [],
          firstSeen: r.time,
          lastSeen: r.time,
        },
        first: r.fileTime,
        last: r.fileTime,
        paths: new Set(),
        v1Paths: new Set(),
        ua: new Set(),
      };
      by.set(key, x);
    }
    const p = x.p;
    p[r.class]++;
    // A path the capture cut off shows as its start and an ellipsis.
    const path = r.path === null ? null : r.pathCut ? `${r.path}…` : r.path;
    if (path !== null) x.paths.add(path);
    if (r.class === 'v1' && path !== null) x.v1Paths.add(path);
    const st = r.status === null ? 'none' : String(r.status);
    p.statuses[st] = (p.statuses[st] ?? 0) + 1;
    p.attribution[r.attribution] = (p.attribution[r.attribution] ?? 0) + 1;
    if (r.userAgent) x.ua.add(r.userAgent);
    if (r.fileTime < x.first) {
      x.first = r.fileTime;
      p.firstSeen = r.time;
    }
    if (r.fileTime > x.last) {
      x.last = r.fileTime;
      p.lastSeen = r.time;
    }
  }
  const out = [...by.values()].map((x) => ({ ...x.p, paths: [...x.paths].sort(), v1Paths: [...x.v1Paths].sort(), userAgents: [...x.ua].sort() }));
  // Worst first: v1 callers, then by volume; a PID's instances oldest first.
  return out.sort(
    (a, b) =>
      b.v1 - a.v1 ||
      b.v1 + b.v2 + b.token + b.unknown - (a.v1 + a.v2 + a.token + a.unknown) ||
      (a.pid ?? -1) - (b.pid ?? -1) ||
      (a.firstSeen < b.firstSeen ? -1 : a.firstSeen > b.firstSeen ? 1 : 0),
  );
}

export interface ScanSummary {
  files: number;
  filesWithErrors: number;
  v1: number;
  v2: number;
  token: number;
  unknown: number;
  processesUsingV1: number;
}

export function summarize(files: FileScan[]): ScanSummary {
  const s: ScanSummary = { files: files.length, filesWithErrors: 0, v1: 0, v2: 0, token: 0, unknown: 0, processesUsingV1: 0 };
  for (const f of files) {
    if (f.error) s.filesWithErrors++;
    for (const p of f.processes) {
      s.v1 += p.v1;
      s.v2 += p.v2;
      s.token += p.token;
      s.unknown += p.unknown;
      if (p.v1 > 0) s.processesUsingV1++;
    }
  }
  return s;
}

/** Display name of a file relative to the working directory. */
export function displayPath(f: string): string {
  const r = path.relative(process.cwd(), f);
  return r && !r.startsWith('..') ? r : f;
}
