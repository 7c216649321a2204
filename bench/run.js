// `npm run bench`: how fast etl-imds is on fleet-sized traces, against the targets of the
// performance issue, with tshark running the users' IMDSv1 display filter as the yardstick.
//
// Traces are made once with the project's generator (bench/gen.mjs) and cached in bench/out/
// (git-ignored). Every figure is a whole `etl-imds` process as a user runs it (node start-up
// included), timed by /usr/bin/time with the input in the page cache (one untimed warm-up run).
// MB = 10^6 bytes, GB = 10^9 bytes; throughput = input .etl bytes / wall time.
//
// Environment: BENCH_RUNS (default 5), BENCH_TSHARK_RUNS (3), BENCH_SKIP_2G=1, BENCH_FLEET_FILES (48).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { executablesSection, withSection } from './exe.mjs';
import { reportSection, SECTION as REPORT_SECTION } from './report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'bench', 'out');
const bin = path.join(root, 'bin', 'etl-imds.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TSHARK_RUNS = Number(process.env.BENCH_TSHARK_RUNS ?? 3);
const FLEET_FILES = Number(process.env.BENCH_FLEET_FILES ?? 48);
const GEN_VERSION = 2; // bump when bench/gen.mjs changes what it writes
const IMDSV1_FILTER = 'ip.dst == 169.254.169.254 and http.request.method == "GET" and !(http matches "X-aws-ec2-metadata-token")';
const MB = 1e6;

const log = (s) => process.stderr.write(s + '\n');
mkdirSync(out, { recursive: true });

// ---- prerequisites ------------------------------------------------------------------------------

function newestMtime(dir, ext) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestMtime(p, ext));
    else if (e.name.endsWith(ext)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

function ensureBuilt() {
  const addon = path.join(root, 'build', 'Release', 'etl_imds.node');
  if (!existsSync(addon)) throw new Error('the addon is not built: run `npm run build:native` (or `npx node-gyp build`) first');
  if (newestMtime(path.join(root, 'native'), '.cc') > statSync(addon).mtimeMs || newestMtime(path.join(root, 'native'), '.h') > statSync(addon).mtimeMs)
    log('bench: warning: native/ is newer than build/Release/etl_imds.node; figures are for the old build');
  const cli = path.join(root, 'dist', 'cli', 'main.js');
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(cli) || newestMtime(path.join(root, 'src'), '.ts') > statSync(cli).mtimeMs) {
    log('bench: compiling TypeScript (dist/ is missing or older than src/)');
    execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
  }
  const gen = path.join(root, 'dist-tools', 'tools', 'gen', 'index.js');
  if (!existsSync(gen) || newestMtime(path.join(root, 'tools'), '.ts') > statSync(gen).mtimeMs) {
    log('bench: compiling the generator (dist-tools/ is missing or older than tools/)');
    execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.tools.json')], { stdio: 'inherit' });
  }
}

function cxx() {
  return process.env.CXX || 'c++';
}

function ensureXpressBench() {
  const exe = path.join(out, 'bin', 'xpress_bench');
  const srcs = ['bench/xpress_bench.cc', 'native/etl/xpress.cc', 'native/etl/lznt1.cc', 'native/etl/buffer.cc'].map((s) => path.join(root, s));
  const deps = [...srcs, path.join(root, 'native/etl/xpress.h'), path.join(root, 'native/etl/buffer.h')];
  if (existsSync(exe) && deps.every((d) => statSync(d).mtimeMs < statSync(exe).mtimeMs)) return exe;
  mkdirSync(path.dirname(exe), { recursive: true });
  // The addon's optimisation level (binding.gyp: -O2), so the figure is the addon's decoder.
  log(`bench: building ${path.relative(root, exe)} (${cxx()} -O2)`);
  execFileSync(cxx(), ['-O2', '-std=c++17', '-I', path.join(root, 'native'), '-o', exe, ...srcs], { stdio: 'inherit' });
  return exe;
}

