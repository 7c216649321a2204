// `etl-imds capture` state logic: what start, stop and status run, in which order, what they leave
// in the state folder, and that a second start or a stop with nothing running changes nothing.
// netsh, pktmon, logman and schtasks exist only on Windows: a runner records the argument arrays
// they would get (and can make one fail). The scan at stop is the real etl-imds scan, over a
// generated trace; the windows-latest job in .github/workflows/ci.yml runs the whole for real.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CaptureCommandError, CaptureStateError, localBoundary, readState, startCapture, statePath, STATE_FILE, TASK_FILE, TASK_NAME,
  type Command, type CommandResult, type SessionContext, type StartOptions,
} from '../../src/capture/session.js';
import { statusLines, stopAndScan, type StopScanOptions } from '../../src/cli/capture.js';
import { windowsCommandLine } from '../../src/capture/windows-command-line.js';
import { repoRoot } from '../support/fixtures.js';
import { writeCallersTrace } from '../support/callers-trace.js';
import { callerScenario, FILETIME_SECOND, writeKernelEtl, writeNetshEtl } from '../../tools/gen/index.js';
import { loadCapture, placeCapture, placedTruth } from '../../tools/gen/imds.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-capture-session-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const NOW = new Date('2026-03-02T10:00:00Z');
const self = { program: process.execPath, args: [path.join(repoRoot, 'bin', 'etl-imds.js')] };

interface Recorder {
  ctx: SessionContext;
  /** Each command run, as `program arg arg ...` (the arrays themselves are in `commands`). */
  lines: string[];
  commands: Command[];
  said: string[];
}

let dirCount = 0;
/** A fresh state folder and a runner that records; `fail` says which commands exit 1. */
function recorder(fail: (c: Command) => boolean = () => false, dir = path.join(tmp, `state-${++dirCount}`)): Recorder {
  const r: Recorder = { lines: [], commands: [], said: [], ctx: undefined as unknown as SessionContext };
  r.ctx = {
    dir,
    now: () => NOW,
    self,
    dryRun: false,
    say: (l) => r.said.push(l),
    run: async (c): Promise<CommandResult> => {
      r.commands.push(c);
      r.lines.push([c.program, ...c.args].join(' '));
      return fail(c) ? { code: 1, output: `${c.program}: refused` } : { code: 0, output: '' };
    },
  };
  return r;
}

const DAY = 86_400_000;
const opts = (o: Partial<StartOptions> = {}): StartOptions => ({ tool: 'auto', maxSizeMB: 256, commandLines: false, ...o });
const noScan: StopScanOptions = { scan: false, scanArgs: [], outName: 'x', outExt: 'json' };

