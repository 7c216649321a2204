// `etl-imds report`: many instances' NDJSON (scan --ndjson, capture stop --ndjson; an S3 prefix
// synced locally) merged into one fleet table, one row per image + command line
// (README, Across a fleet, step 8).
//
// Memory does not grow with the number of instances: sums, statuses and first/last times add up
// per row as the lines stream by; only the count of distinct instances per row needs to remember
// which instances it has seen. Those (row, instance) pairs are kept in a set up to a memory bound,
// then sorted and written to a temporary file; at the end the sorted runs are merged and each
// distinct pair is counted once. What stays in memory is the table itself, one entry per row.
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { Spool } from '../cli/spool.js';

export interface ReportRow {
  image: string | null;
  commandLine: string | null;
  /** Distinct instances (instanceId, else host, else the NDJSON file) with this image and command line. */
  instances: number;
  /** Process instances (process lines) merged into the row. */
  processes: number;
  v1: number;
  v2: number;
  token: number;
  unknown: number;
  statuses: Record<string, number>;
  firstSeen: string;
  lastSeen: string;
}

export interface ReportSummary {
  /** NDJSON files read. */
  files: number;
  /** Lines read, and those skipped because they are not an etl-imds NDJSON line. */
  lines: number;
  skippedLines: number;
  /** Scanned traces (file lines) and those scan could not read. */
  traces: number;
  tracesWithErrors: number;
  /** Distinct instances seen on any line, and those with at least one IMDSv1 request. */
  instances: number;
  instancesWithV1: number;
  processes: number;
  v1: number;
  v2: number;
  token: number;
  unknown: number;
}

/** A line that is not what report reads, with where it is. */
export interface SkippedLine {
  file: string;
  line: number;
  reason: string;
}

// The longest line accepted: a file without line ends (a binary file given by mistake) is not
// read into memory whole.
const MAX_LINE = 64 * 1024 * 1024;

/** How etl-imds writes a request line (the type first). */
const REQUEST_LINE = '{"type":"request"';

/** Bytes of (row, instance) pairs kept in memory before a sorted run goes to a temporary file. */
function defaultPairBytes(): number {
  const v = Number(process.env.ETL_IMDS_REPORT_PAIR_BYTES);
  return Number.isFinite(v) && v > 0 ? v : 8 * 1024 * 1024;
}

/** Distinct strings, counted without keeping them all in memory: sorted runs merged at the end. */
export class DistinctStrings {
  private set = new Set<string>();
  private bytes = 0;
  private readonly runs: Spool[] = [];
  private spills = 0;

  constructor(private readonly limitBytes = defaultPairBytes()) {}

  add(s: string): void {
    if (this.set.has(s)) return;
    this.set.add(s);
    // A string's UTF-16 units plus the set's own overhead per entry (measured: about 50 bytes).
    this.bytes += 2 * s.length + 64;
    if (this.bytes > this.limitBytes) this.spill();
  }

  /** Sorted runs written so far (for tests). */
  get spilled(): number {
    return this.spills;
  }

  /** Every distinct string once (sorted when any run was written). */
  *values(): Generator<string> {
    if (this.runs.length === 0) {
      yield* this.set;
      return;
    }
    if (this.set.size) this.spill();
    yield* this.merged();
  }

  close(): void {
    for (const r of this.runs) r.close();
    this.runs.length = 0;
    this.set.clear();
  }

  private spill(): void {
    const sorted = [...this.set].sort();
    this.set.clear();
    this.bytes = 0;
    this.spills++;
    this.runs.push(written(sorted));
    // Few runs open at once (each is a temporary file): past MAX_RUNS they are merged into one.
    if (this.runs.length >= MAX_RUNS) {
      const merged = written(this.merged());
      for (const r of this.runs) r.close();
      this.runs.length = 0;
      this.runs.push(merged);
    }
  }

