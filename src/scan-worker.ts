// Worker thread of scanFiles() (scan-pool.ts): scans the files it is sent, one at a time.
import { parentPort } from 'node:worker_threads';
import { scanFile } from './scan.js';
import { failureOf, type FromWorker, type ToWorker } from './scan-pool.js';

const port = parentPort;
if (!port) throw new Error('scan-worker.js runs as a worker thread of scanFiles()');
let cancelled = false;
port.on('message', (m: ToWorker) => {
  if (m.type === 'cancel') {
    cancelled = true;
    return;
  }
  if (m.type !== 'scan') return;
  const { index, file, options } = m;
  let last = 0;
  scanFile(file, {
    ...options,
    onProgress: (done, total) => {
      // Progress is for a human: a few messages a second are plenty.
      const now = Date.now();
      if (now - last >= 100 || done >= total) {
        last = now;
        port.postMessage({ type: 'progress', index, done, total } satisfies FromWorker);
      }
      return !cancelled;
    },
  }).then(
    (scan) => port.postMessage({ type: 'outcome', index, outcome: { ok: true, scan } } satisfies FromWorker),
    (e: unknown) => port.postMessage({ type: 'outcome', index, outcome: { ok: false, error: failureOf(e) } } satisfies FromWorker),
  );
});
