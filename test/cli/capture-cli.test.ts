// `etl-imds capture --dry-run`: the exact commands, one Windows command line each, on any OS;
// the state folder untouched. Without --dry-run, anywhere but Windows: a clear error, exit 1.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCapture } from '../../src/capture/session.js';
import { windowsCommandLine } from '../../src/capture/windows-command-line.js';
import { repoRoot } from '../support/fixtures.js';

const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-capture-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  const env = { ...process.env };
  delete env.ProgramData;
  delete env.PROGRAMDATA;
  const r = spawnSync(process.execPath, [bin, 'capture', ...args], { encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.split('\n').filter(Boolean) };
}

const D = 'C:\\ProgramData\\etl-imds';
const NETSH = `netsh trace start capture=yes IPv4.Address=169.254.169.254 provider=Microsoft-Windows-Kernel-Process keywords=0x10 level=4 traceFile=${D}\\imds-netsh.etl maxSize=256 fileMode=circular persistent=yes overwrite=yes`;
const TASK = `schtasks /Create /TN etl-imds-capture-stop /XML ${D}\\capture-stop-task.xml /RU SYSTEM /F`;

describe('capture start --dry-run', () => {
  it('netsh (auto), in %ProgramData%\\etl-imds: one persistent circular capture of IMDS', () => {
    const r = cli(['start', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines).toEqual([NETSH]);
  });

  it('--duration schedules the stop; --command-lines starts the kernel session first; --max-size sizes both files', () => {
    const r = cli(['start', '--dry-run', '--duration', '24h', '--command-lines', '--max-size', '512']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines).toEqual([
      `logman start "NT Kernel Logger" -p "Windows Kernel Trace" (process) -o ${D}\\imds-kernel.etl -max 512 -f bincirc -ets`,
      NETSH.replace('maxSize=256', 'maxSize=512'),
      TASK,
    ]);
  });

  it('pktmon: filters on both IMDS addresses, whole packets, a circular file', () => {
    const r = cli(['start', '--dry-run', '--tool', 'pktmon', '--duration', '90m', '--max-size', '64']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines).toEqual([
      'pktmon filter remove',
      'pktmon filter add IMDS -i 169.254.169.254 -p 80',
      'pktmon filter add IMDSv6 -i fd00:ec2::254 -p 80',
      `pktmon start --capture --comp all --pkt-size 0 --trace -p Microsoft-Windows-Kernel-Process -k 0x10 -l 4 --file-name ${D}\\imds-pktmon.etl --file-size 64 --log-mode circular`,
      TASK,
    ]);
    const k = cli(['start', '--dry-run', '--tool', 'pktmon', '--command-lines']);
    expect(k.lines[0]).toBe(`logman start "NT Kernel Logger" -p "Windows Kernel Trace" (process) -o ${D}\\imds-kernel.etl -max 256 -f bincirc -ets`);
    expect(k.lines).toHaveLength(5);
  });

  it('a folder with spaces: each argument quoted as Windows programs split them; nothing written', () => {
    const dir = 'D:\\IMDS captures\\';
    const r = cli(['start', '--dry-run', '--dir', dir, '--command-lines']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines[0]).toBe(`logman start "NT Kernel Logger" -p "Windows Kernel Trace" (process) -o "D:\\IMDS captures\\imds-kernel.etl" -max 256 -f bincirc -ets`);
    expect(r.lines[1]).toContain(' "traceFile=D:\\IMDS captures\\imds-netsh.etl" ');
    const posixDir = path.join(tmp, 'untouched');
    expect(cli(['start', '--dry-run', '--dir', posixDir, '--duration', '7d']).code).toBe(0);
    expect(existsSync(posixDir)).toBe(false);
  });

  it('bad values are usage errors (exit 1) naming what is accepted', () => {
    const d = cli(['start', '--dry-run', '--duration', '1w']);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/--duration "1w": give a whole number of minutes, hours or days, e.g. 90m, 24h, 7d/);
    expect(cli(['start', '--dry-run', '--max-size', '0']).code).toBe(1);
    expect(cli(['start', '--dry-run', '--tool', 'wireshark']).code).toBe(1);
    const q = cli(['start', '--dry-run', '--dir', 'C:\\a"b']);
    expect(q.code).toBe(1);
    expect(q.stderr).toMatch(/unusable trace file name/);
  });
});