  /** The runs' strings in order, each once. */
  private *merged(): Generator<string> {
    // Small reads: the lines of every run's current piece are alive at once.
    const heads = this.runs.map((r) => r.lines(64 * 1024));
    const current: (string | undefined)[] = heads.map((h) => next(h));
    let last: string | undefined;
    for (;;) {
      let min = -1;
      for (let i = 0; i < current.length; i++) if (current[i] !== undefined && (min < 0 || current[i]! < current[min]!)) min = i;
      if (min < 0) return;
      const v = current[min]!;
      current[min] = next(heads[min]!);
      if (v !== last) yield v;
      last = v;
    }
  }
}

const MAX_RUNS = 8;

/** Sorted strings in a temporary file, one a line. */
function written(sorted: Iterable<string>): Spool {
  const run = new Spool(0);
  let part: string[] = [];
  for (const v of sorted) {
    part.push(v);
    if (part.length === 512) {
      run.write(part.join('\n') + '\n');
      part = [];
    }
  }
  if (part.length) run.write(part.join('\n') + '\n');
  return run;
}

function next(g: Generator<string>): string | undefined {
  const r = g.next();
  return r.done ? undefined : r.value;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isTime = (v: unknown): v is string => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(v);
const isText = (v: unknown): v is string | null => v === null || typeof v === 'string';

export class FleetReport {
  readonly summary: ReportSummary = {
    files: 0, lines: 0, skippedLines: 0, traces: 0, tracesWithErrors: 0, instances: 0, instancesWithV1: 0,
    processes: 0, v1: 0, v2: 0, token: 0, unknown: 0,
  };
  private readonly groupIds = new Map<string, number>();
  private readonly groups: ReportRow[] = [];
  private readonly pairs: DistinctStrings;
  private readonly buffer = Buffer.allocUnsafe(1 << 20);
  /** Instance pairs of the summary already added for the file being read (usually one instance a file). */
  private readonly seenInFile = new Set<string>();

  constructor(
    /** Called for each line that is skipped (not JSON, not an etl-imds line). */
    private readonly onSkip: (s: SkippedLine) => void = () => {},
    pairBytes?: number,
  ) {
    this.pairs = new DistinctStrings(pairBytes);
  }

  /** Reads one NDJSON file, line by line, a megabyte at a time. */
  addFile(file: string): void {
    this.summary.files++;
    this.seenInFile.clear();
    const fd = openSync(file, 'r');
    try {
      const decoder = new StringDecoder('utf8');
      let rest = '';
      let lineNo = 0;
      let first = true;
      for (;;) {
        const n = readSync(fd, this.buffer, 0, this.buffer.length, null);
        let text = rest + (n > 0 ? decoder.write(this.buffer.subarray(0, n)) : decoder.end());
        if (first) {
          text = text.replace(/^\uFEFF/, '');
          first = false;
        }
        let start = 0;
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
          ++lineNo;
          // Request lines are most of the lines and report needs nothing from them: not even copied.
          if (text.startsWith(REQUEST_LINE, start)) this.summary.lines++;
          else this.addLine(text.slice(start, nl), file, lineNo);
          start = nl + 1;
        }
        rest = text.slice(start);
        if (rest.length > MAX_LINE) throw new ReportInputError(`${file}: line ${lineNo + 1} is longer than ${MAX_LINE / (1024 * 1024)} MiB: not NDJSON`);
        if (n <= 0) break;
      }
      if (rest) this.addLine(rest, file, ++lineNo);
    } finally {
      closeSync(fd);
    }
  }

  /** One line of NDJSON from `source` (the file, for instances that are not named otherwise). */
  addLine(raw: string, source: string, lineNo: number): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    this.summary.lines++;
    if (line.startsWith(REQUEST_LINE)) return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      return this.skip(source, lineNo, `not JSON (${(e as Error).message})`);
    }
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return this.skip(source, lineNo, 'not a JSON object');
    if (!isText(o.host) || !isText(o.instanceId)) return this.skip(source, lineNo, 'host and instanceId must be strings or null');
    const instance = JSON.stringify(o.instanceId ?? o.host ?? `file:${source}`);
    if (o.type === 'request') return;
    if (o.type === 'file') {
      this.summary.traces++;
      if (o.error) this.summary.tracesWithErrors++;
      this.addOnce(`A\t${instance}`);
      return;
    }
    if (o.type !== 'process') return this.skip(source, lineNo, `type ${JSON.stringify(o.type)} is not process, request or file`);
    const { image, commandLine, v1, v2, token, unknown, statuses, firstSeen, lastSeen } = o;
    if (!isText(image) || !isText(commandLine)) return this.skip(source, lineNo, 'image and commandLine must be strings or null');
    if (!isCount(v1) || !isCount(v2) || !isCount(token) || !isCount(unknown)) return this.skip(source, lineNo, 'v1, v2, token and unknown must be counts');
    if (!isTime(firstSeen) || !isTime(lastSeen)) return this.skip(source, lineNo, 'firstSeen and lastSeen must be ISO times');
    if (statuses === null || typeof statuses !== 'object' || Array.isArray(statuses) || !Object.values(statuses).every(isCount)) {
      return this.skip(source, lineNo, 'statuses must map statuses to counts');
    }
    const key = JSON.stringify([image, commandLine]);
    let id = this.groupIds.get(key);
    if (id === undefined) {
      id = this.groups.length;
      this.groupIds.set(key, id);
      this.groups.push({ image, commandLine, instances: 0, processes: 0, v1: 0, v2: 0, token: 0, unknown: 0, statuses: {}, firstSeen, lastSeen });
    }
    const g = this.groups[id]!;
    g.processes++;
    g.v1 += v1;
    g.v2 += v2;
    g.token += token;
    g.unknown += unknown;
    for (const [k, n] of Object.entries(statuses as Record<string, number>)) g.statuses[k] = (g.statuses[k] ?? 0) + n;
    if (firstSeen < g.firstSeen) g.firstSeen = firstSeen;
    if (lastSeen > g.lastSeen) g.lastSeen = lastSeen;
    const s = this.summary;
    s.processes++;
    s.v1 += v1;
    s.v2 += v2;
    s.token += token;
    s.unknown += unknown;
    this.pairs.add(`${id}\t${instance}`);
    this.addOnce(`A\t${instance}`);
    if (v1 > 0) this.addOnce(`V\t${instance}`);
  }

  private addOnce(pair: string): void {
    if (this.seenInFile.has(pair)) return;
    if (this.seenInFile.size > 64) this.seenInFile.clear();
    this.seenInFile.add(pair);
    this.pairs.add(pair);
  }

  /**
   * The rows, IMDSv1 callers first, then by the number of instances and of v1 requests; and the
   * summary's instance counts. Call once, after the last line.
   */
  rows(): ReportRow[] {
    try {
      for (const p of this.pairs.values()) {
        const tab = p.indexOf('\t');
        const id = p.slice(0, tab);
        if (id === 'A') this.summary.instances++;
        else if (id === 'V') this.summary.instancesWithV1++;
        else this.groups[Number(id)]!.instances++;
      }
    } finally {
      this.pairs.close();
    }
    return this.groups.sort(
      (a, b) =>
        Number(b.v1 > 0) - Number(a.v1 > 0) || b.instances - a.instances || b.v1 - a.v1 || b.processes - a.processes ||
        cmp(a.image, b.image) || cmp(a.commandLine, b.commandLine),
    );
  }

  close(): void {
    this.pairs.close();
  }

  private skip(file: string, line: number, reason: string): void {
    this.summary.skippedLines++;
    this.onSkip({ file, line, reason });
  }
}

function cmp(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/** An input report cannot read at all (as opposed to a line it skips). */
export class ReportInputError extends Error {}
