// The assertion of the windows-latest capture job (scripts/ci/check-capture.mjs) on generated
// netsh and pktmon traces in which known PIDs make the job's three kinds of call: it passes when
// scan lists exactly those PIDs with those classes, and names what is wrong otherwise. The job
// itself runs only on GitHub's runners; this is what makes its verdict trustworthy here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../support/fixtures.js';
import { writeCallersTrace, type CallersTrace } from '../support/callers-trace.js';

const script = path.join(repoRoot, 'scripts', 'ci', 'check-capture.mjs');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-check-capture-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// As on the runner: curl.exe without a token (4100), a v2 GET (4204) and a token PUT (4200) from
// processes of their own, and an unrelated process (4300) calling the service meanwhile.
const OURS = [
  { capture: 'curl-v1', at: 1, pids: { 57116: 4100 } },
  { capture: 'curl-v2', at: 2, pids: { 57316: 4200, 57320: 4204 } },
];
const OTHER = { capture: 'sdk-js-v1', at: 3, pids: { 64648: 4300 } };

interface Caller { pid: number; class: string; paths: string[] }
function expectedFrom(trace: CallersTrace, pids: number[]): { callers: Caller[] } {
  const callers = pids.map((pid) => {
    const reqs = trace.truth.filter((t) => t.pid === pid);
    return { pid, class: reqs[0]!.class, paths: [...new Set(reqs.map((r) => r.path))] };
  });
  return { callers };
}

function check(trace: string, expected: unknown, extra: string[] = []) {
  const file = path.join(tmp, `expect-${Math.random().toString(36).slice(2)}.json`);
  // As PowerShell 5 writes it: UTF-8 with a byte order mark.
  writeFileSync(file, '\uFEFF' + JSON.stringify(expected));
  const r = spawnSync(process.execPath, [script, '--expect', file, ...extra, trace], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const form of ['netsh', 'pktmon'] as const) {
  describe(`check-capture on a generated ${form} capture`, () => {
    let trace: CallersTrace;
    beforeAll(async () => {
      trace = await writeCallersTrace(path.join(tmp, `${form}.etl`), form, [...OURS, OTHER], { backgroundBytes: 256 * 1024 });
    });

    it('passes when scan lists exactly the callers with their classes (another process calling meanwhile is no fault)', () => {
      const r = check(trace.file, expectedFrom(trace, [4100, 4204, 4200]));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/each of PIDs 4100 \(v1\), 4204 \(v2\), 4200 \(token\) found/);
      expect(r.stdout).toMatch(/PID\s+4300\s+v1/); // listed, not failed
    });

    it('fails, naming the problem, when a class, a PID or a request is not as expected', () => {
      const good = expectedFrom(trace, [4100, 4204, 4200]);
      const cases: [string, { callers: Caller[] }, RegExp][] = [
        ['wrong class', { callers: good.callers.map((c) => (c.pid === 4100 ? { ...c, class: 'v2' } : c)) }, /PID 4100: GET \S+ classed v1, expected v2/],
        ['a PID that made no call', { callers: [...good.callers, { pid: 9999, class: 'v1', paths: ['/latest/meta-data/nothing'] }] }, /PID 9999 \(v1\): no request found/],
        ['our request credited to another PID', { callers: good.callers.map((c) => (c.pid === 4204 ? { ...c, pid: 4208 } : c)) }, /credited to PID 4204, which is not one of ours/],
        ['a request of ours not expected', { callers: good.callers.map((c) => (c.pid === 4100 ? { ...c, paths: c.paths.slice(0, 1) } : c)) }, /PID 4100: an unexpected request GET/],
      ];
      for (const [what, expected, message] of cases) {
        const r = check(trace.file, expected);
        expect(r.code, what).toBe(1);
        expect(r.stderr, what).toMatch(message);
      }
    });

    it('a scan that cannot run is exit 2, not a pass', () => {
      expect(check(path.join(tmp, 'missing.etl'), expectedFrom(trace, [4100])).code).toBe(2);
      // The tdh backend exists only in Windows builds (on Windows the capture job itself runs it).
      if (process.platform !== 'win32') expect(check(trace.file, expectedFrom(trace, [4100]), ['--backend', 'tdh']).code).toBe(2);
    });
  });
}

