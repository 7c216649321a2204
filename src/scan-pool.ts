// scanFiles(): many traces at once, one scanner per CPU (this thread and worker threads). Each
// scanner runs scanFile() on whole files (its own native reader and analyzer), so the result of a
// file is the same as a one-by-one scan; results come back in input order.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { usableCpus } from './cpu-limit.js';
import { Worker } from 'node:worker_threads';
import { scanFile, ScanCancelled, type FileScan, type ScanOptions } from './scan.js';

export interface ScanFilesOptions extends Omit<ScanOptions, 'onProgress'> {
  /** Files scanned at the same time (default: the number of CPUs). 1 = one after the other, in this thread. */
  jobs?: number;
  /** Progress of one file; return false to cancel everything. */
  onProgress?: (index: number, bytesDone: number, fileSize: number) => boolean | void;
  /**
   * Called as soon as the outcome of file `index` is known (not necessarily in order). With it,
   * scanFiles() keeps no outcomes itself (a fleet's results would all stay in memory) and
   * returns an empty array.
   */
  onOutcome?: (index: number, outcome: ScanOutcome) => void;
}

/** What went wrong with one file, in a form that crosses threads. */
export interface ScanFailure {
  message: string;
  code?: string;
  /** A TypeError (bad options), a cancellation, or anything else. */
  kind: 'type' | 'cancelled' | 'error';
}

export type ScanOutcome = { ok: true; scan: FileScan } | { ok: false; error: ScanFailure };

export function failureOf(e: unknown): ScanFailure {
  if (e instanceof ScanCancelled) return { message: e.message, kind: 'cancelled' };
  const err = e as { message?: string; code?: unknown };
  return {
    message: err?.message ?? String(e),
    code: typeof err?.code === 'string' ? err.code : undefined,
    kind: e instanceof TypeError ? 'type' : 'error',
  };
}

/** scanFile() of one file, its failure (if any) in a form that crosses threads. */
export async function scanOutcome(file: string, options: Omit<ScanOptions, 'onProgress'>, onProgress: ScanOptions['onProgress']): Promise<ScanOutcome> {
  try {
    return { ok: true, scan: await scanFile(file, { ...options, onProgress }) };
  } catch (e) {
    return { ok: false, error: failureOf(e) };
  }
}

/** One scanner per usable CPU (a container's CPU quota counts: see cpu-limit.ts). */
export function defaultJobs(): number {
  return usableCpus();
}

// The worker script sits beside this module once compiled (dist/); from the TypeScript sources
// (tests) there is none, and files are scanned in this thread instead. The single-file executable
// (src/exe) has no script on disk to trust: it hands over the worker's code instead.
const workerUrl = new URL('./scan-worker.js', import.meta.url);
let workerCode: { code: string; workerData: unknown } | undefined;
export function useWorkerCode(code: string, workerData: unknown): void {
  workerCode = { code, workerData };
}
export function workersAvailable(): boolean {
  return workerCode !== undefined || (workerUrl.protocol === 'file:' && existsSync(fileURLToPath(workerUrl)));
}

// Message protocol (main ⇄ worker).
// A worker is given every file and the shared claim counter once; it then claims files until
// none are left, says which one it took (so a crash can be pinned on a file), and reports each
// outcome as it comes.
export type ToWorker =
  | { type: 'start'; files: string[]; counter: SharedArrayBuffer; options: Omit<ScanOptions, 'onProgress'> }
  | { type: 'cancel' };
export type FromWorker =
  | { type: 'claimed'; index: number }
  | { type: 'progress'; index: number; done: number; total: number }
  | { type: 'outcome'; index: number; outcome: ScanOutcome }
  | { type: 'finished' };

