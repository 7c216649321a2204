// The test-only addon of test/etl/hooks (the reader's decompressors, exposed for tests; never
// shipped): built with node-gyp the first time, or when its sources are newer than the build.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { repoRoot } from './fixtures.js';

export interface TestHooks {
  /** Decompresses one XPRESS stream into exactly `size` bytes; throws on a bad stream. */
  xpressDecompress(src: Uint8Array, size: number): Buffer;
  lznt1Decompress(src: Uint8Array, size: number): Buffer;
}

const dir = path.join(repoRoot, 'test', 'etl', 'hooks');
const built = path.join(dir, 'build', 'Release', 'etl_imds_test_hooks.node');
const sources = ['decompress_hooks.cc', 'binding.gyp', '../../../native/etl/xpress.cc', '../../../native/etl/lznt1.cc', '../../../native/etl/xpress.h'];

let cached: TestHooks | undefined;

export function testHooks(): TestHooks {
  if (cached) return cached;
  const stale = !existsSync(built) || sources.some((s) => statSync(path.join(dir, s)).mtimeMs > statSync(built).mtimeMs);
  if (stale) {
    const nodeGyp = path.join(repoRoot, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    execFileSync(process.execPath, [nodeGyp, 'rebuild', '--directory', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  cached = createRequire(import.meta.url)(built) as TestHooks;
  return cached;
}
