// Where the real fixtures live. Files without a license stay in ../shared/fixtures
// (never copied into the repo); tests that need them skip, visibly, when absent.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedFixtures = process.env.ETL_IMDS_SHARED_FIXTURES ?? path.resolve(repoRoot, '..', 'shared', 'fixtures');
export const haveShared = existsSync(path.join(sharedFixtures, 'SOURCES.md'));
export const skipReason = `shared fixtures not found at ${sharedFixtures} (set ETL_IMDS_SHARED_FIXTURES)`;

export function shared(rel: string): string {
  return path.join(sharedFixtures, rel);
}

if (!haveShared) process.stderr.write(`SKIP: ${skipReason}\n`);