describe('capture stop and status --dry-run', () => {
  it('with none running: says so, exit 0, no command', () => {
    for (const c of ['stop', 'status']) {
      const r = cli([c, '--dry-run', '--dir', path.join(tmp, 'empty')]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/no capture/);
    }
  });

  it('with a capture running: the stop commands, the task removed, then the scan (kernel trace joined, format passed on)', async () => {
    const dir = path.join(tmp, 'running');
    const self = { program: process.execPath, args: [bin] };
    await startCapture(
      { dir, run: async () => ({ code: 0, output: '' }), now: () => new Date(), self, dryRun: false, say: () => {} },
      { tool: 'pktmon', maxSizeMB: 256, durationMs: 3_600_000, commandLines: true },
    );
    const r = cli(['stop', '--dry-run', '--dir', dir, '--json', '--instance-id', 'i-0abc']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.lines).toEqual([
      'pktmon stop',
      'pktmon filter remove',
      'logman stop "NT Kernel Logger" -ets',
      'schtasks /Delete /TN etl-imds-capture-stop /F',
      windowsCommandLine([process.execPath, bin, 'scan', path.join(dir, 'imds-pktmon.etl'), '--with', path.join(dir, 'imds-kernel.etl'), '--json']),
    ]);
    // NDJSON lines carry the instance and host: passed on to scan only then.
    const n = cli(['stop', '--dry-run', '--dir', dir, '--ndjson', '--instance-id', 'i-0abc', '--host', 'web 1']);
    expect(n.lines.at(-1)).toBe(windowsCommandLine([process.execPath, bin, 'scan', path.join(dir, 'imds-pktmon.etl'), '--with', path.join(dir, 'imds-kernel.etl'), '--ndjson', '--host', 'web 1', '--instance-id', 'i-0abc']));
    const s = cli(['status', '--dry-run', '--dir', dir]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.lines).toEqual(['pktmon status', 'schtasks /Query /TN etl-imds-capture-stop /V /FO LIST']);
    // A dry run changed nothing: the capture still runs.
    expect(cli(['start', '--dry-run', '--dir', dir]).stderr).toMatch(/a capture is already running in .* \(pktmon, since .*, until .*\): left as it is/);
  });

  it('--json with --ndjson or --csv is a usage error', () => {
    expect(cli(['stop', '--dry-run', '--json', '--ndjson']).code).toBe(1);
  });
});

describe.skipIf(process.platform === 'win32')('capture without --dry-run off Windows', () => {
  it('is a clear error, exit 1, for each command', () => {
    for (const c of ['start', 'stop', 'status']) {
      const r = cli([c, '--dir', path.join(tmp, 'nothing')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/capture runs netsh, pktmon, logman and schtasks, which exist only on Windows; --dry-run prints the commands on any OS/);
    }
    expect(existsSync(path.join(tmp, 'nothing'))).toBe(false);
  });
});

describe('the command lines of the SSM document (fleet/etl-imds-capture.yaml)', () => {
  it('builds start, status and stop from these flags', () => {
    const doc = readFileSync(path.join(repoRoot, 'fleet', 'etl-imds-capture.yaml'), 'utf8');
    expect(doc).toContain("$arguments = @('capture', $env:SSM_Action, '--dir', $dir)");
    expect(doc).toContain("$arguments += @('--duration', $env:SSM_Duration, '--max-size', $env:SSM_MaxSizeMB)");
    expect(doc).toContain("$arguments += '--command-lines'");
    expect(doc).toContain("$arguments += @('--ndjson', '--out', $out)");
    expect(doc).toContain("$arguments += @('--instance-id', $env:AWS_SSM_INSTANCE_ID)");
  });

  it('each of them is a command line capture takes', async () => {
    const dir = 'C:\\ProgramData\\etl-imds';
    const start = cli(['start', '--dir', dir, '--duration', '24h', '--max-size', '256', '--command-lines', '--dry-run']);
    expect(start.code, start.stderr).toBe(0);
    expect(start.lines.map((l) => l.split(' ')[0])).toEqual(['logman', 'netsh', 'schtasks']);
    const status = cli(['status', '--dir', dir, '--dry-run']);
    expect(status.code, status.stderr).toBe(0);
    // stop, with a capture running in a folder of this machine.
    const running = path.join(tmp, 'ssm');
    await startCapture(
      { dir: running, run: async () => ({ code: 0, output: '' }), now: () => new Date(), self: { program: process.execPath, args: [bin] }, dryRun: false, say: () => {} },
      { tool: 'netsh', maxSizeMB: 256, durationMs: 86_400_000, commandLines: false },
    );
    const stop = cli(['stop', '--dir', running, '--ndjson', '--out', path.join(tmp, 'ssm-out'), '--instance-id', 'i-0123456789abcdef0', '--dry-run']);
    expect(stop.code, stop.stderr).toBe(0);
    // NDJSON goes to --out by scan's own --out.
    expect(stop.lines.at(-1)).toBe(windowsCommandLine([process.execPath, bin, 'scan', path.join(running, 'imds-netsh.etl'), '--ndjson', '--instance-id', 'i-0123456789abcdef0', '--out', path.join(tmp, 'ssm-out')]));
  });
});

describe('the README documents each option of each capture command', () => {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const at = readme.indexOf('### `etl-imds capture start|stop|status`');
  const section = readme.slice(at, readme.indexOf('\n## ', at));
  /** README: option -> the commands its row names ('all' = the three). */
  const documented = new Map<string, Set<string>>();
  for (const row of section.split('\n').filter((l) => l.startsWith('| `-'))) {
    const [, options, commands] = row.split(/(?<!\\)\|/).map((c) => c.trim());
    const which = commands === 'all' ? ['start', 'stop', 'status'] : commands!.split(/,\s*/);
    for (const m of options!.matchAll(/--[a-z0-9-]+/g)) documented.set(m[0].replace(/^--no-/, '--'), new Set(which));
  }

  for (const command of ['start', 'stop', 'status']) {
    it(command, () => {
      const help = cli([command, '--help']).stdout;
      const options = [...help.matchAll(/^ {2}(?:-\w,| {3}) (--[a-z0-9-]+)/gm)].map((m) => m[1]!).filter((o) => o !== '--help' && o !== '--version');
      expect(options.length).toBeGreaterThan(2);
      const inReadme = [...documented].filter(([, cs]) => cs.has(command)).map(([o]) => o);
      // status --json is described in the text (the state as JSON), not the table.
      expect(options.sort()).toEqual([...inReadme, ...(command === 'status' ? ['--json'] : [])].sort());
    });
  }
});
