// Worker thread of scanFiles() (scan-pool.ts): claims files from the shared counter and scans
// them one at a time until none are left.
import { parentPort } from 'node:worker_threads';
import type { ScanOptions } from './scan.js';
import { scanOutcome, type FromWorker, type ToWorker } from './scan-pool.js';

const port = parentPort;
if (!port) throw new Error('scan-worker.js runs as a worker thread of scanFiles()');
let cancelled = false;
const send = (m: FromWorker) => port.postMessage(m);

async function run(files: string[], counter: Int32Array, options: Omit<ScanOptions, 'onProgress'>): Promise<void> {
  for (;;) {
    if (cancelled) break;
    const index = Atomics.add(counter, 0, 1);
    if (index >= files.length) break;
    send({ type: 'claimed', index });
    let last = 0;
    const outcome = await scanOutcome(files[index]!, options, (done, total) => {
      // Progress is for a human: a few messages a second are plenty.
      const now = Date.now();
      if (now - last >= 100 || done >= total) {
        last = now;
        send({ type: 'progress', index, done, total });
      }
      return !cancelled;
    });
    send({ type: 'outcome', index, outcome });
  }
  send({ type: 'finished' });
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'cancel') {
    cancelled = true;
    return;
  }
  void run(m.files, new Int32Array(m.counter), m.options);
});
