// The win32-x64 addon, cross-compiled here with mingw-w64 (what release.yml builds with MSVC on
// windows-latest). Shared by the Wine tests (test/windows) and `npm run build:exe -- --target
// win32-x64`:
//   node scripts/win32/build-addon.mjs [--out FILE]     prints the path of the built etl-imds.node
// - x86_64-w64-mingw32-g++-posix: the -win32 threads variant has no std::mutex (node-addon-api).
// - napi_* come from node.exe: its exports (gendef) make a delay-load import library
//   (x86_64-w64-mingw32-dlltool), and host_module_hook.cc resolves "node.exe" to whichever
//   program loaded the addon, so etl-imds.exe works too.
// - libgcc, libstdc++ and winpthread are linked statically: the .node needs no mingw DLLs.
// Objects are cached in build-win32/ by a hash of what they are made from; the result is the same
// bytes for the same inputs. Concurrent callers wait for each other (a lock directory).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nodeBinary, PINNED_NODE_VERSION } from '../node-dist.mjs';
import { withLock } from '../lock.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const toolPrefix = 'x86_64-w64-mingw32-';
const cxx = `/usr/bin/${toolPrefix}g++-posix`;
const dlltool = `/usr/bin/${toolPrefix}dlltool`;
const gendef = '/usr/bin/gendef';

/** Why the win32 addon cannot be built here, or undefined when it can. */
export function win32BuildMissing() {
  const absent = [
    [cxx, 'mingw-w64 (x86_64-w64-mingw32-g++-posix)'],
    [dlltool, 'mingw-w64 (x86_64-w64-mingw32-dlltool)'],
    [gendef, 'mingw-w64-tools (gendef)'],
  ].filter(([f]) => !existsSync(f));
  if (absent.length) return `${[...new Set(absent.map(([, pkg]) => pkg))].join(', ')} not installed`;
  if (!nodeHeaders()) return 'Node headers (node_api.h) not found';
  return undefined;
}

function nodeHeaders() {
  const candidates = [
    path.resolve(process.execPath, '..', '..', 'include', 'node'),
    path.join(process.env.HOME ?? '', '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ];
  return candidates.find((d) => existsSync(path.join(d, 'node_api.h')));
}

/** Source lists of native/sources.gypi, by variable name. */
function sourceLists() {
  const text = readFileSync(path.join(repoRoot, 'native', 'sources.gypi'), 'utf8');
  const lists = {};
  for (const m of text.matchAll(/'(\w+)':\s*\[([^\]]*)\]/g)) lists[m[1]] = [...m[2].matchAll(/'([^']+)'/g)].map((x) => x[1]);
  return lists;
}

function headersUnder(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...headersUnder(p));
    else if (e.name.endsWith('.h')) out.push(p);
  }
  return out.sort();
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} ${args.join(' ')}\n${err}`))));
  });
}

/** Builds (or finds in the cache) the win32-x64 addon; returns the path of etl-imds.node. */
export async function buildWin32Addon({ out, jobs = Number(process.env.WIN32_BUILD_JOBS) || 2, log = () => {} } = {}) {
  const missing = win32BuildMissing();
  if (missing) throw new Error(`cannot build the win32 addon: ${missing}`);
  const buildDir = path.join(repoRoot, 'build-win32');
  mkdirSync(buildDir, { recursive: true });
  const result = await withLock(path.join(buildDir, '.lock'), async () => {
    const nodeExe = nodeBinary('win32-x64', PINNED_NODE_VERSION);
    const lists = sourceLists();
    const sources = [...lists.etl_core_sources, ...lists.etl_addon_sources, ...lists.etl_windows_sources, 'scripts/win32/host_module_hook.cc'];
    const addonApi = path.dirname(execFileSync(process.execPath, ['-p', "require.resolve('node-addon-api/napi.h')"], { cwd: repoRoot, encoding: 'utf8' }).trim());
    const flags = [
      '-std=c++17', '-O2', '-fexceptions', '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED',
      '-DBUILDING_NODE_EXTENSION', '-DWIN32_LEAN_AND_MEAN', '-DNOMINMAX', '-I', 'native', '-I', addonApi, '-I', nodeHeaders(),
    ];
    // Every object depends on every header (simple and safe), the compiler and the flags.
    const common = createHash('sha256');
    common.update(execFileSync(cxx, ['--version'], { encoding: 'utf8' }));
    common.update(JSON.stringify(flags.filter((f) => !f.startsWith('/'))));
    for (const h of [...headersUnder(path.join(repoRoot, 'native')), path.join(addonApi, 'napi.h'), path.join(addonApi, 'napi-inl.h')]) common.update(readFileSync(h));
    for (const h of ['js_native_api.h', 'js_native_api_types.h', 'node_api.h', 'node_api_types.h']) common.update(readFileSync(path.join(nodeHeaders(), h)));
    const commonKey = common.digest('hex');

    const objDir = path.join(buildDir, 'obj');
    mkdirSync(objDir, { recursive: true });
    const objects = sources.map((src) => {
      const key = createHash('sha256').update(commonKey).update(readFileSync(path.join(repoRoot, src))).digest('hex').slice(0, 16);
      return { src, obj: path.join(objDir, `${path.basename(src, '.cc')}-${key}.o`) };
    });
    const todo = objects.filter((o) => !existsSync(o.obj));
    if (todo.length) log(`compiling ${todo.length} of ${objects.length} sources with ${path.basename(cxx)} (${jobs} at a time)`);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.max(1, jobs) }, async () => {
        while (next < todo.length) {
          const { src, obj } = todo[next++];
          await run(cxx, [...flags, '-c', src, '-o', `${obj}.tmp`]);
          renameSync(`${obj}.tmp`, obj);
        }
      }),
    );

    // The delay-load import library of node.exe's Node-API exports.
    const def = execFileSync(gendef, ['-', nodeExe], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
    const napi = def.split(/\r?\n/).filter((l) => /^(napi_|node_api_)\w+$/.test(l.trim()));
    if (napi.length < 100) throw new Error(`${nodeExe}: only ${napi.length} Node-API exports found by gendef`);
    const defFile = path.join(buildDir, 'node-napi.def');
    writeFileSync(defFile, `LIBRARY "node.exe"\nEXPORTS\n${napi.map((l) => l.trim()).join('\n')}\n`);
    const delayLib = path.join(buildDir, 'libnode-napi-delay.a');
    execFileSync(dlltool, ['--input-def', defFile, '--dllname', 'node.exe', '--output-delaylib', delayLib]);

    const linked = path.join(buildDir, 'etl-imds.node');
    execFileSync(cxx, [
      '-shared', '-static', '-s', '-o', `${linked}.tmp`, ...objects.map((o) => o.obj), delayLib,
      '-ladvapi32', '-ltdh', '-Wl,--no-insert-timestamp',
    ]);
    renameSync(`${linked}.tmp`, linked);
    return linked;
  });
  if (out) {
    mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    copyFileSync(result, `${out}.tmp`);
    renameSync(`${out}.tmp`, out);
    return path.resolve(out);
  }
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--out');
  const out = i > 0 ? process.argv[i + 1] : undefined;
  buildWin32Addon({ out, log: (m) => process.stderr.write(`build-addon: ${m}\n`) }).then(
    (p) => console.log(p),
    (e) => {
      process.stderr.write(`build-addon: ${e.message}\n`);
      process.exit(1);
    },
  );
}