describe('capture start', () => {
  it('starts the kernel session, then the capture, then schedules the stop; the state says what runs', async () => {
    const r = recorder();
    const out = await startCapture(r.ctx, opts({ tool: 'netsh', durationMs: DAY, commandLines: true }));
    const dir = r.ctx.dir;
    const trace = path.join(dir, 'imds-netsh.etl');
    const kernel = path.join(dir, 'imds-kernel.etl');
    expect(r.lines).toEqual([
      `logman start NT Kernel Logger -p Windows Kernel Trace (process) -o ${kernel} -max 256 -f bincirc -ets`,
      `netsh trace start capture=yes IPv4.Address=169.254.169.254 provider=Microsoft-Windows-Kernel-Process keywords=0x10 level=4 traceFile=${trace} maxSize=256 fileMode=circular persistent=yes overwrite=yes`,
      `schtasks /Create /TN ${TASK_NAME} /XML ${path.join(dir, TASK_FILE)} /RU SYSTEM /F`,
    ]);
    // Arguments are arrays: the session name with its spaces is one argument.
    expect(r.commands[0]!.args.slice(0, 2)).toEqual(['start', 'NT Kernel Logger']);
    expect(out.started).toBe(true);
    const state = readState(dir)!;
    expect(state).toEqual(out.state);
    expect(state).toMatchObject({
      version: 1, phase: 'running', tool: 'netsh', startedAt: NOW.toISOString(), stopsAt: new Date(NOW.getTime() + DAY).toISOString(),
      stoppedAt: null, maxSizeMB: 256, traceFile: trace, kernelTrace: kernel, task: TASK_NAME,
    });
    // Stopped in the reverse order: the capture, then the kernel session (its rundown covers the capture's end).
    expect(state.stop.map((c) => [c.program, ...c.args].join(' '))).toEqual(['netsh trace stop', 'logman stop NT Kernel Logger -ets']);
    // Only the state and the task definition were written; no temporary file is left.
    expect(readdirSync(dir).sort()).toEqual([STATE_FILE, TASK_FILE].sort());
  });

  it('the scheduled task: UTF-16 XML, SYSTEM, once at the end of --duration (or at the next boot), running stop --no-scan', async () => {
    const r = recorder();
    r.ctx.dir = path.join(tmp, 'a dir & <spaces>\\');
    await startCapture(r.ctx, opts({ tool: 'pktmon', durationMs: 90 * 60_000 }));
    const bytes = readFileSync(path.join(r.ctx.dir, TASK_FILE));
    expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe]); // UTF-16LE byte order mark
    const xml = bytes.subarray(2).toString('utf16le');
    expect(xml).toMatch(/^<\?xml version="1\.0" encoding="UTF-16"\?>\r\n<Task version="1\.2" xmlns="http:\/\/schemas\.microsoft\.com\/windows\/2004\/02\/mit\/task">/);
    expect(xml).toContain(`<StartBoundary>${localBoundary(new Date(NOW.getTime() + 90 * 60_000))}</StartBoundary>`);
    expect(xml).toContain('<UserId>S-1-5-18</UserId>');
    expect(xml).toContain('<StartWhenAvailable>true</StartWhenAvailable>');
    const text = (tag: string) => {
      const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
      return m![1]!.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    };
    expect(text('Command')).toBe(self.program);
    expect(text('Arguments')).toBe(windowsCommandLine([...self.args, 'capture', 'stop', '--dir', r.ctx.dir, '--no-scan']));
    expect(text('WorkingDirectory')).toBe(r.ctx.dir);
  });

  it('a local time without a zone, as Task Scheduler reads StartBoundary', () => {
    const d = new Date(2026, 0, 5, 7, 8, 9);
    expect(localBoundary(d)).toBe('2026-01-05T07:08:09');
  });

  it('without --duration: no task; the capture runs until stop', async () => {
    const r = recorder();
    await startCapture(r.ctx, opts({ tool: 'pktmon', maxSizeMB: 64 }));
    expect(r.lines.some((l) => l.startsWith('schtasks'))).toBe(false);
    expect(r.lines.at(-1)).toBe(`pktmon start --capture --comp all --pkt-size 0 --trace -p Microsoft-Windows-Kernel-Process -k 0x10 -l 4 --file-name ${path.join(r.ctx.dir, 'imds-pktmon.etl')} --file-size 64 --log-mode circular`);
    expect(readState(r.ctx.dir)).toMatchObject({ tool: 'pktmon', stopsAt: null, task: null, kernelTrace: null });
    expect(existsSync(path.join(r.ctx.dir, TASK_FILE))).toBe(false);
  });

  it('a second start leaves the one capture running and runs nothing', async () => {
    const r = recorder();
    await startCapture(r.ctx, opts({ durationMs: DAY }));
    const before = readFileSync(statePath(r.ctx.dir), 'utf8');
    const ran = r.lines.length;
    const again = await startCapture(r.ctx, opts({ tool: 'pktmon', commandLines: true }));
    expect(again).toMatchObject({ started: false, reason: 'running' });
    expect(r.lines.length).toBe(ran);
    expect(readFileSync(statePath(r.ctx.dir), 'utf8')).toBe(before);
  });

  it('auto: pktmon when netsh cannot start a capture', async () => {
    const r = recorder((c) => c.program === 'netsh' && c.args[1] === 'start');
    const out = await startCapture(r.ctx, opts({ commandLines: true }));
    expect(r.lines.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual([
      'logman start NT', 'netsh trace start', 'pktmon filter remove', 'pktmon filter add', 'pktmon filter add', 'pktmon start --capture',
    ]);
    expect(out.state.tool).toBe('pktmon');
    expect(readState(r.ctx.dir)!.stop.map((c) => [c.program, ...c.args].join(' '))).toEqual(['pktmon stop', 'pktmon filter remove', 'logman stop NT Kernel Logger -ets']);
    expect(r.said.join('\n')).toMatch(/trying pktmon/);
  });

  it('a step that fails undoes what was started, leaves no state, and says which command failed', async () => {
    const r = recorder((c) => c.program === 'pktmon' && c.args[0] === 'start');
    await expect(startCapture(r.ctx, opts({ tool: 'pktmon', commandLines: true }))).rejects.toThrow(CaptureCommandError);
    // Its filters are removed, but no pktmon stop: the session that made the start fail may be someone else's.
    expect(r.lines.slice(-3)).toEqual([expect.stringMatching(/^pktmon start /), 'pktmon filter remove', 'logman stop NT Kernel Logger -ets']);
    expect(existsSync(statePath(r.ctx.dir))).toBe(false);

    const t = recorder((c) => c.program === 'schtasks');
    const err = await startCapture(t.ctx, opts({ tool: 'netsh', durationMs: DAY })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaptureCommandError);
    expect((err as Error).message).toMatch(/schedule the stop after --duration \(as SYSTEM\) failed: schtasks \/Create .* exited 1:\nschtasks: refused/);
    expect(t.lines.slice(-1)).toEqual(['netsh trace stop']);
    expect(existsSync(statePath(t.ctx.dir))).toBe(false);
    expect(existsSync(path.join(t.ctx.dir, TASK_FILE))).toBe(false);
  });

  it('a state file that is not ours is an error naming it, not a capture', async () => {
    const r = recorder();
    mkdirSync(r.ctx.dir, { recursive: true });
    writeFileSync(statePath(r.ctx.dir), '{"version": 7}');
    await expect(startCapture(r.ctx, opts())).rejects.toThrow(CaptureStateError);
    writeFileSync(statePath(r.ctx.dir), 'not json');
    expect(() => readState(r.ctx.dir)).toThrow(new RegExp(`${STATE_FILE.replace('.', '\\.')} is not JSON`));
    expect(r.lines).toEqual([]);
  });
});

