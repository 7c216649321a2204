// `etl-imds convert` as a user runs it: output naming, refusals, stdout, Ctrl-C.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../support/fixtures.js';
import { interruptAtFirstProgress } from '../support/interrupt.js';
import { backgroundTraffic, Rng, take, writeNetshEtl } from '../../tools/gen/index.js';

const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-cli-convert-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const src = path.join(repoRoot, 'fixtures/pktmon-demikernel/PktMon.etl');
const hasTshark = spawnSync('tshark', ['-v']).status === 0;

function run(args: string[], opts: { input?: Buffer } = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: tmp, input: opts.input, maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe('etl-imds convert (CLI)', () => {
  const input = path.join(tmp, 'trace.etl');
  beforeAll(() => copyFileSync(src, input));

  it('writes <input>.pcapng beside the input and says what it wrote', () => {
    const before = readFileSync(input);
    const r = run(['convert', input]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^Wrote 114 packets on \d+ interfaces? to .*trace\.pcapng/m);
    expect(existsSync(path.join(tmp, 'trace.pcapng'))).toBe(true);
    expect(readFileSync(input).equals(before)).toBe(true); // input untouched
    if (hasTshark) {
      const t = spawnSync('tshark', ['-r', path.join(tmp, 'trace.pcapng')], { encoding: 'utf8' });
      expect(t.status).toBe(0);
      expect(t.stdout.trim().split('\n').length).toBe(114);
    }
  });

  it('refuses to overwrite without --force (exit 1), overwrites with it', () => {
    const out = path.join(tmp, 'trace.pcapng');
    writeFileSync(out, 'keep me');
    const r = run(['convert', input]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/exists; use --force/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    expect(run(['convert', input, '--force']).code).toBe(0);
    expect(statSync(out).size).toBeGreaterThan(1000);
  });

  it('refuses an output that is the input: same path, a hard link, a symlink', () => {
    const before = readFileSync(input);
    const hard = path.join(tmp, 'hard.pcapng');
    const soft = path.join(tmp, 'soft.pcapng');
    linkSync(input, hard);
    symlinkSync(input, soft);
    for (const o of [input, hard, soft, `./trace.etl`]) {
      const r = run(['convert', input, '-o', o, '--force']);
      expect(r.code, o).toBe(1);
      expect(r.stderr).toMatch(/over the input/);
    }
    expect(readFileSync(input).equals(before)).toBe(true);
    rmSync(hard);
    rmSync(soft);
  });

  it('-o - writes the pcapng to stdout, summary to stderr', () => {
    const r = run(['convert', input, '-o', '-', '--dedupe']);
    expect(r.code).toBe(0);
    expect(r.stdout.readUInt32LE(0)).toBe(0x0a0d0d0a);
    expect(r.stderr).toMatch(/Wrote 38 packets .* to stdout, 76 duplicate/);
  });

  it('--json prints the summary; bad inputs and outputs exit 2 with a clear message', () => {
    const j = run(['convert', input, '-o', path.join(tmp, 'j.pcapng'), '--json']);
    expect(j.code).toBe(0);
    const s = JSON.parse(j.stdout.toString());
    expect(s.packets).toBe(114);
    expect(s.interfaces.length).toBeGreaterThan(0);
    expect(run(['convert', input, '-o', path.join(tmp, 'no', 'such', 'dir', 'x.pcapng')]).stderr).toMatch(/does not exist/);
    expect(run(['convert', input, '-o', path.join(tmp, 'no', 'x.pcapng')]).code).toBe(2);
    const text = path.join(tmp, 'notes.etl');
    writeFileSync(text, 'not a trace\n'.repeat(100));
    const r = run(['convert', text]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not an \.etl/);
    expect(existsSync(path.join(tmp, 'notes.pcapng'))).toBe(false);
  });

  it('Ctrl-C during a conversion: exit 130, no output and no temp file left', async () => {
    // A trace big enough that the conversion is still running when the signal arrives.
    const big = path.join(tmp, 'big.etl');
    await writeNetshEtl(big, take(backgroundTraffic({ rng: new Rng(7), start: 133600000000000000n, pids: [1234] }), { maxBytes: 160 * 1024 * 1024 }));
    const outDir = path.join(tmp, 'out');
    rmSync(outDir, { recursive: true, force: true });
    (await import('node:fs')).mkdirSync(outDir);
    const r = await interruptAtFirstProgress(bin, ['convert', big, '-o', path.join(outDir, 'big.pcapng')], tmp);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted/);
    // Stopped part-way: what had been written went with the temporary file.
    expect(r.lastDone).toBeLessThan(r.total);
    expect(readdirSync(outDir)).toEqual([]);
  });
});
