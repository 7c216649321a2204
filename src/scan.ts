// scan(): IMDS calls per process, straight from an .etl file.
//   1. native code selects the packets of TCP connections to/from IMDS (one streaming pass);
//   2. src/imds reassembles, parses and classifies them, and attributes PIDs;
//   3. src/processes names the PIDs (process events in the trace, tasklist text, the netsh cab).
import path from 'node:path';
import { native, type Backend, type NativeScanBatch } from './native/binding.js';
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
import { fileTimeToIso } from './time.js';

export interface ScanOptions {
  /** A `tasklist /svc` text file naming PIDs. */
  processes?: string;
  /** netsh's report cabinet; by default `<name>.cab` beside `<name>.etl` is used when present. */
  cab?: string;
  /** Do not look for the cabinet beside the trace. */
  noAutoCab?: boolean;
  backend?: Backend;
  /** Called as the file is read; return false to cancel. */
  onProgress?: (bytesDone: number, fileSize: number) => boolean | void;
}

export interface ScanRequest {
  file: string;
  time: string;
  fileTime: bigint;
  pid: number | null;
  tid: number | null;
  attribution: ImdsRequest['attribution'];
  image: string | null;
  services: string[];
  nameSource: ProcessName['source'] | null;
  nameConfidence: ProcessName['confidence'] | null;
  class: ImdsRequest['class'];
  method: string | null;
  path: string | null;
  status: number | null;
  endpoint: ImdsRequest['endpoint'];
  clientPort: number;
  userAgent: string | null;
  flags: string[];
  frames: number[];
  connection: number;
}

export interface ScanProcess {
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
  diagnostics: Diagnostic[];
  /** Notes about the IMDS analysis (printed as notes; their messages are the JSON's `warnings`). */
  warnings: ImdsNote[];
}

export class ScanCancelled extends Error {
  constructor() {
    super('scan cancelled');
  }
}

function nameEvent(e: TraceEvent, table: ProcessTable, hints: TcpipHint[]): void {
  if (e.provider === PROVIDERS.tcpip) {
    const h = tcpipHint(e);
    if (h) hints.push(h);
  } else {
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
  // Process names first: a bad --processes/--cab is the user's to fix before anything is read.
  const list = await nameList(file, options);
  // One pass: IMDS packets and the events that name their processes.
  const scan = native().scanPackets(file, { backend: options.backend, collect: PROCESS_NAMING_PROVIDERS, collectImdsOnly: [PROVIDERS.tcpip] });
  const analyzer = new ImdsAnalyzer({ file });
  const diagnostics: Diagnostic[] = [];
  let packets = 0;
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
      for (const e of b.events) nameEvent(e, table, hints);
      packets += b.packets.length;
      if (options.onProgress && options.onProgress(b.bytesDone, b.fileSize) === false) throw new ScanCancelled();
      if (b.done) break;
    }
  } finally {
    // A batch still being read must land before the scan can be closed; its outcome no longer matters.
    if (ahead) await ahead.catch(() => undefined);
    scan.close();
  }
  for (const h of hints) analyzer.addHint(h);
  const result: ImdsResult = analyzer.finish();
  if (list) table.addTasklist(list.rows, list.source);

  const requests = result.requests.map((r): ScanRequest => {
    const name = r.pid !== null ? table.nameFor(r.pid, r.time) : undefined;
    return {
      file,
      time: fileTimeToIso(r.time),
      fileTime: r.time,
      pid: r.pid,
      tid: r.tid,
      attribution: r.attribution,
      image: name?.image ?? null,
      services: name?.services ?? [],
      nameSource: name?.source ?? null,
      nameConfidence: name?.confidence ?? null,
      class: r.class,
      method: r.method,
      path: r.path,
      status: r.status,
      endpoint: r.endpoint,
      clientPort: r.clientPort,
      userAgent: r.userAgent,
      flags: r.flags,
      frames: r.frames,
      connection: r.connection,
    };
  });
  return {
    file,
    packets,
    connections: result.connections,
    requests,
    processes: perProcess(requests),
    names: {
      source: list ? list.source : 'trace',
      path: list?.path,
      rows: list?.rows.length,
      // Names are only looked at when there is something to name.
      traceProcesses: packets > 0 ? table.tracedPids().length : 0,
    },
    diagnostics,
    warnings: result.warnings,
  };
}

export function perProcess(requests: ScanRequest[]): ScanProcess[] {
  const by = new Map<string, { p: ScanProcess; first: bigint; last: bigint; paths: Set<string>; v1Paths: Set<string>; ua: Set<string> }>();
  for (const r of requests) {
    const key = `${r.file}\0${r.pid ?? '-'}\0${r.image ?? ''}`;
    let x = by.get(key);
    if (!x) {
      x = {
        p: {
          file: r.file,
          pid: r.pid,
          image: r.image,
          services: r.services,
          nameSource: r.nameSource,
          nameConfidence: r.nameConfidence,
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
    if (r.path !== null) x.paths.add(r.path);
    if (r.class === 'v1' && r.path !== null) x.v1Paths.add(r.path);
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
  // Worst first: v1 callers, then by volume.
  return out.sort((a, b) => b.v1 - a.v1 || b.v1 + b.v2 + b.token + b.unknown - (a.v1 + a.v2 + a.token + a.unknown) || (a.pid ?? -1) - (b.pid ?? -1));
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
