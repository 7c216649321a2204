// scanFiles(): many traces at once, one worker thread per CPU. Each worker runs scanFile() on
// whole files (its own native reader and analyzer), so the result of a file is the same as a
// one-by-one scan; results come back in input order.
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { scanFile, ScanCancelled, type FileScan, type ScanOptions } from './scan.js';

export interface ScanFilesOptions extends Omit<ScanOptions, 'onProgress'> {
  /** Files scanned at the same time (default: the number of CPUs). 1 = one after the other, in this thread. */
  jobs?: number;
  /** Progress of one file; return false to cancel everything. */
  onProgress?: (index: number, bytesDone: number, fileSize: number) => boolean | void;
  /** Called as soon as the outcome of file `index` is known (not necessarily in order). */
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

export function defaultJobs(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

// The worker script sits beside this module once compiled (dist/); from the TypeScript sources
// (tests) there is none, and files are scanned in this thread instead.
const workerUrl = new URL('./scan-worker.js', import.meta.url);
export function workersAvailable(): boolean {
  return workerUrl.protocol === 'file:' && existsSync(fileURLToPath(workerUrl));
}

// Message protocol (main ⇄ worker).
export type ToWorker = { type: 'scan'; index: number; file: string; options: Omit<ScanOptions, 'onProgress'> } | { type: 'cancel' } | { type: 'exit' };
export type FromWorker =
  | { type: 'progress'; index: number; done: number; total: number }
  | { type: 'outcome'; index: number; outcome: ScanOutcome };

export async function scanFiles(files: string[], options: ScanFilesOptions = {}): Promise<ScanOutcome[]> {
  const { jobs: wanted, onProgress, onOutcome, ...scanOptions } = options;
  const jobs = Math.max(1, Math.min(wanted ?? defaultJobs(), files.length));
  const outcomes: ScanOutcome[] = new Array(files.length);
  let cancelled = false;
  const settle = (i: number, o: ScanOutcome) => {
    outcomes[i] = o;
    onOutcome?.(i, o);
  };

  if (jobs === 1 || !workersAvailable()) {
    for (let i = 0; i < files.length; i++) {
      if (cancelled) {
        settle(i, { ok: false, error: { message: 'scan cancelled', kind: 'cancelled' } });
        continue;
      }
      try {
        const scan = await scanFile(files[i]!, {
          ...scanOptions,
          onProgress: (done, total) => {
            if (onProgress?.(i, done, total) === false) cancelled = true;
            return !cancelled;
          },
        });
        settle(i, { ok: true, scan });
      } catch (e) {
        const f = failureOf(e);
        if (f.kind === 'cancelled') cancelled = true;
        settle(i, { ok: false, error: f });
      }
    }
    return outcomes;
  }

  let next = 0;
  const workers: Worker[] = [];
  await new Promise<void>((resolve, reject) => {
    let running = 0;
    const busy = new Map<Worker, number>();
    const feed = (w: Worker): boolean => {
      if (cancelled || next >= files.length) return false;
      const index = next++;
      running++;
      busy.set(w, index);
      w.postMessage({ type: 'scan', index, file: files[index]!, options: scanOptions } satisfies ToWorker);
      return true;
    };
    const cancelAll = () => {
      cancelled = true;
      for (const x of workers) x.postMessage({ type: 'cancel' } satisfies ToWorker);
    };
    const finishIfIdle = () => {
      if (running > 0) return;
      // Files never started because of a cancel.
      for (let i = 0; i < files.length; i++) if (!outcomes[i]) settle(i, { ok: false, error: { message: 'scan cancelled', kind: 'cancelled' } });
      resolve();
    };
    // This thread is one of the `jobs` scanners (it would only wait otherwise): one worker fewer
    // to start, and one JIT warm-up fewer.
    for (let k = 0; k < jobs - 1; k++) {
      const w = new Worker(workerUrl);
      workers.push(w);
      w.on('message', (m: FromWorker) => {
        if (m.type === 'progress') {
          if (onProgress?.(m.index, m.done, m.total) === false && !cancelled) cancelAll();
          return;
        }
        running--;
        busy.delete(w);
        if (!m.outcome.ok && m.outcome.error.kind === 'cancelled') cancelled = true;
        settle(m.index, m.outcome);
        if (!feed(w)) finishIfIdle();
      });
      w.on('error', (e) => reject(e));
      w.on('exit', (code) => {
        const index = busy.get(w);
        if (index !== undefined) reject(new Error(`${files[index]}: scan worker stopped with exit code ${code}`));
      });
      feed(w);
    }
    void (async () => {
      while (!cancelled && next < files.length) {
        const index = next++;
        running++;
        let outcome: ScanOutcome;
        try {
          const scan = await scanFile(files[index]!, {
            ...scanOptions,
            onProgress: (done, total) => {
              if (onProgress?.(index, done, total) === false && !cancelled) cancelAll();
              return !cancelled;
            },
          });
          outcome = { ok: true, scan };
        } catch (e) {
          outcome = { ok: false, error: failureOf(e) };
        }
        running--;
        if (!outcome.ok && outcome.error.kind === 'cancelled') cancelled = true;
        settle(index, outcome);
      }
      finishIfIdle();
    })().catch(reject);
  }).finally(async () => {
    await Promise.all(workers.map((w) => w.terminate()));
  });
  return outcomes;
}