describe('capture stop and status', () => {
  let r: Recorder;
  beforeEach(() => {
    r = recorder();
  });

  it('stop with none running says so, runs nothing and exits 0', async () => {
    expect(await stopAndScan(r.ctx, noScan)).toBe(0);
    expect(r.lines).toEqual([]);
    expect(r.said).toEqual([`no capture is running (nothing in ${r.ctx.dir})`]);
    expect(statusLines(readState(r.ctx.dir), r.ctx.dir)).toEqual([`no capture in ${r.ctx.dir}`]);
  });

  it('stop --no-scan (the scheduled task): stops the capture, the kernel session and the task; the trace waits to be scanned', async () => {
    await startCapture(r.ctx, opts({ tool: 'netsh', durationMs: DAY, commandLines: true }));
    r.lines.length = 0;
    expect(await stopAndScan({ ...r.ctx, now: () => new Date(NOW.getTime() + DAY) }, noScan)).toBe(0);
    expect(r.lines).toEqual(['netsh trace stop', 'logman stop NT Kernel Logger -ets', `schtasks /Delete /TN ${TASK_NAME} /F`]);
    const state = readState(r.ctx.dir)!;
    expect(state).toMatchObject({ phase: 'stopped', stoppedAt: new Date(NOW.getTime() + DAY).toISOString() });
    expect(existsSync(path.join(r.ctx.dir, TASK_FILE))).toBe(false);
    expect(statusLines(state, r.ctx.dir)[0]).toMatch(/^stopped at 2026-03-03T10:00:00\.000Z \(netsh, started 2026-03-02T10:00:00\.000Z\), not scanned yet/);
    // Again: nothing left to stop; a start refuses to overwrite the trace that waits.
    r.lines.length = 0;
    expect(await stopAndScan(r.ctx, noScan)).toBe(0);
    expect(r.lines).toEqual([]);
    expect(await startCapture(r.ctx, opts())).toMatchObject({ started: false, reason: 'unscanned' });
    expect(r.lines).toEqual([]);
  });

  it('a stop command that fails (the session ended otherwise) is said, and the rest still runs', async () => {
    const f = recorder((c) => c.program === 'netsh' && c.args[1] === 'stop');
    await startCapture(f.ctx, opts({ tool: 'netsh', durationMs: DAY, commandLines: true }));
    await stopAndScan(f.ctx, noScan);
    expect(f.lines.slice(-3)).toEqual(['netsh trace stop', 'logman stop NT Kernel Logger -ets', `schtasks /Delete /TN ${TASK_NAME} /F`]);
    expect(f.said.join('\n')).toMatch(/warning: stop it and write the trace file failed: netsh trace stop exited 1/);
    expect(readState(f.ctx.dir)!.phase).toBe('stopped');
  });

  it('status: since when, until when, how big the trace is', async () => {
    await startCapture(r.ctx, opts({ tool: 'netsh', durationMs: DAY, commandLines: true }));
    const state = readState(r.ctx.dir)!;
    writeFileSync(state.traceFile, Buffer.alloc(3 << 20));
    expect(statusLines(state, r.ctx.dir)).toEqual([
      `running since 2026-03-02T10:00:00.000Z (netsh), stops by itself at 2026-03-03T10:00:00.000Z (scheduled task ${TASK_NAME})`,
      `trace: ${state.traceFile}, 3.0 MB (circular, at most 256 MB)`,
      `kernel trace: ${state.kernelTrace}, not written yet (circular, at most 256 MB)`,
    ]);
  });

  describe('stop scans the trace with etl-imds scan', () => {
    it('--json --out: the scan of the stopped capture in a new file; the folder then holds no capture', async () => {
      await startCapture(r.ctx, opts({ tool: 'netsh', commandLines: true }));
      const state = readState(r.ctx.dir)!;
      await writeCallersTrace(state.traceFile, 'netsh', [{ capture: 'curl-v1', at: 1, pids: { 57116: 4100 } }], { backgroundBytes: 64 * 1024 });
      const out = path.join(tmp, `out-${dirCount}`);
      const code = await stopAndScan(r.ctx, { scan: true, scanArgs: ['--json', '--quiet'], out, outName: 'i-0123456789abcdef0-20260302T100000Z', outExt: 'json' });
      expect(code).toBe(0);
      expect(readdirSync(out)).toEqual(['i-0123456789abcdef0-20260302T100000Z.json']);
      const scan = JSON.parse(readFileSync(path.join(out, readdirSync(out)[0]!), 'utf8'));
      expect(scan.files.map((f: { file: string }) => f.file)).toEqual([state.traceFile]);
      expect(scan.requests.filter((q: { pid: number; class: string }) => q.pid === 4100 && q.class === 'v1').length).toBeGreaterThan(0);
      // The kernel session wrote nothing here (logman did not run): said, and scanned without it.
      expect(r.said.join('\n')).toMatch(/imds-kernel\.etl is not there: scanning without command lines/);
      expect(existsSync(statePath(r.ctx.dir))).toBe(false);
      expect(existsSync(state.traceFile)).toBe(true); // the trace stays
    });

    it('--command-lines: the kernel trace is joined, and each caller has its command line (what the windows-latest job checks)', async () => {
      await startCapture(r.ctx, opts({ tool: 'netsh', commandLines: true, durationMs: DAY }));
      const state = readState(r.ctx.dir)!;
      // The scenario's machine (its processes with their command lines), where only curl.exe (PID
      // 4200, alive from 0.5 s to 1.4 s) calls IMDS, at 1 s: its requests are the only ones.
      const sc = callerScenario(repoRoot);
      const common = { startTime: sc.start, endTime: sc.end, bootTime: sc.bootTime, numberOfProcessors: 2 };
      const curlV1 = loadCapture(path.join(repoRoot, 'fixtures', 'imds', 'curl-v1.json'));
      const place = { start: sc.start + FILETIME_SECOND, cpu: 0, pid: () => 4200 };
      await writeNetshEtl(state.traceFile, placeCapture(curlV1, place), common);
      // The kernel session starts before the capture and stops after it.
      await writeKernelEtl(state.kernelTrace!, { ...common, startTime: sc.start - FILETIME_SECOND, endTime: sc.end + FILETIME_SECOND, kernelProcesses: sc.processes });
      const out = path.join(tmp, `out-${dirCount}`);
      expect(await stopAndScan(r.ctx, { scan: true, scanArgs: ['--json', '--quiet'], out, outName: 'host', outExt: 'json' })).toBe(0);
      const scanFile = path.join(out, 'host.json');
      const curl = JSON.parse(readFileSync(scanFile, 'utf8')).requests.filter((q: { pid: number }) => q.pid === 4200);
      expect(curl.length).toBeGreaterThan(0);
      for (const q of curl) expect(q.commandLine).toBe(sc.processes.find((p) => p.pid === 4200)!.commandLine);
      // scripts/ci/check-capture.mjs --command-lines passes on it, as in the windows-latest job.
      const truth = placedTruth(curlV1, place);
      const expected = path.join(tmp, `expected-${dirCount}.json`);
      writeFileSync(expected, JSON.stringify({ callers: [{ pid: 4200, class: truth[0]!.class, paths: [...new Set(truth.map((t) => t.path))], image: 'curl.exe' }] }));
      const check = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'ci', 'check-capture.mjs'), '--expect', expected, '--command-lines', '--scan-json', scanFile], { encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
    });

    it('--ndjson --out with --instance-id: scan writes its NDJSON file into the folder, each line carrying the instance', async () => {
      await startCapture(r.ctx, opts({ tool: 'pktmon' }));
      const state = readState(r.ctx.dir)!;
      await writeCallersTrace(state.traceFile, 'pktmon', [{ capture: 'curl-v1', at: 1, pids: { 57116: 4100 } }], { backgroundBytes: 64 * 1024 });
      const out = path.join(tmp, `out-${dirCount}`);
      const scanArgs = ['--ndjson', '--quiet', '--instance-id', 'i-0123456789abcdef0'];
      expect(await stopAndScan(r.ctx, { scan: true, scanArgs, out, outName: 'unused', outExt: 'txt' })).toBe(0);
      const files = readdirSync(out);
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^i-0123456789abcdef0-.*\.ndjson$/);
      const lines = readFileSync(path.join(out, files[0]!), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.every((l: { instanceId: string }) => l.instanceId === 'i-0123456789abcdef0')).toBe(true);
      expect(lines.some((l: { type: string; pid: number; class: string }) => l.type === 'request' && l.pid === 4100 && l.class === 'v1')).toBe(true);
      expect(readState(r.ctx.dir)).toBe(null);
    });

    it('a trace that was never written: exit 2, nothing to scan, and the folder free for a new start', async () => {
      await startCapture(r.ctx, opts({ tool: 'netsh' }));
      const err = await stopAndScan(r.ctx, { scan: true, scanArgs: ['--json'], outName: 'x', outExt: 'json' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ exitCode: 2, message: expect.stringMatching(/imds-netsh\.etl: the trace is not there \(netsh wrote nothing\): nothing to scan/) });
      expect(readState(r.ctx.dir)).toBe(null);
    });

    it('a scan that fails leaves no output file and keeps the capture to be scanned again', async () => {
      await startCapture(r.ctx, opts({ tool: 'pktmon' }));
      const state = readState(r.ctx.dir)!;
      writeFileSync(state.traceFile, 'not an etl file');
      const out = path.join(tmp, `out-${dirCount}`);
      const code = await stopAndScan(r.ctx, { scan: true, scanArgs: ['--json', '--quiet'], out, outName: 'host', outExt: 'json' });
      expect(code).toBe(2);
      expect(readdirSync(out)).toEqual([]);
      expect(readState(r.ctx.dir)!.phase).toBe('stopped');
      expect(r.said.join('\n')).toMatch(/the scan failed \(exit 2\): the capture stays stopped/);
    });
  });
});
