// The most heap `etl-imds report` keeps alive while it reads a fleet's NDJSON: a full GC every
// 5,000 files and after the table is made, the largest heapUsed seen. Peak RSS also counts
// garbage V8 has not collected yet; this is what the report holds. Run by bench/report.mjs:
//   node --expose-gc bench/report-heap.mjs DIR   → {"files":N,"rows":N,"liveHeapBytes":N}
import { eachInputFile } from '../dist/cli/inputs.js';
import { isNdjsonFile } from '../dist/cli/report.js';
import { FleetReport } from '../dist/fleet/report.js';

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
let live = 0;
const sample = () => {
  globalThis.gc();
  live = Math.max(live, process.memoryUsage().heapUsed);
};
const report = new FleetReport();
let files = 0;
for (const f of eachInputFile([process.argv[2]], isNdjsonFile, () => {})) {
  report.addFile(f);
  if (++files % 5000 === 0) sample();
}
const rows = report.rows();
sample();
process.stdout.write(JSON.stringify({ files, rows: rows.length, liveHeapBytes: live }) + '\n');
