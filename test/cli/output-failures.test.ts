// Output that cannot be written: a full disk, a full stdout, a path through a file.
// Exit 2, a clear message, and nothing half-written left behind.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../support/fixtures.js';

const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
const sample = path.join(repoRoot, 'fixtures', 'imds-sample.etl');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-outfail-'));
const small = path.join(tmp, 'small');
mkdirSync(small);
// A 64 KiB file system stands in for a full disk (needs root; skipped visibly otherwise).
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]).status === 0;
if (!mounted) process.stderr.write('SKIP: cannot mount a small tmpfs here (not root?); full-disk case skipped\n');
afterAll(() => {
  if (mounted) spawnSync('umount', [small]);
  rmSync(tmp, { recursive: true, force: true });
});

describe('output failures', () => {
  it.skipIf(!mounted)('a full disk: exit 2, "No space left", no partial or temporary file', () => {
    const r = spawnSync(process.execPath, [bin, 'convert', sample, '-o', path.join(small, 'out.pcapng')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/No space left on device/);
    expect(readdirSync(small)).toEqual([]);
  });

  it('stdout that cannot take the data (/dev/full): exit 2', () => {
    const fd = openSync('/dev/full', 'w');
    const r = spawnSync(process.execPath, [bin, 'convert', sample, '-o', '-'], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/No space left|write/i);
  });

  it.skipIf(!mounted)('no room for the output spool in TMPDIR: exit 2, the reason, nothing printed, no temporary file left', () => {
    // Four traces' requests (~9 KB of JSON) spilled at once into a 4 KiB file system.
    const tiny = path.join(tmp, 'tiny');
    const inputs = path.join(tmp, 'four');
    mkdirSync(tiny);
    mkdirSync(inputs);
    for (let k = 0; k < 4; k++) symlinkSync(sample, path.join(inputs, `s${k}.etl`));
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', tiny]).status).toBe(0);
    try {
      const r = spawnSync(process.execPath, [bin, 'scan', inputs, '--json', '--no-auto-cab'], {
        encoding: 'utf8', env: { ...process.env, TMPDIR: tiny, ETL_IMDS_SPOOL_BYTES: '0' },
      });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/cannot write the temporary file in .*tiny: ENOSPC/);
      expect(r.stdout).toBe('');
      expect(readdirSync(tiny)).toEqual([]);
    } finally {
      spawnSync('umount', [tiny]);
    }
  });

  it('stdout full for the JSON of scan and info: exit 2, a one-line message (no stack trace)', () => {
    for (const args of [['scan', sample, '--json'], ['info', sample]]) {
      const fd = openSync('/dev/full', 'w');
      const r = spawnSync(process.execPath, [bin, ...args], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
      expect(r.status, args[0]).toBe(2);
      expect(r.stderr, args[0]).toBe('etl-imds: error: cannot write to stdout: ENOSPC: no space left on device, write\n');
    }
  });

  it('a reader that goes away (| head): a quiet end, exit 0', async () => {
    // 700 KB of event lines: far more than a pipe holds, so writes are still to come when it closes.
    const child = spawn(process.execPath, [bin, 'events', sample, '--ndjson'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('an input path through a regular file (unreadable): exit 2 with the reason', () => {
    const f = path.join(tmp, 'plain');
    writeFileSync(f, 'x');
    for (const cmd of ['info', 'scan', 'convert']) {
      const r = spawnSync(process.execPath, [bin, cmd, path.join(f, 'trace.etl')], { encoding: 'utf8' });
      expect(r.status, cmd).toBe(2);
      expect(r.stderr, cmd).toMatch(/cannot open: Not a directory/);
    }
  });
});
