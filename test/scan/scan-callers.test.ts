// "Who is calling", on traces the generator writes in the real on-disk formats: a netsh and a
// pktmon capture with Microsoft-Windows-Kernel-Process events, and a kernel process trace
// (WPR-style, kernel Process events with command lines and accounts) taken beside them
// (src/gen/callers.ts). Each caller's command line, parents, session, account, start and exit
// are checked against the scenario, field by field, through scanFile and through the CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  callerScenario,
  FILETIME_SECOND,
  scenarioImage,
  SCENARIO_USER,
  tasklistSvc,
  writeKernelEtl,
  writeNetshEtl,
  writePktmonEtl,
  type CallerScenario,
} from '../../tools/gen/index.js';
import { scanFile, type FileScan, type ScanProcess } from '../../src/scan.js';
import { displayWidth } from '../../src/cli/text.js';
import { fileTimeToIso } from '../../src/time.js';
import { repoRoot } from '../support/fixtures.js';

const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-callers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const file = (name: string) => path.join(tmp, name);

function run(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let s: CallerScenario;
const iso = (t: bigint | undefined) => (t === undefined ? null : fileTimeToIso(t));
const byKey = (scan: { processes: ScanProcess[] }, key: string) => scan.processes.find((p) => p.key === key)!;
const proc = (pid: number, image: string) => s.processes.find((p) => p.pid === pid && scenarioImage(p) === image)!;
const common = () => ({ startTime: s.start, endTime: s.end, bootTime: s.bootTime, numberOfProcessors: 2 });
// The kernel session is started before the capture and stopped after it, as README says.
const kernelSpan = () => ({ ...common(), startTime: s.start - FILETIME_SECOND, endTime: s.end + FILETIME_SECOND });

beforeAll(async () => {
  s = callerScenario(repoRoot);
  await writeNetshEtl(file('netsh.etl'), s.packets, { ...common(), processes: s.processes });
  await writePktmonEtl(file('pktmon.etl'), s.packets, { ...common(), processes: s.processes });
  await writeKernelEtl(file('kernel.etl'), { ...kernelSpan(), kernelProcesses: s.processes });
});

/** The caller instances of the scenario: key, pid, image, and the PIDs of their whole chain. */
const CALLERS = [
  { key: '3104#1', pid: 3104, image: 'powershell.exe', chain: [3100, 1020, 640, 520], exitedParent: 412 },
  { key: '4200#1', pid: 4200, image: 'curl.exe', chain: [3104, 3100, 1020, 640, 520], exitedParent: 412 },
  { key: '2900#1', pid: 2900, image: 'amazon-ssm-agent.exe', chain: [640, 520], exitedParent: 412 },
  { key: '5000#1', pid: 5000, image: 'python.exe', chain: [5100, 1020, 640, 520], exitedParent: 412 },
  { key: '5000#2', pid: 5000, image: 'node.exe', chain: [2400], exitedParent: 2300 },
];

/** What Kernel-Process events alone tell about each caller: no command lines, no accounts. */
function checkKernelProcessFacts(r: FileScan) {
  expect(r.diagnostics).toEqual([]);
  expect(r.processes.map((p) => p.key).sort()).toEqual(CALLERS.map((c) => c.key).sort());
  for (const c of CALLERS) {
    const p = byKey(r, c.key);
    const want = proc(c.pid, c.image);
    expect(p, c.key).toMatchObject({
      pid: c.pid,
      image: c.image,
      imagePath: want.image,
      sessionId: want.sessionId,
      commandLine: null,
      user: null,
      nameSource: 'trace',
      nameConfidence: 'high',
      // Started in the trace: the start event's time; running before it: the rundown's CreateTime.
      startTime: iso(want.startTime ?? want.createTime),
      exitTime: iso(want.exitTime),
    });
    expect(p.parents.map((x) => x.pid), c.key).toEqual(c.chain);
    expect(p.parents.map((x) => x.image)).toEqual(c.chain.map((pid) => scenarioImage(s.processes.find((q) => q.pid === pid)!)));
    expect(p.parents.every((x) => x.commandLine === null)).toBe(true);
    expect(p.parentsEnd).toEqual({ reason: 'exited-before-capture', pid: c.exitedParent });
  }
  // The parents' lives: cmd.exe 3100 started and exited during the capture; services.exe before it.
  const curl = byKey(r, '4200#1');
  expect(curl.parents[1]).toMatchObject({ pid: 3100, startTime: iso(proc(3100, 'cmd.exe').startTime), exitTime: iso(proc(3100, 'cmd.exe').exitTime) });
  expect(curl.parents[3]).toMatchObject({ pid: 640, startTime: iso(proc(640, 'services.exe').createTime), exitTime: null });
  // Every request names its process instance; each instance has exactly the requests of its process.
  for (const q of r.requests) expect(r.processes.some((p) => p.key === q.processKey)).toBe(true);
  // Each instance has the requests of its own process, told apart by their client ports.
  const requestsOf = (key: string) => r.requests.filter((q) => q.processKey === key).map((q) => `${q.clientPort} ${q.class} ${q.method} ${q.path} ${q.status}`).sort();
  const truthOf = (pid: number, image: string) => s.truth.filter((t) => t.pid === pid && t.image === image).map((t) => `${t.clientPort} ${t.class} ${t.method} ${t.path} ${t.status}`).sort();
  for (const c of CALLERS) expect(requestsOf(c.key), c.key).toEqual(truthOf(c.pid, c.image));
  expect(byKey(r, '5000#1')).toMatchObject({ v1: 2, token: 1, v2: 0 });
  expect(byKey(r, '5000#2')).toMatchObject({ v1: 0, token: 2, v2: 2 });
  expect(r.requests).toHaveLength(s.truth.length);
}

describe('who is calling: a capture with Microsoft-Windows-Kernel-Process events', () => {
  it('netsh: each caller instance with its image, session, start, exit and chain of parents to the one that exited before the capture', async () => {
    checkKernelProcessFacts(await scanFile(file('netsh.etl'), { noAutoCab: true }));
  });

  it('pktmon: the same facts', async () => {
    checkKernelProcessFacts(await scanFile(file('pktmon.etl'), { noAutoCab: true }));
  });
});

describe('scan --with a kernel process trace taken beside the capture', () => {
  it('gives every caller and parent its command line (Japanese, accented, over 1,000 characters), account and session', async () => {
    for (const capture of ['netsh.etl', 'pktmon.etl']) {
      const r = await scanFile(file(capture), { noAutoCab: true, with: [file('kernel.etl')] });
      expect(r.diagnostics).toEqual([]);
      expect(r.processes.map((p) => p.key).sort()).toEqual(CALLERS.map((c) => c.key).sort());
      for (const c of CALLERS) {
        const p = byKey(r, c.key);
        const want = proc(c.pid, c.image);
        expect(p.commandLine, c.key).toBe(want.commandLine);
        expect(p.user).toEqual({ sid: want.userSid, name: want.userSid === 'S-1-5-18' ? 'SYSTEM' : want.userSid === 'S-1-5-20' ? 'NETWORK SERVICE' : null });
        expect(p.sessionId).toBe(want.sessionId);
        expect(p.startTime).toBe(iso(want.startTime ?? want.createTime));
        expect(p.exitTime).toBe(iso(want.exitTime));
        expect(p.parents.map((x) => x.pid)).toEqual(c.chain);
        expect(p.parents.map((x) => x.commandLine)).toEqual(c.chain.map((pid) => s.processes.find((q) => q.pid === pid)!.commandLine));
        expect(p.parentsEnd).toEqual({ reason: 'exited-before-capture', pid: c.exitedParent });
        for (const q of r.requests.filter((x) => x.processKey === c.key)) expect(q.commandLine).toBe(want.commandLine);
      }
      const node = byKey(r, '5000#2');
      expect(node.commandLine).toContain('メタデータ');
      expect(node.commandLine).toContain('--équipe=Café');
      expect(node.user).toEqual({ sid: SCENARIO_USER, name: null });
      expect(byKey(r, '3104#1').commandLine!.length).toBeGreaterThan(1000);
      expect(byKey(r, '4200#1').parents[0]!.commandLine).toBe(byKey(r, '3104#1').commandLine);
    }
  });

  it('--json: parents nearest first, at most four, and why the chain ends; requests name their process instance', () => {
    const r = run(['scan', file('netsh.etl'), '--with', file('kernel.etl'), '--json', '--no-auto-cab']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    const curl = j.processes.find((p: { key: string }) => p.key === '4200#1');
    expect(Object.keys(curl)).toEqual([
      'file', 'key', 'pid', 'image', 'imagePath', 'commandLine', 'services', 'user', 'sessionId', 'startTime', 'exitTime', 'parents', 'parentsEnd',
      'nameSource', 'nameConfidence', 'v1', 'v2', 'token', 'unknown', 'paths', 'v1Paths', 'statuses', 'attribution', 'userAgents', 'firstSeen', 'lastSeen',
    ]);
    expect(curl.parents.map((x: { pid: number }) => x.pid)).toEqual([3104, 3100, 1020, 640]);
    expect(Object.keys(curl.parents[0])).toEqual(['pid', 'image', 'commandLine', 'services', 'startTime', 'exitTime']);
    expect(curl.parentsEnd).toEqual({ reason: 'limit', pid: 520 });
    expect(curl.user).toEqual({ sid: 'S-1-5-18', name: 'SYSTEM' });
    const python = j.processes.find((p: { key: string }) => p.key === '5000#1');
    expect(python.parentsEnd).toEqual({ reason: 'exited-before-capture', pid: 412 });
    for (const q of j.requests) expect(j.processes.some((p: { key: string; file: string }) => p.key === q.processKey && p.file === q.file)).toBe(true);
    expect(j.requests.filter((q: { processKey: string }) => q.processKey === '5000#2').every((q: { commandLine: string }) => q.commandLine.includes('メタデータ'))).toBe(true);
  });

  it('--pid: the detail view of both processes behind a reused PID, with the whole chain and every request', () => {
    const r = run(['scan', file('netsh.etl'), '--with', file('kernel.etl'), '--pid', '5000', '--no-auto-cab']);
    expect(r.code).toBe(0);
    const [python, node] = r.stdout.split(/\n(?=\S)/);
    expect(python).toMatch(/^python\.exe, PID 5000 \(process 5000#1\)/);
    expect(python).toContain('User          NETWORK SERVICE (S-1-5-20)');
    expect(python).toContain(`Exited        ${iso(proc(5000, 'python.exe').exitTime)}`);
    expect(python).toMatch(/5100 {2}cmd\.exe +C:\\Windows\\system32\\cmd\.exe \/c C:\\Python312\\python\.exe/);
    expect(python).toContain('(its parent, PID 412, had exited before the capture began)');
    expect(python).toContain('Requests (3)');
    expect(node).toMatch(/^node\.exe, PID 5000 \(process 5000#2\)/);
    expect(node).toContain('C:\\apps\\メタデータ\\server.js --owner=José --équipe=Café');
    expect(node).toContain('Exited        not in the trace');
    expect(node).toContain('(its parent, PID 2300, had exited before the capture began)');
    expect(node).toContain('Requests (4)');
    const curl = run(['scan', file('netsh.etl'), '--with', file('kernel.etl'), '--pid', '4200', '--no-auto-cab']).stdout;
    // The whole chain, not only four.
    expect(curl.match(/^ {4} *\d+ {2}\S+/gm)!.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual([3104, 3100, 1020, 640, 520]);
    expect(run(['scan', file('netsh.etl'), '--pid', '77', '--no-auto-cab']).stdout).toBe('No IMDS requests by PID 77 found.\n');
    // --json and --csv with --pid: that PID's rows only.
    const j = JSON.parse(run(['scan', file('netsh.etl'), '--pid', '5000', '--json', '--no-auto-cab']).stdout);
    expect(j.processes.map((p: { key: string }) => p.key)).toEqual(['5000#1', '5000#2']);
    expect(j.requests).toHaveLength(s.truth.filter((t) => t.pid === 5000).length);
    expect(j.summary).toMatchObject({ v1: 2, v2: 2, token: 3, processesUsingV1: 1 });
    expect(run(['scan', file('netsh.etl'), '--pid', '5000', '--csv', '--no-auto-cab']).stdout.trim().split('\r\n')).toHaveLength(3);
    expect(run(['scan', file('netsh.etl'), '--pid', '-1']).code).toBe(1);
  });

  it('the table fits 80 and 120 columns; --wide prints the command lines whole', () => {
    const measure = (out: string) => Math.max(...out.split('\n').filter((l) => l && !/^\d+ IMDSv1|^IMDSv1 callers|command line in the trace/.test(l)).map(displayWidth));
    const at80 = run(['scan', file('netsh.etl'), '--with', file('kernel.etl'), '--width', '80', '--no-auto-cab']);
    expect(measure(at80.stdout)).toBeLessThanOrEqual(80);
    expect(at80.stdout.split('\n')[0]).toMatch(/^ PID {2}Image .* Command line$/);
    const at120 = run(['scan', file('netsh.etl'), '--with', file('kernel.etl'), '--no-auto-cab']);
    expect(measure(at120.stdout)).toBeLessThanOrEqual(120);
    expect(at120.stdout.split('\n')[0]).toMatch(/PID +Image +v1 +v2 +token +unknown .*Paths \(v1 first\) +Command line/);
    const wide = run(['scan', file('netsh.etl'), '--with', file('kernel.etl'), '--wide', '--no-auto-cab']);
    expect(wide.stdout).toContain(proc(3104, 'powershell.exe').commandLine);
    expect(wide.stdout).toContain(proc(5000, 'node.exe').commandLine);
    const requests = run(['scan', file('netsh.etl'), '--with', file('kernel.etl'), '--requests', '--width', '80', '--no-auto-cab']);
    expect(measure(requests.stdout)).toBeLessThanOrEqual(80);
    expect(run(['scan', file('netsh.etl'), '--width', '30']).code).toBe(1);
    expect(run(['scan', file('netsh.etl'), '--wide', '--width', '100']).code).toBe(1);
  });

  it('without command lines in the trace, the table says so and how to get them', () => {
    const r = run(['scan', file('netsh.etl'), '--no-auto-cab']);
    expect(r.stdout).toContain('No caller has a command line in the trace: record kernel process events beside the capture and scan with --with');
  });
});

describe('scan --with: the same machine and time, or a clear refusal', () => {
  it('TCPIP events in the joined trace attribute connections whose packets carry no PID', async () => {
    const noPid = callerScenario(repoRoot, { pidMode: 'none' });
    await writeNetshEtl(file('netsh-nopid.etl'), noPid.packets, { ...common(), processes: noPid.processes });
    await writeKernelEtl(file('kernel-tcpip.etl'), { ...kernelSpan(), kernelProcesses: noPid.processes, tcpipEvents: noPid.tcpipEvents });
    const alone = await scanFile(file('netsh-nopid.etl'), { noAutoCab: true });
    expect(alone.requests.every((q) => q.pid === null && q.attribution === 'none')).toBe(true);
    const joined = await scanFile(file('netsh-nopid.etl'), { noAutoCab: true, with: [file('kernel-tcpip.etl')] });
    expect(joined.requests.every((q) => q.attribution === 'tcpip')).toBe(true);
    expect(joined.requests.map((q) => q.pid).sort()).toEqual(noPid.truth.map((t) => t.pid).sort());
    expect(byKey(joined, '5000#2').commandLine).toBe(proc(5000, 'node.exe').commandLine);
  });

  it('another boot, another Windows build, another machine size or no common time: refused, exit 1, with the reasons', async () => {
    const variants: [string, object, RegExp][] = [
      ['other-boot.etl', { bootTime: s.bootTime - 3600n * FILETIME_SECOND }, /booted at 2024-05-30T19:00:00\.0000000Z, the capture's at 2024-05-30T20:00:00\.0000000Z/],
      ['other-build.etl', { osBuild: 17763 }, /written on Windows build 17763, the capture on build 20348/],
      ['other-cpus.etl', { numberOfProcessors: 8 }, /has 8 processors, the capture's 2/],
      ['later.etl', { startTime: s.end + 60n * FILETIME_SECOND, endTime: s.end + 120n * FILETIME_SECOND }, /covers 2024-06-02T20:01:09\.0000000Z to 2024-06-02T20:02:09\.0000000Z, the capture 2024-06-02T20:00:00\.0000000Z to 2024-06-02T20:00:09\.0000000Z: no time in common/],
    ];
    for (const [name, change, reason] of variants) {
      await writeKernelEtl(file(name), { ...kernelSpan(), ...change, kernelProcesses: s.processes.filter((p) => p.startTime === undefined) });
      const r = run(['scan', file('netsh.etl'), '--with', file(name), '--no-auto-cab']);
      expect(r.code, name).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/is not from the machine and time of/);
      expect(r.stderr, name).toMatch(reason);
      await expect(scanFile(file('netsh.etl'), { noAutoCab: true, with: [file(name)] })).rejects.toThrow(reason);
    }
    const two = run(['scan', file('netsh.etl'), file('pktmon.etl'), '--with', file('kernel.etl')]);
    expect(two.code).toBe(1);
    expect(two.stderr).toMatch(/--with joins other traces to one capture; give one input/);
    const missing = run(['scan', file('netsh.etl'), '--with', file('no-such.etl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no-such\.etl/);
  });
});

describe('where the trace does not say', () => {
  it('no rundown: a parent the trace never shows is named from the process list, and the chain ends there', async () => {
    // Kernel-Process start/stop only (no rundown): processes started before the capture are absent.
    const started = s.processes.filter((p) => p.startTime !== undefined);
    await writeNetshEtl(file('netsh-starts.etl'), s.packets, { ...common(), processes: started });
    writeFileSync(
      file('tasklist.txt'),
      tasklistSvc([{ image: 'svchost.exe', pid: 1020, services: ['Schedule'] }, { image: 'amazon-ssm-agent.exe', pid: 2900, services: ['AmazonSSMAgent'] }, { image: 'explorer.exe', pid: 2400 }]),
    );
    const r = await scanFile(file('netsh-starts.etl'), { noAutoCab: true, processes: file('tasklist.txt') });
    const curl = byKey(r, '4200#1');
    expect(curl.parents.map((x) => [x.pid, x.image, x.services])).toEqual([
      [3104, 'powershell.exe', []],
      [3100, 'cmd.exe', []],
      [1020, 'svchost.exe', ['Schedule']],
    ]);
    expect(curl.parentsEnd).toEqual({ reason: 'parent-unknown', pid: null });
    // The agent started before the capture: only the process list names it, and not its parent.
    const agent = byKey(r, '2900');
    expect(agent).toMatchObject({ image: 'amazon-ssm-agent.exe', nameSource: 'tasklist', startTime: null, parents: [], parentsEnd: { reason: 'parent-unknown', pid: null } });
    // node.exe started in the capture; its parent explorer.exe only in the process list.
    expect(byKey(r, '5000#2').parents.map((x) => x.image)).toEqual(['explorer.exe']);
  });

  it('no process events at all: the chain says so', async () => {
    await writeNetshEtl(file('netsh-bare.etl'), s.packets, common());
    const r = await scanFile(file('netsh-bare.etl'), { noAutoCab: true });
    for (const p of r.processes) expect(p).toMatchObject({ key: String(p.pid), image: null, commandLine: null, parents: [], parentsEnd: { reason: 'no-process-events', pid: null } });
    // PID 5000's two processes cannot be told apart without process events: one row, every request.
    expect(r.processes.filter((p) => p.pid === 5000)).toHaveLength(1);
  });
});
