// Entry of etl-imds.exe / etl-imds-linux-x64, the single-file executables (Node's single executable
// applications; scripts/exe/build.mjs bundles this with esbuild and injects it with postject).
// The CLI is the npm package's; what differs is where the addon comes from (addon-cache.ts) and
// that scan's worker threads run code carried in the executable, not a script from disk.
import { getAsset } from 'node:sea';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AddonCacheError, loadAddon, prepareAddon } from './addon-cache.js';
import { ADDON_SHA256, type ExeWorkerData } from './build-info.js';
import { useNativeBinding, type NativeBinding } from '../native/binding.js';
import { useWorkerCode } from '../scan-pool.js';

async function start(): Promise<void> {
  const prepared = prepareAddon(ADDON_SHA256, () => new Uint8Array(getAsset('etl-imds.node')));
  useNativeBinding(loadAddon(prepared, ADDON_SHA256) as NativeBinding);
  // Modules that look for files beside themselves (yargs: package.json, locales) are pointed at
  // the private cache folder, where there are none, instead of folders others could write to.
  (globalThis as { etlImdsModuleUrl?: string }).etlImdsModuleUrl = pathToFileURL(path.join(path.dirname(prepared.file), 'bundle', 'node_modules', 'etl-imds.js')).href;
  useWorkerCode(getAsset('scan-worker.js', 'utf8'), { etlImdsExe: { addonFile: prepared.file } } satisfies ExeWorkerData);
  const { main } = await import('../cli/main.js');
  await main();
}

start().catch((e: unknown) => {
  const message = e instanceof AddonCacheError ? e.message : `cannot start: ${(e as Error)?.message ?? e}`;
  process.stderr.write(`etl-imds: error: ${message}\n`);
  process.exitCode = 2;
});
