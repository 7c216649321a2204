// The single-file executables (scripts/exe) against the npm package: start-up (`--version`) and
// a small scan, size on disk. `npm run bench -- exe` measures only these and rewrites their
// section of bench/RESULTS.md; the full `npm run bench` includes them.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildExe } from '../scripts/exe/build.mjs';
import { nodeBinary } from '../scripts/node-dist.mjs';

export const SECTION = '## Single-file executables';
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const MiB = (b) => (b / 2 ** 20).toFixed(1);
const s2 = (x) => x.toFixed(3);

/**
 * Measures and returns the markdown section.
 * @param {{ root: string, out: string, bench: Function, log: (m: string) => void, runs: number }} ctx
 *   `bench(label, cmd, args, { before, env })` of bench/run.js (median wall time of `runs` runs).
 */
export async function executablesSection({ root, out, bench, log, runs }) {
  const dist = path.join(out, 'dist-exe');
  const cache = path.join(out, 'exe-cache');
  const env = { ETL_IMDS_CACHE: cache };
  const bin = path.join(root, 'bin', 'etl-imds.js');
  const sample = path.join(root, 'fixtures', 'imds-sample.etl');
  log('\nsingle-file executables: building (npm run build:exe)');
  const linux = await buildExe({ target: 'linux-x64', outDir: dist, log });
  const linuxNoCache = await buildExe({ target: 'linux-x64', outDir: path.join(out, 'dist-exe-no-code-cache'), codeCache: false, log });
  let win;
  try {
    win = await buildExe({ target: 'win32-x64', outDir: dist, log });
  } catch (e) {
    log(`bench: win32-x64 executable not built: ${e.message}`);
  }

  const R = {};
  R.npm = bench('node bin/etl-imds.js --version', process.execPath, [bin, '--version']);
  R.exe = bench('etl-imds-linux-x64 --version (addon cached)', linux.exe, ['--version'], { env });
  R.exeNoCodeCache = bench('etl-imds-linux-x64 --version, no code cache', linuxNoCache.exe, ['--version'], { env });
  R.exeCold = bench('etl-imds-linux-x64 --version, first run (addon written)', linux.exe, ['--version'], { env, before: () => rmSync(cache, { recursive: true, force: true }) });
  R.npmScan = bench('node bin/etl-imds.js scan imds-sample.etl', process.execPath, [bin, 'scan', sample, '--json']);
  R.exeScan = bench('etl-imds-linux-x64 scan imds-sample.etl', linux.exe, ['scan', sample, '--json'], { env });
  rmSync(cache, { recursive: true, force: true });

  // Under Wine: informative only (Wine's own process start-up dominates), not Windows figures.
  let wine;
  if (win) {
    const { WineSession, wineMissing, winPath } = await import('../scripts/win32/wine.mjs');
    if (!wineMissing()) {
      const { makeWin32Tree } = await import('../scripts/win32/package-tree.mjs');
      const { buildWin32Addon } = await import('../scripts/win32/build-addon.mjs');
      const work = mkdtempSync(path.join(os.tmpdir(), 'etl-bench-wine-'));
      const session = await WineSession.start({ dir: path.join(work, 'wine'), log });
      try {
        const tree = makeWin32Tree(path.join(work, 'pkg'), await buildWin32Addon({ log }));
        const time = async (label, exe, args) => {
          await session.run(exe, args); // warm-up (and the addon written once)
          const walls = [];
          for (let i = 0; i < runs; i++) {
            const t0 = performance.now();
            const r = await session.run(exe, args);
            walls.push((performance.now() - t0) / 1000);
            if (r.code !== 0) throw new Error(`${label}: exit ${r.code}: ${r.stderr}`);
          }
          log(`  ${label.padEnd(44)} ${s2(median(walls))} s  [${walls.map((w) => w.toFixed(2)).join(' ')}]`);
          return median(walls);
        };
        const nodeExe = nodeBinary('win32-x64');
        wine = {
          bare: await time('node.exe -e 0 under Wine', nodeExe, ['-e', '0']),
          npm: await time('node.exe bin\\etl-imds.js --version under Wine', nodeExe, [winPath(path.join(tree, 'bin', 'etl-imds.js')), '--version']),
          exe: await time('etl-imds.exe --version under Wine', win.exe, ['--version']),
        };
      } finally {
        session.stop();
        rmSync(work, { recursive: true, force: true });
      }
    }
  }

  const L = [SECTION, ''];
  L.push('`npm run build:exe -- --target linux-x64|win32-x64` (scripts/exe/build.mjs): Node ' + linux.node + ' from the npm registry with the CLI (esbuild, one CommonJS script), the scan worker and the addon injected (postject). `npm run bench -- exe` measures this section alone. Same method as above (/usr/bin/time, median of ' + runs + ' runs after a warm-up); the addon cache in a folder of the bench\'s own.', '');
  L.push('| file | size | addon inside | V8 code cache |', '|---|---|---|---|');
  L.push(`| etl-imds-linux-x64 | ${MiB(linux.bytes)} MiB | ${MiB(linux.addonBytes)} MiB | yes (built on Linux) |`);
  if (win) L.push(`| etl-imds-win32-x64.exe | ${MiB(win.bytes)} MiB | ${MiB(win.addonBytes)} MiB | no (built here on Linux: a code cache is made by the target's own V8; the release job on windows-latest builds it with one) |`);
  L.push('', '| command | wall s | peak RSS MiB |', '|---|---|---|');
  for (const [k, label] of [
    ['npm', '`node bin/etl-imds.js --version` (npm package)'],
    ['exe', '`etl-imds-linux-x64 --version` (addon cached)'],
    ['exeNoCodeCache', '`etl-imds-linux-x64 --version`, built without code cache'],
    ['exeCold', '`etl-imds-linux-x64 --version`, first run (addon written to the cache)'],
    ['npmScan', '`node bin/etl-imds.js scan fixtures/imds-sample.etl --json`'],
    ['exeScan', '`etl-imds-linux-x64 scan fixtures/imds-sample.etl --json`'],
  ]) L.push(`| ${label} | ${s2(R[k].wall)} | ${(R[k].rss / 2 ** 20).toFixed(0)} |`);
  L.push('', `Start-up: the executable takes ${s2(R.exe.wall)} s where the npm package takes ${s2(R.npm.wall)} s (${((1 - R.exe.wall / R.npm.wall) * 100).toFixed(0)} % less: one script to load instead of ~90 ES modules, and its code cache; without the code cache ${s2(R.exeNoCodeCache.wall)} s). The first run also writes the ${MiB(linux.addonBytes)} MiB addon: ${s2(R.exeCold.wall)} s.`);
  if (wine) L.push('', `Under Wine 8 (not a Windows figure: Wine's process start-up dominates; \`node.exe -e 0\` alone takes ${s2(wine.bare)} s): \`node.exe bin\\etl-imds.js --version\` ${s2(wine.npm)} s, \`etl-imds.exe --version\` ${s2(wine.exe)} s.`);
  L.push('');
  return L.join('\n');
}

/** RESULTS.md text with `section` (headed `heading`) in place of the old one (or before "## Targets"). */
export function withSection(text, section, heading = SECTION) {
  const start = text.indexOf(heading + '\n');
  if (start >= 0) {
    const next = text.indexOf('\n## ', start + heading.length);
    return text.slice(0, start) + section + (next >= 0 ? text.slice(next + 1) : '');
  }
  const targets = text.indexOf('## Targets');
  return targets >= 0 ? text.slice(0, targets) + section + '\n' + text.slice(targets) : text.trimEnd() + '\n\n' + section;
}

