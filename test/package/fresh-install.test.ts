// The package as a Windows admin gets it: packed with a prebuilt binary, installed
// into an empty folder with no compiler on PATH, then the README's main command.
// Slow (a prebuild, a pack, an npm install): runs when ETL_IMDS_FRESH_INSTALL=1 (.ci/run sets it).
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../support/fixtures.js';

const enabled = process.env.ETL_IMDS_FRESH_INSTALL === '1';
if (!enabled) process.stderr.write('SKIP: fresh-install check (set ETL_IMDS_FRESH_INSTALL=1; .ci/run does)\n');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-fresh-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe.skipIf(!enabled)('fresh install from the packed tarball', () => {
  let tarball = '';
  it('packs with a linux-x64 prebuild (prebuildify --napi --strip) and passes publint and attw', () => {
    // A copy of the tracked tree, so the prebuild does not disturb this checkout's build/.
    const src = path.join(tmp, 'src');
    const files = execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const f of files) {
      if (!existsSync(path.join(repoRoot, f))) continue;
      mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
      copyFileSync(path.join(repoRoot, f), path.join(src, f));
    }
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(src, 'node_modules'), 'dir');
    sh('npx', ['prebuildify', '--napi', '--strip'], src);
    expect(existsSync(path.join(src, 'prebuilds', `${process.platform}-${process.arch}`, 'etl-imds.node'))).toBe(true);
    rmSync(path.join(src, 'build'), { recursive: true, force: true });
    const out = sh('npm', ['pack', '--silent'], src).trim().split('\n').pop()!;
    tarball = path.join(src, out);
    const list = sh('tar', ['tzf', tarball], src);
    expect(list).toMatch(/package\/prebuilds\/linux-x64\/etl-imds\.node/);
    expect(list).toMatch(/package\/dist\/cli\/main\.js/);
    expect(list).toMatch(/package\/fixtures\/imds-sample\.etl/);
    // The fleet kit: the NDJSON schema, the SSM document and the Athena table (docs/scan-output.md, NDJSON).
    for (const f of ['ndjson.schema.json', 'etl-imds-capture.yaml', 'athena.sql']) expect(list).toContain(`package/fleet/${f}`);
    expect(list).not.toMatch(/package\/test\//);
    // Test tooling stays out: the generator (tools/gen, its build in dist-tools) and the test hooks addon.
    expect(list).not.toMatch(/package\/(tools|dist-tools|dist\/gen)\//);
    expect(list).not.toMatch(/decompress_(js|hooks)/);
    sh('npx', ['publint', 'run', tarball, '--strict'], src);
    sh('npx', ['attw', tarball, '--profile', 'esm-only'], src);
  });

  it('installs with no compiler on PATH and runs scan and info', () => {
    expect(tarball).not.toBe('');
    const app = path.join(tmp, 'app');
    const bin = path.join(tmp, 'bin');
    mkdirSync(app);
    mkdirSync(bin);
    // Only node, npm, npx and a shell for npm's scripts: no cc, c++, g++, make or python.
    const nodeDir = path.dirname(process.execPath);
    for (const t of ['node', 'npm', 'npx']) if (existsSync(path.join(nodeDir, t))) symlinkSync(path.join(nodeDir, t), path.join(bin, t));
    symlinkSync('/bin/sh', path.join(bin, 'sh'));
    const env = { ...process.env, PATH: bin, npm_config_build_from_source: '' };
    for (const c of ['cc', 'gcc', 'g++', 'c++', 'make', 'python3']) expect(spawnSync('/bin/sh', ['-c', `command -v ${c}`], { env }).status, c).not.toBe(0);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'fresh', version: '1.0.0', private: true }));
    sh(path.join(bin, 'npm'), ['install', '--no-audit', '--no-fund', tarball], app, env);
    const pkg = path.join(app, 'node_modules', 'etl-imds');
    expect(existsSync(path.join(pkg, 'build'))).toBe(false); // nothing was compiled
    const scan = sh(path.join(bin, 'npx'), ['etl-imds', 'scan', 'node_modules/etl-imds/fixtures/imds-sample.etl'], app, env);
    expect(scan).toMatch(/3104\s+powershell\.exe/);
    expect(scan).toMatch(/1 process using IMDSv1/);
    const info = JSON.parse(sh(path.join(bin, 'npx'), ['etl-imds', 'info', '--json', path.join(repoRoot, 'fixtures/pktmon-demikernel/PktMon.etl')], app, env));
    expect(info.records).toBe(467);
    expect(readdirSync(path.join(pkg, 'prebuilds'))).toContain('linux-x64');
  });
});
