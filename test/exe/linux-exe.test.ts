// dist-exe/etl-imds-linux-x64 (npm run build:exe -- --target linux-x64): copied alone into an
// empty folder, no Node on PATH, it gives what the npm package gives; its cached addon is checked
// before every load (a tampered or planted file is rewritten, never loaded), its cache folder is
// private, concurrent first runs are safe, and a missing or read-only temporary folder is a clear
// error with exit 2. The win32 executable under Wine: test/windows/exe-wine.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../support/fixtures.js';
import { buildExe } from '../../scripts/exe/build.mjs';

const here = `${process.platform}-${process.arch}`;
const skip = here !== 'linux-x64' ? `the linux-x64 executable is built and run on linux-x64 only (this is ${here})` : undefined;
if (skip) process.stderr.write(`SKIP: linux-x64 executable: ${skip}\n`);

const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
const sample = path.join(repoRoot, 'fixtures', 'imds-sample.etl');
const pktmon = path.join(repoRoot, 'fixtures', 'pktmon-demikernel', 'PktMon.etl');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-exe-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let exe = '';
let addonSha256 = '';
const alone = path.join(tmp, 'alone');
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The executable with nothing but its own environment: no Node on PATH, a cache of its own. */
function runExe(args: string[], env: Record<string, string> = {}, cwd = alone): Run {
  const r = spawnSync(exe, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 26, env: { PATH: '/nonexistent', HOME: tmp, TMPDIR: path.join(tmp, 'tmp'), ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runNpm(args: string[], cwd = alone): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cacheRoot = () => path.join(tmp, 'tmp', `etl-imds-${process.getuid!()}`);
const cachedAddon = () => path.join(cacheRoot(), addonSha256, 'etl-imds.node');

/** A shared library that, if ever loaded, leaves a file behind (its constructor runs at dlopen). */
function plantedLibrary(marker: string): string {
  const src = path.join(tmp, 'planted.c');
  writeFileSync(src, `#include <stdio.h>\n__attribute__((constructor)) static void planted(void) { FILE* f = fopen(${JSON.stringify(marker)}, "w"); if (f) fclose(f); }\n`);
  const lib = path.join(tmp, 'planted.node');
  execFileSync('cc', ['-shared', '-fPIC', '-o', lib, src]);
  return lib;
}
const haveCc = spawnSync('cc', ['--version']).status === 0;

describe.skipIf(skip !== undefined)('etl-imds-linux-x64, the single-file executable', () => {
  beforeAll(async () => {
    const info = await buildExe({ target: 'linux-x64', outDir: path.join(tmp, 'dist-exe'), log: (m) => process.stderr.write(`[linux-exe] ${m}\n`) });
    expect(info.codeCache).toBe(true);
    addonSha256 = info.addonSha256;
    mkdirSync(alone);
    mkdirSync(path.join(tmp, 'tmp'));
    exe = path.join(alone, 'etl-imds');
    copyFileSync(info.exe, exe);
    chmodSync(exe, 0o755);
  }, 900_000);

  it('alone in an empty folder, no Node on PATH: --version, --help, info, scan and convert as the npm package', () => {
    expect(readdirSync(alone)).toEqual(['etl-imds']);
    expect(spawnSync('/bin/sh', ['-c', 'command -v node'], { env: { PATH: '/nonexistent' } }).status).not.toBe(0);
    const version = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version;
    expect(runExe(['--version']).stdout.trim()).toBe(version);
    for (const args of [['--help'], ['info', sample], ['info', '--json', sample, pktmon], ['scan', sample], ['scan', '--json', sample, pktmon], ['scan', sample, '--fail-on-v1'], ['events', '--ndjson', pktmon]]) {
      const e = runExe(args);
      const n = runNpm(args);
      expect(e.code, args.join(' ')).toBe(n.code);
      expect(e.stdout, args.join(' ')).toBe(n.stdout);
      expect(e.stderr, args.join(' ')).toBe(n.stderr);
    }
    const e = runExe(['convert', sample, '-o', path.join(tmp, 'exe.pcapng')]);
    const n = runNpm(['convert', sample, '-o', path.join(tmp, 'npm.pcapng')]);
    expect([e.code, n.code]).toEqual([0, 0]);
    expect(readFileSync(path.join(tmp, 'exe.pcapng')).equals(readFileSync(path.join(tmp, 'npm.pcapng')))).toBe(true);
    expect(readdirSync(alone)).toEqual(['etl-imds']); // nothing written beside the executable
  });

  it('scan <dir> on worker threads inside the executable: the output of the npm package', () => {
    const dir = path.join(tmp, 'fleet');
    mkdirSync(dir);
    for (let k = 0; k < 8; k++) copyFileSync(k % 2 ? sample : pktmon, path.join(dir, `host${k}.etl`));
    const e = runExe(['scan', dir, '--json', '--jobs', '3']);
    const n = runNpm(['scan', dir, '--json', '--jobs', '3']);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toBe(n.stdout);
  });

  it('the addon is cached once, in a folder named by its SHA-256 that only this user can write (0700)', () => {
    rmSync(cacheRoot(), { recursive: true, force: true });
    expect(runExe(['--version']).code).toBe(0);
    for (const d of [cacheRoot(), path.dirname(cachedAddon())]) {
      const st = lstatSync(d);
      expect(st.isDirectory()).toBe(true);
      expect(st.mode & 0o777).toBe(0o700);
      expect(st.uid).toBe(process.getuid!());
    }
    expect(sha(cachedAddon())).toBe(addonSha256);
    expect(readdirSync(path.dirname(cachedAddon()))).toEqual(['etl-imds.node']);
  });

  it.skipIf(!haveCc)('a tampered or planted cached addon is rewritten, never loaded', () => {
    const marker = path.join(tmp, 'planted-was-loaded');
    const planted = plantedLibrary(marker);
    // Loaded, the planted library leaves its marker (so the marker's absence below means something).
    spawnSync(process.execPath, ['-e', `try { process.dlopen({ exports: {} }, ${JSON.stringify(planted)}); } catch {}`]);
    expect(existsSync(marker)).toBe(true);
    rmSync(marker);
    const expected = runNpm(['scan', '--json', sample]).stdout;
    for (const [what, plant] of [
      ['garbage', () => writeFileSync(cachedAddon(), 'not a library')],
      ['another library', () => copyFileSync(planted, cachedAddon())],
      ['a link to another library', () => { rmSync(cachedAddon()); symlinkSync(planted, cachedAddon()); }],
      ['a truncated copy', () => writeFileSync(cachedAddon(), readFileSync(cachedAddon()).subarray(0, 4096))],
    ] as [string, () => void][]) {
      expect(runExe(['--version']).code).toBe(0);
      plant();
      const r = runExe(['scan', '--json', sample]);
      expect(r.code, `${what}: ${r.stderr}`).toBe(0);
      expect(r.stdout, what).toBe(expected);
      expect(existsSync(marker), `${what} was loaded`).toBe(false);
      expect(lstatSync(cachedAddon()).isFile(), what).toBe(true);
      expect(sha(cachedAddon()), what).toBe(addonSha256);
    }
  });

  it.skipIf(!haveCc)('cache folders that are links or belong to another user are refused (exit 2, one line), nothing loaded', () => {
    const marker = path.join(tmp, 'planted-was-loaded-2');
    const planted = plantedLibrary(marker);
    // The addon's folder a link to one prepared by someone else, holding a planted library.
    const theirs = path.join(tmp, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    copyFileSync(planted, path.join(theirs, 'etl-imds.node'));
    rmSync(path.dirname(cachedAddon()), { recursive: true, force: true });
    symlinkSync(theirs, path.dirname(cachedAddon()));
    let r = runExe(['scan', sample]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^etl-imds: error: .* is a link, not a folder of its own; refusing to load the addon/);
    rmSync(path.dirname(cachedAddon()));
    // The cache root made by another user (root can chown; others cannot even set this up).
    if (process.getuid!() === 0) {
      chownSync(cacheRoot(), 12345, 12345);
      r = runExe(['scan', sample]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/belongs to user 12345, not to this user \(0\); refusing to load the addon/);
      chownSync(cacheRoot(), 0, 0);
    }
    expect(existsSync(marker)).toBe(false);
    // Ours but open to others: closed again (0700), then used.
    chmodSync(cacheRoot(), 0o777);
    expect(runExe(['--version']).code).toBe(0);
    expect(statSync(cacheRoot()).mode & 0o777).toBe(0o700);
  });

  it('concurrent first runs: all succeed with the same output, one cached file, no temporary file left', async () => {
    rmSync(cacheRoot(), { recursive: true, force: true });
    const runs = await Promise.all(
      Array.from({ length: 6 }, () =>
        new Promise<Run>((resolve) => {
          const c = spawn(exe, ['scan', '--json', sample], { cwd: alone, env: { PATH: '/nonexistent', HOME: tmp, TMPDIR: path.join(tmp, 'tmp') } });
          let stdout = '';
          let stderr = '';
          c.stdout.on('data', (d) => (stdout += d));
          c.stderr.on('data', (d) => (stderr += d));
          c.on('close', (code) => resolve({ code, stdout, stderr }));
        }),
      ),
    );
    const expected = runNpm(['scan', '--json', sample]).stdout;
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(expected);
    }
    expect(readdirSync(path.dirname(cachedAddon()))).toEqual(['etl-imds.node']);
    expect(sha(cachedAddon())).toBe(addonSha256);
  });

  it('a missing temporary folder: a clear error, exit 2, nothing on stdout', () => {
    for (const env of [{ TMPDIR: path.join(tmp, 'no-such-tmp') }, { ETL_IMDS_CACHE: path.join(tmp, 'no-such-dir', 'cache') }]) {
      const r = runExe(['scan', sample], env);
      expect(r.code, JSON.stringify(env)).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^etl-imds: error: cannot write the native addon to its cache: the folder .*no-such-.* does not exist \(set ETL_IMDS_CACHE/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  // A read-only folder: a read-only mount (root can write to anything else), or a mode for others.
  const ro = path.join(tmp, 'read-only');
  mkdirSync(ro);
  const root = process.getuid?.() === 0;
  const readOnly = !skip && (root ? spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro]).status === 0 : (chmodSync(ro, 0o555), true));
  if (!skip && !readOnly) process.stderr.write('SKIP: read-only temporary folder for the executable (cannot mount a read-only tmpfs here)\n');
  afterAll(() => {
    if (root && readOnly) spawnSync('umount', [ro]);
  });
  it.skipIf(!readOnly)('a read-only temporary folder: a clear error, exit 2, nothing on stdout', () => {
    const r = runExe(['scan', sample], { TMPDIR: ro });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^etl-imds: error: cannot write the native addon to its cache: cannot create .*read-only.*: (read-only file system|permission denied) \(set ETL_IMDS_CACHE/);
  });
});
