// Regression snapshot of what the CLI prints for every trace we have: `info --json`,
// `events --ndjson`, `scan --json` (with and without --no-auto-cab where a cab sits beside the
// trace) and `convert -o` (the pcapng and the --json summary), each with its stderr and exit code.
// Take one snapshot before a change and one after, then compare them with `diff -r`:
//
//   node test/support/snapshot-outputs.mjs gen TRACES      # generated traces (needs npm run build:ts)
//   node test/support/snapshot-outputs.mjs run OUT TRACES  # outputs for fixtures/, ../shared/fixtures,
//                                                          # test/fuzz/regressions and TRACES
//
// Keep TRACES between the two runs (the generator may change too), and run both from the same
// checkout path (outputs name their files by absolute path); ETL_IMDS_CLI=<other>/bin/etl-imds.js
// runs another build over this checkout's files.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const [mode, ...rest] = process.argv.slice(2);

async function generate(dir) {
  const gen = await import(path.join(root, 'dist-tools', 'tools', 'gen', 'index.js'));
  const { captureTcpipEvents, DEFAULT_START, FILETIME_SECOND, loadCapture, placeCapture, writeNetshEtl, writePktmonEtl } = gen;
  mkdirSync(dir, { recursive: true });
  // The scan-generated scenarios: every real-client capture in netsh and pktmon form, with each
  // attribution source (as test/scan/scan-generated.test.ts builds them).
  const fx = path.join(root, 'fixtures', 'imds');
  const captures = readdirSync(fx).filter((f) => f.endsWith('.json') && !f.endsWith('.truth.json')).sort();
  const traceFor = (pid) => 1000 + (pid % 60000);
  for (const form of ['netsh', 'pktmon']) {
    for (const mode of ['packet', 'connection', 'none']) {
      for (const name of captures) {
        const c = loadCapture(path.join(fx, name));
        const o = { start: DEFAULT_START + 5n * FILETIME_SECOND, cpu: 1, pidMode: mode, pid: traceFor };
        const packets = placeCapture(c, o);
        const pids = [...new Set(c.truth.map((t) => traceFor(t.pid)))];
        const processes = pids.map((pid) => ({ pid, image: `\\Device\\HarddiskVolume2\\apps\\client${pid}.exe`, ppid: 600, sessionId: 0 }));
        const tcpipEvents = mode === 'none' ? captureTcpipEvents(c, o) : [];
        const file = path.join(dir, `${form}-${mode}-${name.replace(/\.json$/, '')}.etl`);
        const opts = { startTime: DEFAULT_START, processes, tcpipEvents, numberOfProcessors: 2 };
        if (form === 'netsh') await writeNetshEtl(file, packets, { ...opts, fragmentSize: 600 });
        else await writePktmonEtl(file, packets, opts);
      }
    }
  }
  // The small traces the fuzz seeds are cut from (fragments, no GFT, raw IP, pktmon, pkt-size).
  execFileSync(process.execPath, [path.join(root, 'test', 'fuzz', 'gen-traces.mjs'), dir], { stdio: 'inherit' });
  // Damaged copies: cut in the middle of a buffer, and a buffer header overwritten.
  const sample = readFileSync(path.join(dir, 'gen-netsh-fragments.etl'));
  writeFileSync(path.join(dir, 'damaged-cut.etl'), sample.subarray(0, Math.floor(sample.length * 0.6)));
  const broken = Buffer.from(sample);
  broken.fill(0xee, 4096 * 3, 4096 * 3 + 16);
  writeFileSync(path.join(dir, 'damaged-header.etl'), broken);
  const pk = readFileSync(path.join(dir, 'gen-pktmon.etl'));
  const pkBroken = Buffer.from(pk);
  for (let i = Math.floor(pk.length / 2); i < Math.floor(pk.length / 2) + 64; i++) pkBroken[i] ^= 0x5a;
  writeFileSync(path.join(dir, 'damaged-pktmon.etl'), pkBroken);
  // The round-trip test's traces (Wi-Fi 1002, VMSwitch 1003, Ras-NdisWan, raw IP, mixed, large).
  const keep = path.join(dir, 'roundtrip');
  rmSync(keep, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const r = spawnSync('npx', ['vitest', 'run', 'test/convert/roundtrip.test.ts'], {
    cwd: root, stdio: 'inherit', env: { ...process.env, RT_KEEP: '1', TMPDIR: path.join(dir, 'tmp') },
    shell: false,
  });
  if (r.status !== 0) console.error('roundtrip test failed; its traces are kept all the same');
  mkdirSync(keep, { recursive: true });
  for (const sub of readdirSync(path.join(dir, 'tmp'))) {
    const d = path.join(dir, 'tmp', sub);
    if (!statSync(d).isDirectory()) continue;
    for (const f of readdirSync(d)) if (f.endsWith('.etl')) copyFileSync(path.join(d, f), path.join(keep, f));
  }
  rmSync(path.join(dir, 'tmp'), { recursive: true, force: true });
}

function etlFiles(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...etlFiles(p));
    else if (e.name.toLowerCase().endsWith('.etl')) out.push(p);
  }
  return out.sort();
}

// ETL_IMDS_CLI: another checkout's bin/etl-imds.js, to take its snapshot of these same files.
const bin = process.env.ETL_IMDS_CLI ?? path.join(root, 'bin', 'etl-imds.js');

function cli(args) {
  const r = spawnSync(process.execPath, [bin, ...args], { maxBuffer: 1 << 30 });
  return { stdout: r.stdout, meta: `exit ${r.status}\n${r.stderr.toString()}` };
}

function run(out, traceDirs) {
  const sets = [
    ['fixtures', path.join(root, 'fixtures')],
    ['shared', path.resolve(root, '..', 'shared', 'fixtures')],
    ['regressions', path.join(root, 'test', 'fuzz', 'regressions')],
    ...traceDirs.map((d, i) => [`traces${i || ''}`, path.resolve(d)]),
  ];
  // A fixed output path: the convert summary names it.
  const tmp = path.join(os.tmpdir(), 'etl-imds-snapshot');
  mkdirSync(tmp, { recursive: true });
  const pcap = path.join(tmp, 'out.pcapng');
  for (const [label, dir] of sets) {
    for (const file of etlFiles(dir)) {
      const rel = path.join(label, path.relative(dir, file));
      const base = path.join(out, rel);
      mkdirSync(base, { recursive: true });
      const save = (name, r) => {
        writeFileSync(path.join(base, name), r.stdout);
        writeFileSync(path.join(base, `${name}.meta`), r.meta);
      };
      save('info.json', cli(['info', '--json', file]));
      save('events.ndjson', cli(['events', '--ndjson', file]));
      save('scan.json', cli(['scan', '--json', '-q', file]));
      if (existsSync(file.replace(/\.etl$/i, '.cab'))) save('scan-no-auto-cab.json', cli(['scan', '--json', '-q', '--no-auto-cab', file]));
      rmSync(pcap, { force: true });
      save('convert.json', cli(['convert', '--json', '-q', '-o', pcap, file]));
      if (existsSync(pcap)) renameSync(pcap, path.join(base, 'out.pcapng'));
      process.stdout.write(`${rel}\n`);
    }
  }
}

if (mode === 'gen' && rest[0]) await generate(path.resolve(rest[0]));
else if (mode === 'run' && rest[0]) run(path.resolve(rest[0]), rest.slice(1));
else {
  console.error('usage: snapshot-outputs.mjs gen TRACES | run OUT [TRACES...]');
  process.exit(1);
}
