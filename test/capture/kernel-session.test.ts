// The kernel process session the README gives: argument arrays, their printed form, and the README
// and docs showing exactly those commands; the README's scan examples are what scan prints.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { kernelProcessSession, printable, scanWithKernel } from '../../src/capture/kernel-session.js';
import { repoRoot } from '../support/fixtures.js';

const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const providers = readFileSync(path.join(repoRoot, 'docs', 'providers.md'), 'utf8');

describe('kernel process session', () => {
  it('logman with the kernel provider and its process flag, as arguments; circular on request', () => {
    const k = kernelProcessSession();
    expect(k.start.map((c) => [c.program, ...c.args])).toEqual([['logman', 'start', 'NT Kernel Logger', '-p', 'Windows Kernel Trace', '(process)', '-o', 'C:\\imds-kernel.etl', '-ets']]);
    expect(k.stop.map((c) => [c.program, ...c.args])).toEqual([['logman', 'stop', 'NT Kernel Logger', '-ets']]);
    const c = kernelProcessSession({ traceFile: 'D:\\traces\\k.etl', circularMB: 256 });
    expect(c.start[0]!.args).toEqual(['start', 'NT Kernel Logger', '-p', 'Windows Kernel Trace', '(process)', '-o', 'D:\\traces\\k.etl', '-max', '256', '-f', 'bincirc', '-ets']);
    expect(() => kernelProcessSession({ traceFile: 'a"b' })).toThrow(RangeError);
    expect(() => kernelProcessSession({ circularMB: 0 })).toThrow(RangeError);
    expect(printable(scanWithKernel('C:\\trace.etl', k))).toBe('etl-imds scan C:\\trace.etl --with C:\\imds-kernel.etl');
  });

  it('README and docs/providers.md show exactly these commands (quoted for cmd.exe and PowerShell alike)', () => {
    const k = kernelProcessSession();
    const start = printable(k.start[0]!);
    expect(start).toBe('logman start "NT Kernel Logger" -p "Windows Kernel Trace" "(process)" -o C:\\imds-kernel.etl -ets');
    for (const doc of [readme, providers]) {
      expect(doc).toContain(start);
      expect(doc).toContain(printable(k.stop[0]!));
    }
    expect(readme).toContain(printable(scanWithKernel('C:\\imds-netsh.etl', k)));
  });
});

describe('README scan examples', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'etl-imds.js'), ...args], { cwd: repoRoot, encoding: 'utf8' }).stdout;
  /** The lines of the README code block that follows `$ <command>`, up to the next `$` or the end of the block. */
  const shown = (command: string) => {
    const at = readme.indexOf(`$ ${command}\n`);
    expect(at, command).toBeGreaterThan(0);
    const rest = readme.slice(at + command.length + 3);
    return rest.slice(0, Math.min(...['\n$ ', '\n```'].map((m) => rest.indexOf(m)).filter((i) => i >= 0))).replace(/\n+$/, '');
  };
  const trim = (s: string) => s.replace(/\n+$/, '');
  it('with --with and --pid, the README shows what scan prints', () => {
    expect(shown('etl-imds scan fixtures/imds-sample.etl --with fixtures/imds-sample-kernel.etl')).toBe(
      trim(run(['scan', 'fixtures/imds-sample.etl', '--with', 'fixtures/imds-sample-kernel.etl', '--width', '100'])),
    );
    expect(shown('etl-imds scan fixtures/imds-sample.etl --with fixtures/imds-sample-kernel.etl --pid 3104')).toBe(
      trim(run(['scan', 'fixtures/imds-sample.etl', '--with', 'fixtures/imds-sample-kernel.etl', '--pid', '3104'])),
    );
    const plain = run(['scan', 'fixtures/imds-sample.etl']);
    expect(readme).toContain('```\n' + plain + '```');
  });
});
