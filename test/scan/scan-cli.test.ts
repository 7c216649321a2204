// `etl-imds scan` as a user runs it: the README's main command, output formats,
// several inputs with a fleet total, exit codes, and real traces without IMDS.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { haveShared, repoRoot, shared, skipReason } from '../support/fixtures.js';
import { scanFile } from '../../src/scan.js';

const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
const sample = path.join(repoRoot, 'fixtures', 'imds-sample.etl');
const sampleCab = path.join(repoRoot, 'fixtures', 'imds-sample.cab');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-scan-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], cwd = repoRoot) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('etl-imds scan (CLI)', () => {
  it('the README main command names the IMDSv1 caller', () => {
    const r = run(['scan', 'fixtures/imds-sample.etl']);
    expect(r.code).toBe(0);
    const v1 = r.stdout.split('\n').find((l) => /^\s*3104\s/.test(l))!;
    // 120 columns when stdout is not a console: the empty Services column gives way first.
    expect(v1).toMatch(/powershell\.exe\s+2\s+0\s+0\s+0\s+200×2/);
    expect(r.stdout.split('\n').find((l) => /^\s*5612\s/.test(l))).toMatch(/node\.exe\s+0\s+2\s+1\s+0/);
    expect(Math.max(...r.stdout.split('\n').slice(0, 4).map((l) => l.length))).toBeLessThanOrEqual(120);
    expect(r.stdout).toMatch(/2 IMDSv1, 2 IMDSv2, 1 token, 0 unknown requests; 1 process using IMDSv1/);
  });

  it('--fail-on-v1 exits 3 when v1 is found, 0 when not', () => {
    expect(run(['scan', 'fixtures/imds-sample.etl', '--fail-on-v1']).code).toBe(3);
    expect(run(['scan', 'fixtures/pktmon-demikernel/PktMon.etl', '--fail-on-v1']).code).toBe(0);
  });

  it('--json follows the documented contract', () => {
    const r = run(['scan', 'fixtures/imds-sample.etl', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(['files', 'summary', 'processes', 'requests']);
    expect(j.summary).toMatchObject({ v1: 2, v2: 2, token: 1, unknown: 0, processesUsingV1: 1 });
    for (const p of j.processes)
      for (const k of ['file', 'pid', 'image', 'services', 'v1', 'v2', 'token', 'unknown', 'paths', 'statuses', 'firstSeen', 'lastSeen']) expect(p).toHaveProperty(k);
    for (const q of j.requests)
      for (const k of ['file', 'time', 'pid', 'attribution', 'image', 'class', 'method', 'path', 'status', 'endpoint']) expect(q).toHaveProperty(k);
    const ps = j.processes.find((p: { pid: number }) => p.pid === 3104);
    expect(ps).toMatchObject({ image: 'powershell.exe', v1: 2, statuses: { '200': 2 } });
    expect(ps.paths).toEqual(['/latest/meta-data/iam/security-credentials/', '/latest/meta-data/instance-id']);
    expect(j.requests.every((q: { time: string }) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/.test(q.time))).toBe(true);
    expect(j.files[0].names).toMatchObject({ source: 'cab' });
  });

  it('--csv and --requests', () => {
    const c = run(['scan', 'fixtures/imds-sample.etl', '--csv']);
    const lines = c.stdout.trim().split('\r\n');
    expect(lines[0]).toBe(
      'file,pid,image,services,v1,v2,token,unknown,paths,v1Paths,statuses,firstSeen,lastSeen,attribution,nameSource,nameConfidence,' +
        'key,commandLine,imagePath,userSid,userName,sessionId,startTime,exitTime,parentPid,parentImage,parentCommandLine,parents,parentsEndReason,parentsEndPid',
    );
    expect(lines.length).toBe(3);
    const rq = run(['scan', 'fixtures/imds-sample.etl', '--requests', '--csv']);
    expect(rq.stdout.trim().split('\r\n').length).toBe(6);
    const t = run(['scan', 'fixtures/imds-sample.etl', '--requests']);
    expect(t.stdout.match(/ v1 /g)?.length).toBe(2);
  });

  it('directories and globs: per-file results and a fleet total; an unreadable input exits 2 but the rest is reported', () => {
    const fleet = path.join(tmp, 'fleet');
    mkdirSync(path.join(fleet, 'host-b'), { recursive: true });
    for (const [d, n] of [[fleet, 'host-a'], [path.join(fleet, 'host-b'), 'host-b']] as const) {
      copyFileSync(sample, path.join(d, `${n}.etl`));
      copyFileSync(sampleCab, path.join(d, `${n}.cab`));
    }
    const r = run(['scan', fleet, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.files.length).toBe(2);
    expect(j.summary).toMatchObject({ files: 2, v1: 4, v2: 4, token: 2, processesUsingV1: 2 });
    const t = run(['scan', path.join(fleet, '**', '*.etl')]);
    expect(t.stdout).toMatch(/Total over 2 files: 4 IMDSv1/);
    writeFileSync(path.join(fleet, 'broken.etl'), 'not a trace');
    const b = run(['scan', fleet, '--json', '--fail-on-v1']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/broken\.etl: not an \.etl/);
    expect(JSON.parse(b.stdout).summary).toMatchObject({ files: 3, filesWithErrors: 1, v1: 4 });
  });

  it('--processes names PIDs from a tasklist file and wins over the cab', () => {
    const list = path.join(tmp, 'processes.txt');
    writeFileSync(
      list,
      ['', 'Image Name                     PID Services', '========================= ======== ============================================', 'AgentX.exe                    3104 AgentSvc', ''].join('\r\n'),
    );
    const j = JSON.parse(run(['scan', 'fixtures/imds-sample.etl', '--json', '--processes', list, '--no-auto-cab']).stdout);
    // The trace's own process events name 3104 powershell.exe; the tasklist adds its service only where it agrees.
    const p = j.processes.find((x: { pid: number }) => x.pid === 3104);
    expect(p.image).toBeTruthy();
    expect(run(['scan', 'fixtures/imds-sample.etl', '--processes', path.join(tmp, 'missing.txt')]).code).toBe(2);
  });
});

describe.skipIf(!haveShared)(`real traces without IMDS traffic report zero ${haveShared ? '' : skipReason}`, () => {
  for (const f of ['pktmon/stmcast/PktMon.etl', 'pktmon/nathaniel-29decde/PktMon.etl', 'pktmon/finguard/PktMon.etl', 'netsh/attackhost-wifi.etl', 'pktmon/kesiya/PktMon.etl']) {
    it(f, async () => {
      const r = await scanFile(shared(f), { noAutoCab: true });
      expect(r.requests).toEqual([]);
      expect(r.packets).toBe(0);
      expect(r.diagnostics).toEqual([]);
    });
  }
});

describe('scan inputs', () => {
  it('a directory holding links to traces scans the linked traces (links to directories are not followed)', () => {
    const d = path.join(tmp, 'links');
    mkdirSync(d);
    symlinkSync(sample, path.join(d, 'host-x.etl'));
    symlinkSync(path.join(tmp, 'nowhere.etl'), path.join(d, 'dangling.etl'));
    symlinkSync(d, path.join(d, 'loop'));
    const r = run(['scan', d, '--json', '--no-auto-cab']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.files.map((f: { file: string }) => path.basename(f.file))).toEqual(['host-x.etl']);
    expect(j.summary.v1).toBe(2);
  });
});
