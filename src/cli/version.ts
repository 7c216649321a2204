// The version `--version` prints. From package.json in the package; the single-file executable,
// which has no package.json beside it, is built with the version written in (scripts/exe).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../native/binding.js';

declare const __ETL_IMDS_VERSION__: string | undefined;

export function packageVersion(): string {
  if (typeof __ETL_IMDS_VERSION__ === 'string') return __ETL_IMDS_VERSION__;
  return (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}
