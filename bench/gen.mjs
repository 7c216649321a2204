// Bench traces, made with the project's own generator (tools/gen, built to dist-tools): mostly background traffic
// (TLS-sized TCP, DNS, plain HTTP to other port-80 servers) with the real-client IMDS captures of
// fixtures/imds sprinkled in, so the expected IMDS result of every trace is known.
import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const gen = await import(path.join(root, 'dist-tools', 'tools', 'gen', 'index.js'));
const { backgroundTraffic, captureTcpipEvents, DEFAULT_START, FILETIME_SECOND, loadCapture, mergeByTime, placeCapture, placedTruth, Rng, writeNetshEtl, writePktmonEtl } = gen;

const fixtureDir = path.join(root, 'fixtures', 'imds');
const captures = readdirSync(fixtureDir)
  .filter((f) => f.endsWith('.json') && !f.endsWith('.truth.json'))
  .sort()
  .map((f) => ({ name: f, c: loadCapture(path.join(fixtureDir, f)) }));

/**
 * One IMDS exchange every `every` of trace time, cycling through the captures and the three
 * attribution modes; each gets its own PID and client ports so no two connections collide.
 */
function placements(start, end, every, cpus) {
  const out = [];
  let i = 0;
  for (let t = start + every; t < end; t += every, i++) {
    const { name, c } = captures[i % captures.length];
    const pidMode = ['packet', 'packet', 'connection', 'none'][i % 4];
    const o = { start: t, cpu: i % cpus, pidMode, pid: (p) => 1000 + ((p + i * 4) % 60000), portOffset: (i * 7) % 4000 };
    out.push({ name, c, o, pidMode });
  }
  return out;
}

const IMDS_START = Symbol('imdsStart');

function* sprinkled(list) {
  for (const p of list) for (const q of placeCapture(p.c, p.o)) yield Object.assign(q, { [IMDS_START]: p.o.start });
}

/**
 * Stops the stream once the file being written reaches `bytes` (checked every 512 packets);
 * an IMDS exchange already begun is completed, so every exchange is in the file whole or not at
 * all. `stop.time` is then the time of the last packet before the cut.
 */
function* untilFileSize(src, file, bytes, stop) {
  let n = 0;
  for (const p of src) {
    if (stop.time === undefined && ++n % 512 === 0) {
      let size = 0;
      try { size = statSync(file).size; } catch { /* not created yet */ }
      if (size >= bytes) stop.time = p.time;
    }
    if (stop.time === undefined) yield p;
    else if (p[IMDS_START] !== undefined && p[IMDS_START] < stop.time) yield p;
    else if (p.time > stop.time + FILETIME_SECOND) return;  // exchanges last well under 1 s
  }
}

/**
 * Writes a trace of about `bytes` on disk. form: 'netsh' (uncompressed 512 KiB buffers) or
 * 'pktmon' (XPRESS-compressed). Returns what the scan must find (the truth) and the counts.
 * The file appears under its final name only when complete.
 */
export async function makeTrace(file, { form, bytes, seed = 1, cpus = 4, imdsEvery = FILETIME_SECOND / 2n }) {
  const start = DEFAULT_START + FILETIME_SECOND;
  // Background packets (about 750 bytes) come every 0.2 ms on average: 512 MB is about 140 s of
  // traffic. IMDS exchanges are placed well past the end; the cut decides which are in.
  const duration = (BigInt(Math.ceil(bytes / 2_000_000)) + 10n) * FILETIME_SECOND;
  const rng = new Rng(seed);
  const list = placements(start, start + duration, imdsEvery, cpus);
  const processes = [];
  const tcpipEvents = [];
  const seen = new Set();
  for (const p of list) {
    for (const t of placedTruth(p.c, p.o)) {
      if (seen.has(t.pid)) continue;
      seen.add(t.pid);
      processes.push({ pid: t.pid, image: `\\Device\\HarddiskVolume2\\apps\\client${t.pid}.exe`, ppid: 600, sessionId: 0 });
    }
    if (p.pidMode === 'none') tcpipEvents.push(...captureTcpipEvents(p.c, p.o));
  }
  tcpipEvents.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  const tmp = file + '.part';
  rmSync(tmp, { force: true });
  const stop = {};
  const packets = untilFileSize(mergeByTime(backgroundTraffic({ start, rng, cpus }), sprinkled(list)), tmp, bytes, stop);
  const opts = { startTime: DEFAULT_START, processes, tcpipEvents, numberOfProcessors: cpus };
  const s = form === 'netsh' ? await writeNetshEtl(tmp, packets, opts) : await writePktmonEtl(tmp, packets, opts);
  // Only the exchanges that made it into the file count (processes and TCPIP events are all there).
  const inFile = list.filter((p) => stop.time === undefined || p.o.start < stop.time);
  const truth = inFile.flatMap((p) => placedTruth(p.c, p.o));
  const meta = {
    form, seed, bytes: statSync(tmp).size, packets: s.packets, records: s.records, buffers: s.buffers, compressedBuffers: s.compressedBuffers,
    imdsRequests: truth.length,
    truth: { v1: truth.filter((t) => t.class === 'v1').length, v2: truth.filter((t) => t.class === 'v2').length, token: truth.filter((t) => t.class === 'token').length },
    // The users' tshark filter sees IMDSv1 GETs over IPv4 only (ip.dst).
    truthV1GetIpv4: inFile.filter((p) => p.c.fixture.family === 4).flatMap((p) => placedTruth(p.c, p.o))
      .filter((t) => t.class === 'v1' && t.method === 'GET').length,
  };
  renameSync(tmp, file);
  return meta;
}

// `node bench/gen.mjs <file> <netsh|pktmon> <bytes> [seed]`: one trace (used by run.mjs in a child
// process so the generator's memory never counts against anything measured).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, form, bytes, seed] = process.argv.slice(2);
  if (!file || (form !== 'netsh' && form !== 'pktmon') || !(Number(bytes) > 0)) {
    process.stderr.write('usage: node bench/gen.mjs <file> <netsh|pktmon> <bytes> [seed]\n');
    process.exit(2);
  }
  const t0 = performance.now();
  const meta = await makeTrace(path.resolve(file), { form, bytes: Number(bytes), seed: Number(seed ?? 1) });
  process.stdout.write(JSON.stringify({ ...meta, seconds: (performance.now() - t0) / 1000 }) + '\n');
}