export async function scanFiles(files: string[], options: ScanFilesOptions = {}): Promise<ScanOutcome[]> {
  const { jobs: wanted, onProgress, onOutcome, ...scanOptions } = options;
  const jobs = Math.max(1, Math.min(wanted ?? defaultJobs(), files.length));
  const outcomes: ScanOutcome[] = onOutcome ? [] : new Array(files.length);
  const settled = new Uint8Array(files.length);
  let cancelled = false;
  const settle = (i: number, o: ScanOutcome) => {
    settled[i] = 1;
    if (onOutcome) onOutcome(i, o);
    else outcomes[i] = o;
  };

  // Scanners claim the next file themselves from a counter shared by all threads: a worker that
  // finishes a file starts the next one at once, without waiting for this thread (busy with its
  // own scan) to hand it out. Files are taken in input order: the caller reports results in that
  // order and holds those that come early (largest first, tried, kept every big file's results
  // in memory until the small ones before it were done).
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const claim = (): number => {
    if (cancelled) return -1;
    const index = Atomics.add(counter, 0, 1);
    return index < files.length ? index : -1;
  };
  const workers: Worker[] = [];
  await new Promise<void>((resolve, reject) => {
    let scanning = 0; // scanners (threads) not yet out of files
    const claimed = new Map<Worker, number>();
    const cancelAll = () => {
      cancelled = true;
      Atomics.store(counter, 0, files.length);
      for (const x of workers) x.postMessage({ type: 'cancel' } satisfies ToWorker);
    };
    const scannerDone = () => {
      if (--scanning > 0) return;
      // Files never started because of a cancel.
      for (let i = 0; i < files.length; i++) if (!settled[i]) settle(i, { ok: false, error: { message: 'scan cancelled', kind: 'cancelled' } });
      resolve();
    };
    const settleOne = (i: number, o: ScanOutcome) => {
      if (!o.ok && o.error.kind === 'cancelled') cancelled = true;
      settle(i, o);
    };
    // This thread is one of the `jobs` scanners (it would only wait otherwise): one worker fewer
    // to start, and one JIT warm-up fewer. With --jobs 1, or without the compiled worker script
    // (tests run from the sources), it is the only one.
    const workerCount = workersAvailable() ? jobs - 1 : 0;
    scanning = workerCount + 1;
    for (let k = 0; k < workerCount; k++) {
      // A worker's young generation may grow to 48 MiB by default (V8's sizing for a whole
      // process); a scanner's garbage is short-lived batch objects, and 12 MiB costs it no speed
      // (48 traces: 1.64 s either way) but keeps about 20 MiB per worker off the peak RSS.
      const resourceLimits = { maxYoungGenerationSizeMb: 12 };
      const w = workerCode
        ? new Worker(workerCode.code, { eval: true, workerData: workerCode.workerData, resourceLimits })
        : new Worker(workerUrl, { resourceLimits });
      workers.push(w);
      w.on('message', (m: FromWorker) => {
        if (m.type === 'progress') {
          if (onProgress?.(m.index, m.done, m.total) === false && !cancelled) cancelAll();
        } else if (m.type === 'claimed') {
          claimed.set(w, m.index);
        } else if (m.type === 'outcome') {
          claimed.delete(w);
          settleOne(m.index, m.outcome);
        } else {
          scannerDone();
        }
      });
      w.on('error', (e) => reject(e));
      w.on('exit', (code) => {
        const index = claimed.get(w);
        if (index !== undefined) reject(new Error(`${files[index]}: scan worker stopped with exit code ${code}`));
      });
      w.postMessage({ type: 'start', files, counter: counter.buffer as SharedArrayBuffer, options: scanOptions } satisfies ToWorker);
    }
    void (async () => {
      for (let index = claim(); index >= 0; index = claim()) {
        const outcome = await scanOutcome(files[index]!, scanOptions, (done, total) => {
          if (onProgress?.(index, done, total) === false && !cancelled) cancelAll();
          return !cancelled;
        });
        settleOne(index, outcome);
      }
      scannerDone();
    })().catch(reject);
  }).finally(async () => {
    await Promise.all(workers.map((w) => w.terminate()));
  });
  return outcomes;
}