describe('check-capture --scan-json: a scan made already (capture stop --json --out)', () => {
  let trace: CallersTrace;
  let scanFile: string;
  beforeAll(async () => {
    trace = await writeCallersTrace(path.join(tmp, 'stopped.etl'), 'netsh', [...OURS, OTHER], { backgroundBytes: 64 * 1024 });
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'etl-imds.js'), 'scan', '--json', '--quiet', trace.file], { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(r.status, r.stderr).toBe(0);
    scanFile = path.join(tmp, 'stopped.json');
    writeFileSync(scanFile, r.stdout);
  });

  it('holds the same assertions as a scan it runs itself', () => {
    const good = expectedFrom(trace, [4100, 4204, 4200]);
    const ok = check(scanFile, good, ['--scan-json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/stopped\.json: each of PIDs 4100 \(v1\), 4204 \(v2\), 4200 \(token\) found/);
    const wrong = check(scanFile, { callers: good.callers.map((c) => (c.pid === 4100 ? { ...c, class: 'v2' } : c)) }, ['--scan-json']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/PID 4100: GET \S+ classed v1, expected v2/);
    expect(check(path.join(tmp, 'no-such.json'), good, ['--scan-json']).code).toBe(2);
  });

  it('--command-lines wants a command line naming each caller\'s image: none in a capture without a kernel session', () => {
    const expected = { callers: expectedFrom(trace, [4100]).callers.map((c) => ({ ...c, image: 'curl.exe' })) };
    const r = check(scanFile, expected, ['--command-lines', '--scan-json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/PID 4100: GET \S+ has command line null, expected one naming curl\.exe/);
  });
});

describe('the capture job in ci.yml', () => {
  const ci = readFileSync(path.join(repoRoot, '.github', 'workflows', 'ci.yml'), 'utf8');
  it('captures with netsh and pktmon and checks through both backends and etl-imds.exe', () => {
    expect(ci).toMatch(/netsh trace start capture=yes IPv4\.Address=169\.254\.169\.254/);
    expect(ci).toMatch(/pktmon start --capture/);
    expect(ci).toMatch(/scripts[\\/]ci[\\/]imds-callers\.ps1/);
    for (const form of ['netsh', 'pktmon']) {
      for (const backend of ['portable', 'tdh']) {
        expect(ci).toContain(`--expect "$env:RUNNER_TEMP\\callers-${form}.json" --backend ${backend} "$env:RUNNER_TEMP\\imds-${form}.etl"`);
        expect(ci).toContain(`--etl-imds dist-exe\\etl-imds-win32-x64.exe --expect "$env:RUNNER_TEMP\\callers-${form}.json" --backend ${backend} "$env:RUNNER_TEMP\\imds-${form}.etl"`);
      }
    }
  });
  it('runs etl-imds capture start, the callers, status and stop --json --out, and checks what the scan found', () => {
    for (const form of ['netsh', 'pktmon']) {
      expect(ci).toMatch(new RegExp(`& \\$exe capture start --dir \\$dir --duration \\d+m --max-size 64 (--command-lines )?--tool ${form}`));
      expect(ci).toContain(`./scripts/ci/imds-callers.ps1 -Out "$env:RUNNER_TEMP\\callers-capture-${form}.json"`);
      expect(ci).toContain(`& $exe capture stop --dir $dir --json --out "$env:RUNNER_TEMP\\capture-${form}-out"`);
      expect(ci).toMatch(new RegExp(`check-capture\\.mjs --expect "\\$env:RUNNER_TEMP\\\\callers-capture-${form}\\.json" (--command-lines )?--scan-json \\(Get-ChildItem "\\$env:RUNNER_TEMP\\\\capture-${form}-out\\\\\\*\\.json"\\)\\.FullName`));
    }
    expect(ci).toContain('--command-lines --scan-json');
    // One capture is ended by its scheduled stop, which the job waits for.
    expect(ci).toMatch(/while \(\(\$state\.phase -ne 'stopped' -or \$task\) -and \(Get-Date\) -lt \$deadline\)/);
  });
});
