// Generated netsh and pktmon traces in which chosen processes make the real-client IMDS exchanges of
// fixtures/imds (curl without a token, curl's token PUT and v2 GET, ...), spread over time with
// background traffic between them so that they land in different buffers. Shared by the
// still-being-written tests and the check of the windows-latest capture job's assertion script.
import path from 'node:path';
import {
  backgroundTraffic,
  DEFAULT_START,
  FILETIME_SECOND,
  loadCapture,
  mergeByTime,
  placeCapture,
  placedTruth,
  Rng,
  take,
  writeNetshEtl,
  writePktmonEtl,
  type GenPacket,
  type TruthRequest,
} from '../../tools/gen/index.js';
import { repoRoot } from './fixtures.js';

export interface Caller {
  /** A capture in fixtures/imds, e.g. 'curl-v1'. */
  capture: string;
  /** Seconds after the trace starts. */
  at: number;
  /** The PID in the trace for each PID of the capture (default: unchanged). */
  pids?: Record<number, number>;
}

export interface CallersTrace {
  file: string;
  /** Every request, with the PIDs as they appear in the trace, callers in the order given. */
  truth: TruthRequest[];
}

/**
 * Writes `file` in netsh (512 KiB buffers, or `bufferSize`) or pktmon (compressed) form.
 * `backgroundBytes` of other traffic is spread between the callers (default 1 MiB).
 */
export async function writeCallersTrace(
  file: string,
  form: 'netsh' | 'pktmon',
  callers: Caller[],
  options: { backgroundBytes?: number; bufferSize?: number } = {},
): Promise<CallersTrace> {
  const streams: GenPacket[][] = [];
  const truth: TruthRequest[] = [];
  let portOffset = 0;
  const last = Math.max(...callers.map((c) => c.at));
  for (const c of callers) {
    const loaded = loadCapture(path.join(repoRoot, 'fixtures', 'imds', `${c.capture}.json`));
    const o = {
      start: DEFAULT_START + BigInt(Math.round(c.at * 1000)) * (FILETIME_SECOND / 1000n),
      // One CPU: buffers are then written in time order, so a file cut anywhere holds a prefix in time.
      cpu: 0,
      pid: (p: number) => c.pids?.[p] ?? p,
      portOffset,
    };
    portOffset += 1000;
    streams.push(placeCapture(loaded, o));
    truth.push(...placedTruth(loaded, o));
  }
  const background = take(backgroundTraffic({ rng: new Rng(1414), start: DEFAULT_START, cpus: 1, gap: Math.max(2000, Math.round((last + 1) * 1e7 / 2000)) }), {
    maxBytes: options.backgroundBytes ?? 1 << 20,
  });
  const packets = [...mergeByTime(...streams, background)];
  const common = { startTime: DEFAULT_START - FILETIME_SECOND, numberOfProcessors: 1 };
  if (form === 'netsh') await writeNetshEtl(file, packets, { ...common, bufferSize: options.bufferSize ?? 64 * 1024 });
  else await writePktmonEtl(file, packets, { ...common, fillSize: options.bufferSize ?? 64 * 1024 });
  return { file, truth };
}
