// The capture commands: argument arrays (run as they are, no shell), their printed form, and the
// README's "Capturing on Windows" section, which must show exactly what the module produces.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureRecipe, captureScript, netshRecipe, pktmonRecipe, printable, printableStart } from '../../src/capture/commands.js';
import { captureWithKernelScript, kernelProcessSession } from '../../src/capture/kernel-session.js';
import { repoRoot } from '../support/fixtures.js';

/** The fenced code blocks of a README section (up to the next `## ` heading). */
function sectionBlocks(markdown: string, heading: string): string[] {
  const at = markdown.indexOf(`\n## ${heading}\n`);
  if (at < 0) throw new Error(`README has no "## ${heading}" section`);
  const rest = markdown.slice(at + 1);
  const next = rest.indexOf('\n## ', 1);
  const section = next < 0 ? rest : rest.slice(0, next);
  return [...section.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\n$/, ''));
}

describe('capture commands', () => {
  it('netsh: whole packets of IMDS, process events, a circular file, no packet truncation', () => {
    const r = netshRecipe();
    expect(r.start).toHaveLength(1);
    expect(r.start[0]!.program).toBe('netsh');
    expect(r.start[0]!.args).toEqual([
      'trace', 'start', 'capture=yes', 'IPv4.Address=169.254.169.254',
      'provider=Microsoft-Windows-Kernel-Process', 'keywords=0x10', 'level=4',
      'traceFile=C:\\imds-netsh.etl', 'maxSize=256', 'fileMode=circular', 'persistent=no', 'overwrite=yes',
    ]);
    expect(r.start[0]!.args.some((a) => /packettruncatebytes/i.test(a))).toBe(false);
    expect(r.stop.map(printable)).toEqual(['netsh trace stop']);
    expect(r.status.map(printable)).toEqual(['netsh trace show status']);
  });

  it('pktmon: filters on both IMDS addresses, whole packets at every component, process events, circular', () => {
    const r = pktmonRecipe();
    expect(r.start.map(printable)).toEqual([
      'pktmon filter remove',
      'pktmon filter add IMDS -i 169.254.169.254 -p 80',
      'pktmon filter add IMDSv6 -i fd00:ec2::254 -p 80',
      'pktmon start --capture --comp all --pkt-size 0 --trace -p Microsoft-Windows-Kernel-Process -k 0x10 -l 4 --file-name C:\\imds-pktmon.etl --file-size 256 --log-mode circular',
    ]);
    expect(r.stop.map(printable)).toEqual(['pktmon stop', 'pktmon filter remove']);
  });

  it('options change the arguments, not a shell string', () => {
    const r = captureRecipe('netsh', { traceFile: 'D:\\traces\\my trace.etl', maxSizeMB: 1024, persistent: true, imdsOnly: false, processEvents: false });
    expect(r.start[0]!.args).toEqual(['trace', 'start', 'capture=yes', 'traceFile=D:\\traces\\my trace.etl', 'maxSize=1024', 'fileMode=circular', 'persistent=yes', 'overwrite=yes']);
    // Printed for a person: the argument with a space is quoted whole, as cmd.exe and PowerShell read it.
    expect(printable(r.start[0]!)).toBe('netsh trace start capture=yes "traceFile=D:\\traces\\my trace.etl" maxSize=1024 fileMode=circular persistent=yes overwrite=yes');
    const p = captureRecipe('pktmon', { traceFile: 'C:\\x.etl', imdsOnly: false });
    expect(p.start.map(printable)).toEqual(['pktmon start --capture --comp all --pkt-size 0 --trace -p Microsoft-Windows-Kernel-Process -k 0x10 -l 4 --file-name C:\\x.etl --file-size 256 --log-mode circular']);
    expect(p.stop.map(printable)).toEqual(['pktmon stop']);
  });

  it('refuses what it cannot print as one argument or run as asked', () => {
    expect(() => netshRecipe({ traceFile: 'C:\\a"b.etl' })).toThrow(RangeError);
    expect(() => netshRecipe({ maxSizeMB: 0 })).toThrow(RangeError);
    expect(() => netshRecipe({ maxSizeMB: 1.5 })).toThrow(RangeError);
    expect(() => pktmonRecipe({ fileMode: 'single' })).toThrow(RangeError);
    expect(netshRecipe({ fileMode: 'single' }).start[0]!.args).toContain('fileMode=single');
  });

  it('printableStart joins the start commands on one line', () => {
    expect(printableStart(pktmonRecipe())).toBe(pktmonRecipe().start.map(printable).join(' && '));
  });

  it('the README shows exactly the commands the module produces', () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    expect(sectionBlocks(readme, 'Capturing on Windows')).toEqual([
      captureScript(netshRecipe()),
      captureScript(pktmonRecipe()),
      captureWithKernelScript(netshRecipe(), kernelProcessSession()),
    ]);
  });

  it('docs/providers.md shows the same pktmon commands', () => {
    const doc = readFileSync(path.join(repoRoot, 'docs', 'providers.md'), 'utf8');
    expect(sectionBlocks(doc, 'pktmon')).toContain(captureScript(pktmonRecipe()));
  });
});