/** A cached trace: regenerated when missing or made by another generator version. */
function trace(name, form, bytes, seed) {
  const file = path.join(out, name);
  const metaFile = file + '.json';
  if (existsSync(file) && existsSync(metaFile)) {
    const m = JSON.parse(readFileSync(metaFile, 'utf8'));
    if (m.genVersion === GEN_VERSION && m.target === bytes && m.form === form && m.seed === seed) return { file, meta: m };
  }
  log(`bench: generating ${path.relative(root, file)} (${form}, ${(bytes / MB).toFixed(0)} MB; once, cached)`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(root, 'bench', 'gen.mjs'), file, form, String(bytes), String(seed)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`generating ${name} failed`);
  const m = { ...JSON.parse(r.stdout.trim().split('\n').pop()), genVersion: GEN_VERSION, target: bytes };
  writeFileSync(metaFile, JSON.stringify(m, null, 2) + '\n');
  log(`bench:   ${(m.bytes / MB).toFixed(1)} MB, ${m.packets} packets, ${m.imdsRequests} IMDS requests in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { file, meta: m };
}

// ---- measuring ----------------------------------------------------------------------------------

/** One process under /usr/bin/time -v: wall seconds, peak RSS (bytes), CPU seconds, stdout. */
function timed(cmd, args, { stdout = 'pipe', env } = {}) {
  const tf = path.join(out, '.time.txt');
  const r = spawnSync('/usr/bin/time', ['-o', tf, '-f', '%e %M %U %S', cmd, ...args], {
    encoding: 'utf8', maxBuffer: 1 << 28, env: env ? { ...process.env, ...env } : process.env,
    stdio: ['ignore', stdout, 'pipe'],
  });
  const lines = readFileSync(tf, 'utf8').trim().split('\n');
  const [wall, rssKb, user, sys] = lines[lines.length - 1].split(' ').map(Number);
  return { code: r.status, wall, rss: rssKb * 1024, cpu: user + sys, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Median wall time of `runs` runs after one untimed warm-up; peak RSS is the largest seen.
 * `before` runs ahead of every run (untimed), e.g. to remove the previous output.
 */
function bench(label, cmd, args, opts = {}) {
  return benchAlternating([[label, cmd, args]], opts)[0];
}

/**
 * Commands measured in alternation (a, b, a, b, ...), so that a change of load on a shared
 * machine falls on all alike; one result per command, as bench() gives it.
 */
function benchAlternating(commands, { runs = RUNS, before, check, bytes, env } = {}) {
  const sides = commands.map(([label, cmd, args]) => {
    before?.();
    // Only a checked run keeps its output (a conversion to stdout would not fit in memory).
    const warm = timed(cmd, args, { stdout: check ? 'pipe' : 'ignore', env });
    if (warm.code !== 0 && !check) throw new Error(`${label}: exit ${warm.code}\n${warm.stderr}`);
    return { label, cmd, args, warm, walls: [], cpus: [], rss: warm.rss, checked: check ? check(warm) : undefined };
  });
  for (let i = 0; i < runs; i++) {
    for (const x of sides) {
      before?.();
      const r = timed(x.cmd, x.args, { stdout: 'ignore', env });
      if (r.code !== x.warm.code) throw new Error(`${x.label}: exit ${r.code} (warm-up: ${x.warm.code})\n${r.stderr}`);
      x.walls.push(r.wall);
      x.cpus.push(r.cpu);
      x.rss = Math.max(x.rss, r.rss);
    }
  }
  return sides.map((x) => {
    const wall = median(x.walls);
    const res = { label: x.label, wall, walls: x.walls, cpu: median(x.cpus), rss: x.rss, bytes, mbps: bytes ? bytes / MB / wall : undefined, checked: x.checked };
    log(`  ${x.label.padEnd(44)} ${wall.toFixed(3)} s  ${res.mbps ? res.mbps.toFixed(0).padStart(5) + ' MB/s' : ''}  peak RSS ${(x.rss / 2 ** 20).toFixed(0)} MiB  [${x.walls.map((w) => w.toFixed(2)).join(' ')}]`);
    return res;
  });
}

/** A fresh folder in bench/out holding `copies` links to each trace. */
function linkDir(name, traces, copies) {
  const dir = path.join(out, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (let r = 0; r < copies; r++) for (const t of traces) symlinkSync(t.file, path.join(dir, `${copies > 1 ? `r${r}-` : ''}${path.basename(t.file)}`));
  return dir;
}

const cli = (...a) => [bin, ...a];

// ---- the run --------------------------------------------------------------------------------------

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const ver = (c, a) => { try { return execFileSync(c, a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0].trim(); } catch { return 'not found'; } };
  return {
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu: model,
    ramGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    tshark: ver('tshark', ['--version']),
    compiler: ver(cxx(), ['--version']),
  };
}

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

async function main() {
  ensureBuilt();
  const m = machine();
  const loadStart = load();
  log(`bench: ${m.nproc} CPUs (${m.cpu}), ${m.ramGiB} GiB RAM, load average ${loadStart}`);

  const netsh = trace('netsh-512m.etl', 'netsh', 512 * 2 ** 20, 1);
  const pktmon = trace('pktmon-64m.etl', 'pktmon', 64 * 2 ** 20, 2);
  const big = process.env.BENCH_SKIP_2G ? undefined : trace('netsh-2g.etl', 'netsh', 2 * 2 ** 30, 3);
  const fleetDir = path.join(out, 'fleet');
  mkdirSync(fleetDir, { recursive: true });
  const fleet = [];
  // Half netsh (128 MiB), half pktmon (32 MiB): about 4 GB in 48 files. A fleet is thousands of
  // traces; with a dozen (1 GB, under a second) the CLI's start-up, serial, was a fifth of the run.
  for (let i = 0; i < FLEET_FILES; i++) fleet.push(trace(path.join('fleet', `host${String(i).padStart(2, '0')}.etl`), i % 2 ? 'pktmon' : 'netsh', i % 2 ? 32 * 2 ** 20 : 128 * 2 ** 20, 100 + i));
  const xbench = ensureXpressBench();

  const R = {};
  const startup = bench('etl-imds --version (node + CLI start-up)', process.execPath, cli('--version'));
  R.startup = startup;

  const scanCheck = (meta) => (r) => {
    const j = JSON.parse(r.stdout);
    const s = j.summary;
    const ok = s.v1 === meta.truth.v1 && s.v2 === meta.truth.v2 && s.token === meta.truth.token;
    if (!ok) log(`bench: warning: scan found v1 ${s.v1} v2 ${s.v2} token ${s.token}; the trace holds v1 ${meta.truth.v1} v2 ${meta.truth.v2} token ${meta.truth.token}`);
    return { ok, found: { v1: s.v1, v2: s.v2, token: s.token }, truth: meta.truth };
  };

  for (const [key, t] of [['netsh', netsh], ['pktmon', pktmon]]) {
    const size = statSync(t.file).size;
    log(`\n${path.basename(t.file)}: ${(size / MB).toFixed(1)} MB on disk, ${t.meta.packets} packets, ${t.meta.imdsRequests} IMDS requests`);
    R[`${key}.info`] = bench(`info ${key}`, process.execPath, cli('info', t.file, '--json'), { bytes: size });
    R[`${key}.scan`] = bench(`scan ${key}`, process.execPath, cli('scan', t.file, '--no-auto-cab', '--json'), { bytes: size, check: scanCheck(t.meta) });
    const pcap = path.join(out, path.basename(t.file).replace(/\.etl$/, '.pcapng'));
    // Each run writes a fresh file; the previous run's dirty pages are flushed first (untimed), as
    // they would be on a machine converting one trace.
    R[`${key}.convert`] = bench(`convert ${key} → file`, process.execPath, cli('convert', t.file, '-o', pcap, '-q'), {
      bytes: size, before: () => { rmSync(pcap, { force: true }); spawnSync('sync'); },
    });
    R[`${key}.convertNull`] = bench(`convert ${key} → stdout (/dev/null)`, process.execPath, cli('convert', t.file, '-o', '-', '-q'), { bytes: size });
    // The yardstick: what users run today, tshark with their display filter on the converted pcapng.
    const tsharkRes = bench(`tshark IMDSv1 filter on ${key} pcapng`, 'tshark', ['-n', '-r', pcap, '-Y', IMDSV1_FILTER, '-T', 'fields', '-e', 'frame.number'], {
      runs: TSHARK_RUNS, bytes: size, check: (r) => ({ matches: r.stdout.trim() ? r.stdout.trim().split('\n').length : 0, truthV1GetIpv4: t.meta.truthV1GetIpv4 }),
    });
    tsharkRes.pcapBytes = statSync(pcap).size;
    R[`${key}.tshark`] = tsharkRes;
  }

  log('\nXPRESS decompression (native/etl/xpress.cc, in memory, output MB/s)');
  const xp = (f) => JSON.parse(execFileSync(xbench, [f, '--seconds', '2'], { encoding: 'utf8' }));
  R.xpress = { generated: xp(pktmon.file) };
  const stmcast = path.join(root, '..', 'shared', 'fixtures', 'pktmon', 'stmcast', 'PktMon.etl');
  if (existsSync(stmcast)) R.xpress.real = xp(stmcast);
  log(`  generated pktmon: ${R.xpress.generated.outputMBps.toFixed(0)} MB/s${R.xpress.real ? `; real pktmon (stmcast): ${R.xpress.real.outputMBps.toFixed(0)} MB/s` : ''}`);

  if (big) {
    const size = statSync(big.file).size;
    log(`\n${path.basename(big.file)}: ${(size / MB).toFixed(1)} MB (peak RSS must stay flat)`);
    R['big.info'] = bench('info 2 GB', process.execPath, cli('info', big.file, '--json'), { runs: 1, bytes: size });
    R['big.scan'] = bench('scan 2 GB', process.execPath, cli('scan', big.file, '--no-auto-cab', '--json'), { runs: 1, bytes: size, check: scanCheck(big.meta) });
    R['big.convert'] = bench('convert 2 GB → stdout', process.execPath, cli('convert', big.file, '-o', '-', '-q'), { runs: 1, bytes: size });
  }

  log(`\nscan <dir>: ${fleet.length} traces (netsh and pktmon)`);
  const fleetBytes = fleet.reduce((n, f) => n + statSync(f.file).size, 0);
  // The scanned folder holds links to exactly this fleet's traces (fleet/ keeps every trace ever
  // generated, so a smaller BENCH_FLEET_FILES would otherwise still scan them all).
  const scanDir = linkDir('fleet-scan', fleet, 1);
  // The two are compared with each other, so their runs alternate.
  [R['fleet.seq'], R['fleet.par']] = benchAlternating([
    ['scan dir --jobs 1', process.execPath, cli('scan', scanDir, '--no-auto-cab', '--json', '--jobs', '1')],
    [`scan dir (default: ${m.nproc} jobs)`, process.execPath, cli('scan', scanDir, '--no-auto-cab', '--json')],
  ], { runs: 5, bytes: fleetBytes, check: (r) => r.stdout });
  const identical = R['fleet.seq'].checked === R['fleet.par'].checked;
  R['fleet.seq'].checked = R['fleet.par'].checked = undefined;
  R.fleet = {
    identical, files: fleet.length, bytes: fleetBytes, speedup: R['fleet.seq'].wall / R['fleet.par'].wall,
    cpuPerWall: R['fleet.par'].cpu / R['fleet.par'].wall, cpuPerWallSeq: R['fleet.seq'].cpu / R['fleet.seq'].wall,
    // CPU time the parallel run spends beyond the one-by-one run (worker start-up, contention).
    cpuOverhead: R['fleet.par'].cpu / R['fleet.seq'].cpu - 1,
  };
  // The most N cores can give: one scan already keeps more than one core busy.
  R.fleet.bound = m.nproc / R.fleet.cpuPerWallSeq;
  log(`  identical results: ${identical}; speed-up ${R.fleet.speedup.toFixed(2)}x (at most ${R.fleet.bound.toFixed(2)}x); CPU busy ${R.fleet.cpuPerWall.toFixed(2)} of ${m.nproc} cores (--jobs 1: ${R.fleet.cpuPerWallSeq.toFixed(2)}); CPU overhead ${(100 * R.fleet.cpuOverhead).toFixed(0)} %`);

  // Memory against the number of files: the same 48 traces four times over (links), one by one.
  const many = linkDir('fleet-x4', fleet, 4);
  log(`\nscan <dir> memory: ${4 * fleet.length} traces (links to the ${fleet.length}), --jobs 1`);
  R['fleetX4.seq'] = bench(`scan dir of ${4 * fleet.length} --jobs 1`, process.execPath, cli('scan', many, '--no-auto-cab', '--json', '--jobs', '1'), { runs: 1, bytes: 4 * fleetBytes });
  rmSync(many, { recursive: true, force: true });
  rmSync(scanDir, { recursive: true, force: true });

  const exeSection = await executablesSection({ root, out, bench, log, runs: RUNS });
  const fleetReportSection = await reportSection({ root, out, bench, log, runs: RUNS });
  const loadEnd = load();
  const report = withSection(withSection(results(m, R, { loadStart, loadEnd, netsh, pktmon, big }), exeSection), fleetReportSection, REPORT_SECTION);
  writeFileSync(path.join(root, 'bench', 'RESULTS.md'), report);
  process.stdout.write(table(R, m) + '\nbench/RESULTS.md written.\n');
}

// ---- reporting --------------------------------------------------------------------------------------

const f2 = (x) => (x === undefined ? '-' : x.toFixed(2));
const f0 = (x) => (x === undefined ? '-' : x.toFixed(0));
const mib = (b) => (b / 2 ** 20).toFixed(0);

function targets(R, m) {
  const t = [];
  const scanGBs = R['netsh.scan'].mbps / 1000;
  t.push(['scan ≥ 1 GB/s on uncompressed .etl (512 MB netsh)', `${scanGBs.toFixed(2)} GB/s`, scanGBs >= 1]);
  const ratio = R['netsh.tshark'].wall / R['netsh.scan'].wall;
  t.push(['scan ≥ 10x faster than the tshark IMDSv1 filter', `${ratio.toFixed(1)}x (netsh); ${(R['pktmon.tshark'].wall / R['pktmon.scan'].wall).toFixed(1)}x (pktmon)`, ratio >= 10]);
  t.push(['convert ≥ 400 MB/s (512 MB netsh → pcapng file)', `${f0(R['netsh.convert'].mbps)} MB/s (to a file); ${f0(R['netsh.convertNull'].mbps)} MB/s (to stdout)`, R['netsh.convert'].mbps >= 400]);
  const xg = R.xpress.generated.outputMBps;
  const xr = R.xpress.real?.outputMBps;
  t.push(['XPRESS decompression ≥ 1 GB/s of output', `${(xg / 1000).toFixed(2)} GB/s (generated pktmon)${xr ? `; ${(xr / 1000).toFixed(2)} GB/s (real pktmon)` : ''}`, xg >= 1000 && (xr === undefined || xr >= 1000)]);
  const rssKeys = Object.keys(R).filter((k) => R[k]?.rss && k !== 'startup' && !k.startsWith('fleet') && !k.endsWith('tshark'));
  const peak = Math.max(...rssKeys.map((k) => R[k].rss));
  t.push(['peak RSS ≤ 200 MB whatever the size (2 GB file)', `${mib(peak)} MiB max over info/scan/convert${R['big.scan'] ? `; 2 GB scan ${mib(R['big.scan'].rss)} MiB vs 512 MB scan ${mib(R['netsh.scan'].rss)} MiB` : ' (2 GB file skipped)'}`, peak <= 200 * MB && !!R['big.scan']]);
  // "Keeps every core busy": CPU time / wall time at least 80 % of the CPUs. Busy cores alone
  // would reward waste, so the parallel run may spend at most 15 % more CPU time than scanning the
  // files one by one. (A speed-up of N is out of reach: one scan already keeps more than one core
  // busy, its native read overlapping the JavaScript analysis; the speed-up and its bound are shown.)
  t.push([`scan <dir> keeps every core busy (≥ ${(0.8 * m.nproc).toFixed(1)} of ${m.nproc}) without wasting CPU (≤ 15 % more than one by one), results identical`,
    `${R.fleet.cpuPerWall.toFixed(2)} cores busy (--jobs 1: ${R.fleet.cpuPerWallSeq.toFixed(2)}), CPU overhead ${(100 * R.fleet.cpuOverhead).toFixed(0)} %, ${R.fleet.speedup.toFixed(2)}x vs --jobs 1 (at most ${R.fleet.bound.toFixed(2)}x), identical: ${R.fleet.identical}`,
    R.fleet.identical && R.fleet.cpuPerWall >= 0.8 * m.nproc && R.fleet.cpuOverhead <= 0.15]);
  return t;
}

function table(R, m) {
  const rows = [];
  for (const k of ['netsh', 'pktmon']) {
    const ts = R[`${k}.tshark`];
    for (const op of ['info', 'scan', 'convert', 'convertNull']) {
      const r = R[`${k}.${op}`];
      rows.push([k, op === 'convertNull' ? 'convert → stdout' : op === 'convert' ? 'convert → file' : op, f2(r.wall), f0(r.mbps), mib(r.rss), f2(ts.wall / r.wall)]);
    }
    rows.push([k, 'tshark IMDSv1 filter', f2(ts.wall), f0(ts.mbps), mib(ts.rss), '1.00']);
  }
  const head = ['trace', 'command', 'wall s', 'MB/s', 'peak RSS MiB', 'tshark / this'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line), '', ...targets(R, m).map(([t, v, ok]) => `${ok ? 'MET    ' : 'NOT MET'}  ${t}: ${v}`)].join('\n') + '\n';
}

function results(m, R, { loadStart, loadEnd, netsh, pktmon, big }) {
  const L = [];
  L.push('# Benchmark results', '');
  L.push('Written by `npm run bench` (bench/run.js). Do not edit by hand: the last section is copied from bench/PROFILE.md.', '');
  L.push('## Machine', '');
  L.push(`- ${m.nproc} CPUs: ${m.cpu}`, `- RAM: ${m.ramGiB} GiB`, `- ${m.kernel}`, `- Node ${m.node}; ${m.tshark}; compiler: ${m.compiler}`);
  L.push(`- Load average (1/5/15 min) at start: ${loadStart}; at end: ${loadEnd}. The machine is shared; a load above ${m.nproc} means other work was competing for the CPUs.`);
  L.push(`- Date: ${new Date().toISOString()}`, '');
  L.push('## Method', '');
  L.push(`- Traces made by the project's generator (bench/gen.mjs over tools/gen): background traffic (TLS-sized TCP, DNS, plain HTTP to other port-80 servers) with the real-client IMDS captures of fixtures/imds (curl, AWS SDK for JavaScript v3, botocore, raw sockets; IPv4 and IPv6) sprinkled in, one exchange every 0.5 s of trace time, PIDs from packets, from the SYN only, or only from TCPIP events.`);
  L.push(`- Every figure is a whole \`etl-imds\` process (node start-up included) under /usr/bin/time, the median of ${RUNS} runs (tshark: ${TSHARK_RUNS}; the 2 GB file: 1; \`scan <dir>\`: 5, its \`--jobs 1\` and default runs alternating) after an untimed warm-up, input in the page cache. MB = 10^6 bytes; throughput = .etl bytes / wall time. Peak RSS = the largest maxrss of all runs.`);
  L.push(`- tshark: \`tshark -n -r <converted>.pcapng -Y '${IMDSV1_FILTER}' -T fields -e frame.number\` on the pcapng that \`etl-imds convert\` made from the same trace.`);
  L.push(`- Start-up alone (\`etl-imds --version\`): ${f2(R.startup.wall)} s, ${mib(R.startup.rss)} MiB.`, '');
  L.push('## Figures', '', '```', table(R, m).trimEnd(), '```', '');
  L.push('| trace | size on disk | packets | IMDS requests (v1/v2/token) | scan found | packets the tshark filter matched | IPv4 IMDSv1 GETs in the trace |', '|---|---|---|---|---|---|---|');
  for (const [k, t] of [['netsh', netsh], ['pktmon', pktmon]]) {
    const c = R[`${k}.scan`].checked;
    const ts = R[`${k}.tshark`].checked;
    L.push(`| ${path.basename(t.file)} | ${(t.meta.bytes / MB).toFixed(1)} MB | ${t.meta.packets} | ${t.meta.imdsRequests} (${t.meta.truth.v1}/${t.meta.truth.v2}/${t.meta.truth.token}) | ${c.found.v1}/${c.found.v2}/${c.found.token} ${c.ok ? '(all)' : '(MISMATCH)'} | ${ts.matches} | ${ts.truthV1GetIpv4} |`);
  }
  L.push('', `The filter's count is per packet and for information only (test/scan/wireshark-filters.test.ts compares what such filters see with what scan finds); pktmon logs each packet at three components, so its pcapng holds every packet three times. The pktmon trace's XPRESS buffers hold ${(R.xpress.generated.decompressedBytes / MB).toFixed(0)} MB uncompressed.`, '');
  L.push('### XPRESS', '');
  L.push(`bench/xpress_bench.cc (built with \`${cxx()} -O2\`, as the addon) decompresses every compressed buffer of a file in memory, repeatedly for 2 s:`, '');
  L.push('| input | buffers | compressed | decompressed | output MB/s |', '|---|---|---|---|---|');
  for (const [name, x] of Object.entries(R.xpress)) L.push(`| ${name === 'real' ? 'real pktmon (shared fixture stmcast/PktMon.etl)' : 'generated pktmon-64m.etl'} | ${x.buffers} | ${(x.compressedBytes / MB).toFixed(1)} MB | ${(x.decompressedBytes / MB).toFixed(1)} MB | ${x.outputMBps.toFixed(0)} |`);
  L.push('');
  if (big) {
    L.push('### Memory on a 2 GB trace', '');
    L.push('| command | 512 MB netsh | 2 GB netsh |', '|---|---|---|');
    L.push(`| info | ${mib(R['netsh.info'].rss)} MiB | ${mib(R['big.info'].rss)} MiB |`);
    L.push(`| scan | ${mib(R['netsh.scan'].rss)} MiB | ${mib(R['big.scan'].rss)} MiB |`);
    L.push(`| convert → stdout | ${mib(R['netsh.convertNull'].rss)} MiB | ${mib(R['big.convert'].rss)} MiB |`);
    L.push('', `2 GB: info ${f0(R['big.info'].mbps)} MB/s, scan ${f0(R['big.scan'].mbps)} MB/s (found ${R['big.scan'].checked.found.v1}/${R['big.scan'].checked.found.v2}/${R['big.scan'].checked.found.token} of ${big.meta.truth.v1}/${big.meta.truth.v2}/${big.meta.truth.token}), convert ${f0(R['big.convert'].mbps)} MB/s.`, '');
  }
  L.push('### scan <dir>', '');
  L.push(`${R.fleet.files} traces (${(R.fleet.bytes / MB).toFixed(0)} MB; netsh 128 MiB and pktmon 32 MiB): \`--jobs 1\` ${f2(R['fleet.seq'].wall)} s (CPU time / wall time ${R.fleet.cpuPerWallSeq.toFixed(2)}: one scan already overlaps the native read with the JavaScript analysis), default (${m.nproc} scanners: this thread and ${m.nproc - 1} worker thread${m.nproc === 2 ? '' : 's'}) ${f2(R['fleet.par'].wall)} s: ${R.fleet.speedup.toFixed(2)}x (the most ${m.nproc} CPUs allow: ${R.fleet.bound.toFixed(2)}x), CPU time / wall time ${R.fleet.cpuPerWall.toFixed(2)} (of ${m.nproc}), CPU time ${f2(R['fleet.par'].cpu)} s vs ${f2(R['fleet.seq'].cpu)} s one by one. Serial parts: Node and CLI start-up (${f2(R.startup.wall)} s), writing the output. Peak RSS ${mib(R['fleet.seq'].rss)} MiB (--jobs 1), ${mib(R['fleet.par'].rss)} MiB (${m.nproc} scanners: one V8 heap each); the same traces four times over (${4 * R.fleet.files} files, ${(4 * R.fleet.bytes / MB).toFixed(0)} MB) with --jobs 1: ${mib(R['fleetX4.seq'].rss)} MiB, ${f2(R['fleetX4.seq'].wall)} s (results are spooled as each file is reported; only the per-process summaries stay in memory). JSON output identical: ${R.fleet.identical ? 'yes' : 'NO'}.`, '');
  L.push('## Targets', '', '| target | measured | |', '|---|---|---|');
  for (const [t, v, ok] of targets(R, m)) L.push(`| ${t} | ${v} | ${ok ? 'met' : '**not met**'} |`);
  L.push('');
  const prof = path.join(root, 'bench', 'PROFILE.md');
  if (existsSync(prof)) L.push(readFileSync(prof, 'utf8').trimEnd(), '');
  return L.join('\n');
}

// `npm run bench -- exe`: only the single-file executables, their section of RESULTS.md rewritten.
async function executablesOnly() {
  const results = path.join(root, 'bench', 'RESULTS.md');
  const section = await executablesSection({ root, out, bench, log, runs: RUNS });
  const loadNote = `Load average (1/5/15 min) at the end: ${load()}; ${os.availableParallelism?.() ?? os.cpus().length} CPUs, Node ${process.version}, ${new Date().toISOString()}.`;
  writeFileSync(results, withSection(existsSync(results) ? readFileSync(results, 'utf8') : '# Benchmark results\n', section.trimEnd() + '\n\n' + loadNote + '\n'));
  process.stdout.write(section + '\nbench/RESULTS.md written (single-file executables).\n');
}

// `npm run bench -- report`: only `etl-imds report`, its section of RESULTS.md rewritten.
async function reportOnly() {
  ensureBuilt();
  const results = path.join(root, 'bench', 'RESULTS.md');
  const loadStart = load();
  const section = await reportSection({ root, out, bench, log, runs: RUNS });
  const loadNote = `Load average (1/5/15 min) at the start: ${loadStart}; at the end: ${load()}; ${os.availableParallelism?.() ?? os.cpus().length} CPUs, Node ${process.version}, ${new Date().toISOString()}.`;
  writeFileSync(results, withSection(existsSync(results) ? readFileSync(results, 'utf8') : '# Benchmark results\n', section.trimEnd() + '\n\n' + loadNote + '\n', REPORT_SECTION));
  process.stdout.write(section + '\nbench/RESULTS.md written (etl-imds report).\n');
}

const only = { exe: executablesOnly, report: reportOnly }[process.argv[2]];
(only ? only() : main()).catch((e) => {
  log(`bench: ${e.stack ?? e}`);
  process.exitCode = 1;
});
