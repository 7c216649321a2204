// `etl-imds report` over a generated fleet's NDJSON (bench/fleet-ndjson.mjs): the target
// is 10,000 instances in under 2 s; and memory must not grow with the number of instances, shown by
// the heap report keeps alive (and the peak RSS) at 10,000, 40,000 and 160,000 instances (the two
// larger without request lines, which report skips unread, to keep the bench's files small). `npm run bench -- report` measures this
// section alone; the full `npm run bench` includes it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expectedRows, writeFleet } from './fleet-ndjson.mjs';

export const SECTION = '## etl-imds report';
const GEN_VERSION = 1; // bump when bench/fleet-ndjson.mjs changes what it writes
const MB = 1e6;
const mib = (b) => (b / 2 ** 20).toFixed(0);

/** A cached generated fleet: regenerated when missing or made by another generator version. */
function fleet(out, name, count, seed, { requests = true, log }) {
  const dir = path.join(out, name);
  const metaFile = dir + '.json';
  if (existsSync(metaFile)) {
    const m = JSON.parse(readFileSync(metaFile, 'utf8'));
    if (m.genVersion === GEN_VERSION && m.count === count && m.seed === seed && m.requests === requests) return { dir, meta: m };
  }
  rmSync(dir, { recursive: true, force: true });
  log(`bench: generating ${name}: NDJSON of ${count} instances${requests ? '' : ' (no request lines)'} (once, cached)`);
  const t0 = performance.now();
  const { files, bytes } = writeFleet(dir, count, seed, { requests });
  const meta = { genVersion: GEN_VERSION, count, seed, requests, files: files.length, bytes };
  writeFileSync(metaFile, JSON.stringify(meta, null, 2) + '\n');
  log(`bench:   ${(bytes / MB).toFixed(1)} MB in ${files.length} files, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { dir, meta };
}

/**
 * Measures and returns the markdown section.
 * @param {{ root: string, out: string, bench: Function, log: (m: string) => void, runs: number }} ctx
 */
export async function reportSection({ root, out, bench, log, runs }) {
  const bin = path.join(root, 'bin', 'etl-imds.js');
  const f10k = fleet(out, 'report-10k', 10_000, 1, { log });
  const f40k = fleet(out, 'report-40k', 40_000, 2, { requests: false, log });
  const f160k = fleet(out, 'report-160k', 160_000, 3, { requests: false, log });

  log(`\netl-imds report: ${f10k.meta.count} instances, ${(f10k.meta.bytes / MB).toFixed(0)} MB of NDJSON in ${f10k.meta.files} files`);
  const truth = expectedRows(10_000, 1);
  const check = (r) => {
    const j = JSON.parse(r.stdout);
    const want = new Map(truth.rows.map((x) => [JSON.stringify([x.image, x.commandLine]), x]));
    const ok = j.summary.instances === truth.instances && j.rows.length === truth.rows.length &&
      j.rows.every((x) => { const w = want.get(JSON.stringify([x.image, x.commandLine])); return w && w.instances === x.instances && w.v1 === x.v1 && w.v2 === x.v2; });
    if (!ok) log('bench: warning: report --json does not give the generated fleet\'s table');
    return { ok, rows: j.rows.length, instances: j.summary.instances };
  };
  const R = {};
  R.r10k = bench(`report ${f10k.meta.count} instances --json`, process.execPath, [bin, 'report', f10k.dir, '--json'], { runs, check, bytes: f10k.meta.bytes });
  R.r10kTable = bench(`report ${f10k.meta.count} instances (table)`, process.execPath, [bin, 'report', f10k.dir], { runs });
  log('\netl-imds report: peak RSS against the number of instances (one run each)');
  R.m10k = R.r10k;
  R.m40k = bench(`report ${f40k.meta.count} instances --json`, process.execPath, [bin, 'report', f40k.dir, '--json'], { runs: 1, bytes: f40k.meta.bytes });
  R.m160k = bench(`report ${f160k.meta.count} instances --json`, process.execPath, [bin, 'report', f160k.dir, '--json'], { runs: 1, bytes: f160k.meta.bytes });

  const liveHeap = (f) => JSON.parse(execFileSync(process.execPath, ['--expose-gc', path.join(root, 'bench', 'report-heap.mjs'), f.dir], { encoding: 'utf8' }));
  const heap = { h10k: liveHeap(f10k), h40k: liveHeap(f40k), h160k: liveHeap(f160k) };
  for (const [k, h] of Object.entries(heap)) log(`  live heap after GC, ${k.slice(1)} instances: ${mib(h.liveHeapBytes)} MiB (${h.rows} rows)`);

  const met = R.r10k.wall < 2 && R.r10k.checked.ok;
  const L = [SECTION, ''];
  L.push(`NDJSON of a generated fleet (bench/fleet-ndjson.mjs): per instance one file under \`dt=YYYY-MM-DD/\`, as the SSM document stores it, with one file line, 1 to 6 IMDS callers (process lines) drawn from a pool of common and rare command lines, and their request lines. \`npm run bench -- report\` measures this section alone. Same method as above (/usr/bin/time, median of ${runs} runs after a warm-up).`, '');
  L.push('| input | NDJSON | wall s | CPU s | peak RSS MiB | heap alive after GC, MiB | rows |', '|---|---|---|---|---|---|---|');
  const row = (label, f, r, h) => L.push(`| ${label} | ${(f.meta.bytes / MB).toFixed(0)} MB, ${f.meta.files} files | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} | ${mib(r.rss)} | ${h ? (h.liveHeapBytes / 2 ** 20).toFixed(1) : '-'} | ${h ? h.rows : '-'} |`);
  row(`${f10k.meta.count} instances, \`report --json\``, f10k, R.r10k, heap.h10k);
  row(`${f10k.meta.count} instances, table`, f10k, R.r10kTable);
  row(`${f40k.meta.count} instances (no request lines), \`report --json\``, f40k, R.m40k, heap.h40k);
  row(`${f160k.meta.count} instances (no request lines), \`report --json\``, f160k, R.m160k, heap.h160k);
  L.push('', `Target: report over the NDJSON of 10,000 instances in under 2 s: ${met ? '**met**' : '**not met**'} (${R.r10k.wall.toFixed(2)} s wall, ${R.r10k.cpu.toFixed(2)} s CPU; its table is the generated fleet's: ${R.r10k.checked.ok ? 'yes' : 'NO'}, ${R.r10k.checked.rows} rows).`);
  L.push('', `Memory against the number of instances: the heap report keeps alive (the largest heapUsed after a full GC, sampled every 5,000 files and at the end: bench/report-heap.mjs) is ${(heap.h10k.liveHeapBytes / 2 ** 20).toFixed(1)}, ${(heap.h40k.liveHeapBytes / 2 ** 20).toFixed(1)} and ${(heap.h160k.liveHeapBytes / 2 ** 20).toFixed(1)} MiB at 10,000, 40,000 and 160,000 instances: the distinct (row, instance) pairs are bounded in memory (8 MiB, ETL_IMDS_REPORT_PAIR_BYTES), sorted runs on disk hold the rest, and folders are read as they are walked, never listed whole; what grows is the table, one entry per distinct image + command line (the generated fleet's one-off command lines, one per 97 instances, grow with it). Peak RSS (${mib(R.m10k.rss)}, ${mib(R.m40k.rss)}, ${mib(R.m160k.rss)} MiB) also holds the garbage V8 has not collected yet, which grows with how much is read.`);
  L.push('');
  return L.join('\n');
}
