// `scan <dir>` scans files on worker threads at once: the output must be byte for byte what a
// one-at-a-time run prints, and each file's result what scanning that file alone gives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  backgroundTraffic,
  captureTcpipEvents,
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
  type PidMode,
} from '../../tools/gen/index.js';
import { repoRoot } from '../support/fixtures.js';
import { interruptAtFirstProgress } from '../support/interrupt.js';

const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-scan-par-'));
const fleet = path.join(tmp, 'fleet');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[]) {
  return runEnv(args, {});
}

function runEnv(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const captures = readdirSync(path.join(repoRoot, 'fixtures', 'imds'))
  .filter((f) => f.endsWith('.json') && !f.endsWith('.truth.json'))
  .sort();
const truth: Record<string, { v1: number; v2: number; token: number }> = {};

beforeAll(async () => {
  mkdirSync(path.join(fleet, 'sub'), { recursive: true });
  // Six hosts: netsh and pktmon, each with background traffic and several IMDS exchanges.
  for (let h = 0; h < 6; h++) {
    const start = DEFAULT_START + FILETIME_SECOND;
    const list = [0, 1, 2].map((k) => {
      const c = loadCapture(path.join(repoRoot, 'fixtures', 'imds', captures[(h * 3 + k) % captures.length]!));
      const mode: PidMode = (['packet', 'connection', 'none'] as const)[(h + k) % 3];
      const o = { start: start + BigInt(k + 1) * FILETIME_SECOND / 4n, cpu: k % 2, pidMode: mode, pid: (p: number) => 2000 + h * 100 + (p % 97), portOffset: k * 11 };
      return { c, o, mode };
    });
    const imds: GenPacket[] = list.flatMap(({ c, o }) => placeCapture(c, o)).sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    const packets = mergeByTime(take(backgroundTraffic({ start, rng: new Rng(h + 1), cpus: 2 }), { maxPackets: 3000 }), imds);
    const pids = [...new Set(list.flatMap(({ c, o }) => placedTruth(c, o).map((t) => t.pid)))];
    const processes = pids.map((pid) => ({ pid, image: `\\Device\\HarddiskVolume2\\apps\\host${h}-${pid}.exe`, ppid: 600, sessionId: 0 }));
    const tcpipEvents = list.filter((x) => x.mode === 'none').flatMap(({ c, o }) => captureTcpipEvents(c, o)).sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    const file = path.join(h < 4 ? fleet : path.join(fleet, 'sub'), `host${h}.etl`);
    const opts = { startTime: DEFAULT_START, processes, tcpipEvents, numberOfProcessors: 2 };
    if (h % 2 === 0) await writeNetshEtl(file, packets, opts);
    else await writePktmonEtl(file, packets, opts);
    const t = list.flatMap(({ c, o }) => placedTruth(c, o));
    truth[file] = { v1: t.filter((x) => x.class === 'v1').length, v2: t.filter((x) => x.class === 'v2').length, token: t.filter((x) => x.class === 'token').length };
  }
  // A broken file in the middle: reported in its place, the others still scanned.
  writeFileSync(path.join(fleet, 'host3b.etl'), 'not a trace');
});

describe('scan <dir> on worker threads', () => {
  it('prints exactly what a one-at-a-time scan prints, in every output form', () => {
    // The CLI runs from dist/: the worker script must be there, or --jobs would quietly mean 1.
    expect(existsSync(path.join(repoRoot, 'dist', 'scan-worker.js'))).toBe(true);
    for (const form of [['--json'], ['--csv'], ['--requests', '--csv'], []]) {
      const one = run(['scan', fleet, '--no-auto-cab', '--jobs', '1', ...form]);
      const par = run(['scan', fleet, '--no-auto-cab', '--jobs', '4', ...form]);
      expect(one.code).toBe(2); // the broken file
      expect(par.code).toBe(one.code);
      expect(par.stdout).toBe(one.stdout);
      expect(par.stderr).toBe(one.stderr);
    }
  });

  it('each file gives what scanning it alone gives, and the truth', () => {
    const par = JSON.parse(run(['scan', fleet, '--no-auto-cab', '--json', '--jobs', '3']).stdout);
    const files = Object.keys(truth);
    expect(par.files.length).toBe(files.length + 1);
    for (const f of files) {
      const alone = JSON.parse(run(['scan', f, '--no-auto-cab', '--json']).stdout);
      expect(par.requests.filter((r: { file: string }) => r.file === f)).toEqual(alone.requests);
      expect(par.processes.filter((r: { file: string }) => r.file === f)).toEqual(alone.processes);
      const { files: _n, filesWithErrors: _e, processesUsingV1: _p, unknown: _u, ...counts } = alone.summary;
      expect(counts).toEqual(truth[f]);
    }
    expect(par.summary.files).toBe(files.length + 1);
    expect(par.summary.filesWithErrors).toBe(1);
    expect(par.summary.v1).toBe(Object.values(truth).reduce((n, t) => n + t.v1, 0));
  });

  it('Ctrl-C while several threads scan: exit 130 before the last file, nothing printed on stdout', async () => {
    // Many links to the same traces: a scan of several seconds here (4000 files).
    const many = path.join(tmp, 'many');
    mkdirSync(many, { recursive: true });
    for (let k = 0; k < 4000; k++) symlinkSync(path.join(fleet, k % 2 ? 'host1.etl' : 'host0.etl'), path.join(many, `h${k}.etl`));
    const r = await interruptAtFirstProgress(bin, ['scan', many, '--no-auto-cab', '--json', '--jobs', '3'], repoRoot);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/interrupted/);
    expect(r.stdout).toBe('');
    // Cancelled between batches: the run stopped well before it had read every file.
    expect(r.lastDone).toBeLessThan(r.total);
  });

  it('requests held in a temporary file (as for a fleet) give the same output, and the file is gone after', () => {
    const spoolDir = path.join(tmp, 'spool');
    mkdirSync(spoolDir, { recursive: true });
    for (const form of [['--json'], ['--csv'], ['--requests', '--csv'], ['--requests'], []]) {
      const inMemory = run(['scan', fleet, '--no-auto-cab', ...form]);
      // Spilled from the first request on, in a temporary directory of our own.
      const spilled = runEnv(['scan', fleet, '--no-auto-cab', ...form], { ETL_IMDS_SPOOL_BYTES: '0', TMPDIR: spoolDir });
      expect(spilled.code).toBe(inMemory.code);
      expect(spilled.stdout).toBe(inMemory.stdout);
      expect(readdirSync(spoolDir)).toEqual([]);
      // No usable temporary directory: everything stays in memory, same output.
      const noTmp = runEnv(['scan', fleet, '--no-auto-cab', ...form], { ETL_IMDS_SPOOL_BYTES: '0', TMPDIR: path.join(tmp, 'no-such-dir') });
      expect(noTmp.stdout).toBe(inMemory.stdout);
    }
    expect(JSON.parse(run(['scan', fleet, '--no-auto-cab', '--json']).stdout).requests.length).toBeGreaterThan(10);
  });

  it('rejects a bad --jobs', () => {
    expect(run(['scan', fleet, '--jobs', '0']).code).toBe(1);
  });
});
