// `etl-imds report`: many instances' NDJSON merged into one row per image + command line. The
// generated fleet's table is also worked out the plain way (every line in memory,
// bench/fleet-ndjson.mjs) and the two must agree, with the distinct-instance counts kept in memory
// and with them spilled to sorted runs on disk.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectedRows, writeFleet } from '../../bench/fleet-ndjson.mjs';
import { DistinctStrings, type ReportRow } from '../../src/fleet/report.js';
import { repoRoot } from '../support/fixtures.js';

const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Row = ReportRow;

/** One RFC 4180 line's cells (quoted cells may hold commas and doubled quotes). */
function parseCsvLine(text: string): string[] {
  const cells: string[] = [];
  for (let i = 0; i <= text.length; ) {
    if (text[i] === '"') {
      let cell = '';
      for (i++; ; ) {
        const q = text.indexOf('"', i);
        cell += text.slice(i, q);
        if (text[q + 1] === '"') { cell += '"'; i = q + 2; } else { i = q + 2; break; }
      }
      cells.push(cell);
    } else {
      const c = text.indexOf(',', i);
      const end = c < 0 ? text.length : c;
      cells.push(text.slice(i, end));
      i = end + 1;
    }
  }
  return cells;
}

const byKey = (rows: Row[]) => Object.fromEntries(rows.map((r) => [JSON.stringify([r.image, r.commandLine]), r]));

function line(o: Record<string, unknown>): string {
  return JSON.stringify(o);
}

function processLine(over: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'process', host: 'EC2AMAZ-A', instanceId: 'i-0123456789abcdef0', file: 'C:\\t.etl', key: '100#1', pid: 100, image: 'curl.exe',
    imagePath: null, commandLine: 'curl.exe http://169.254.169.254/', services: [], user: null, sessionId: 1, startTime: null, exitTime: null,
    parents: [], parentsEnd: null, nameSource: 'trace', nameConfidence: 'high', v1: 1, v2: 0, token: 0, unknown: 0,
    paths: ['/'], v1Paths: ['/'], statuses: { '200': 1 }, attribution: { packet: 1 }, userAgents: [],
    firstSeen: '2024-06-02T20:00:02.0010270Z', lastSeen: '2024-06-02T20:00:02.0010270Z', ...over,
  };
}

describe('etl-imds report', () => {
  const fleetDir = path.join(tmp, 'fleet');
  const COUNT = 400;
  writeFleet(fleetDir, COUNT, 3);
  const truth = expectedRows(COUNT, 3);

  it('gives the table the lines add up to: instances, v1/v2/token counts, statuses, first and last seen', () => {
    const r = run(['report', fleetDir, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { summary: Record<string, number>; rows: Row[] };
    expect(byKey(j.rows)).toEqual(byKey(truth.rows));
    expect(j.summary).toMatchObject({ files: COUNT, traces: COUNT, instances: truth.instances, instancesWithV1: truth.instancesWithV1, skippedLines: 0 });
    // IMDSv1 callers first, most instances first.
    const firstWithoutV1 = j.rows.findIndex((x) => x.v1 === 0);
    expect(j.rows.slice(firstWithoutV1 < 0 ? j.rows.length : firstWithoutV1).every((x) => x.v1 === 0)).toBe(true);
    const v1Rows = j.rows.filter((x) => x.v1 > 0);
    for (let i = 1; i < v1Rows.length; i++) expect(v1Rows[i - 1]!.instances).toBeGreaterThanOrEqual(v1Rows[i]!.instances);
  });

  it('gives the same table when the distinct instances are counted through sorted runs on disk', () => {
    const inMemory = run(['report', fleetDir, '--json']);
    const spilled = run(['report', fleetDir, '--json'], { ETL_IMDS_REPORT_PAIR_BYTES: '4000' });
    expect(spilled.code).toBe(0);
    expect(spilled.stdout).toBe(inMemory.stdout);
  });

  it('the table names the callers with their command lines and the fleet totals', () => {
    const r = run(['report', fleetDir]);
    expect(r.code).toBe(0);
    const top = truth.rows.filter((x) => x.v1 > 0).sort((a, b) => b.instances - a.instances)[0]!;
    const first = r.stdout.split('\n')[2]!;
    expect(first).toContain(top.commandLine!);
    expect(first).toMatch(new RegExp(`\\s${top.instances}\\s+${top.v1}\\s+${top.v2}\\s+${top.token}\\s+0\\s`));
    expect(r.stdout).toContain(`${truth.instances} instances (${truth.instancesWithV1} using IMDSv1), ${COUNT} traces, ${COUNT} NDJSON files`);
  });

  it('reads *.ndjson, *.jsonl and Run Command stdout files in directories, nothing else', () => {
    const dir = path.join(tmp, 'kinds');
    mkdirSync(path.join(dir, 'cmd-1', 'i-0aaaaaaaaaaaaaaaa', 'awsrunPowerShellScript', '0.awsrunPowerShellScript'), { recursive: true });
    const p = (instanceId: string) => line(processLine({ instanceId }));
    writeFileSync(path.join(dir, 'a.ndjson'), p('i-0000000000000000a') + '\n');
    writeFileSync(path.join(dir, 'b.JSONL'), p('i-0000000000000000b') + '\n');
    writeFileSync(path.join(dir, 'cmd-1', 'i-0aaaaaaaaaaaaaaaa', 'awsrunPowerShellScript', '0.awsrunPowerShellScript', 'stdout'), p('i-0000000000000000c') + '\n');
    writeFileSync(path.join(dir, 'cmd-1', 'i-0aaaaaaaaaaaaaaaa', 'awsrunPowerShellScript', '0.awsrunPowerShellScript', 'stderr'), 'not read\n');
    writeFileSync(path.join(dir, 'notes.txt'), 'not read\n');
    const r = run(['report', dir, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.summary).toMatchObject({ files: 3, instances: 3, instancesWithV1: 3 });
    expect(j.rows).toHaveLength(1);
    expect(j.rows[0]).toMatchObject({ image: 'curl.exe', instances: 3, processes: 3, v1: 3 });
    // A folder given twice, or a file inside a folder also given, is read once.
    const again = JSON.parse(run(['report', dir, path.join(dir, 'a.ndjson'), dir, path.join(dir, 'cmd-1'), '--json']).stdout);
    expect(again.summary.files).toBe(3);
    expect(again.rows[0].processes).toBe(3);
  });

  it('--csv gives the rows of --json, one per line (statuses as JSON); a command line that starts like a formula gets an apostrophe', () => {
    const csv = run(['report', fleetDir, '--csv']);
    expect([csv.code, csv.stderr]).toEqual([0, '']);
    const json = JSON.parse(run(['report', fleetDir, '--json']).stdout) as { rows: Row[] };
    const lines = csv.stdout.split('\r\n');
    expect(lines.pop()).toBe('');
    expect(lines[0]).toBe('image,commandLine,instances,processes,v1,v2,token,unknown,statuses,firstSeen,lastSeen');
    expect(lines.slice(1).map(parseCsvLine)).toEqual(
      json.rows.map((r) => [r.image ?? '', r.commandLine ?? '', ...[r.instances, r.processes, r.v1, r.v2, r.token, r.unknown].map(String), JSON.stringify(r.statuses), r.firstSeen, r.lastSeen]),
    );

    const dir = path.join(tmp, 'hostile');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'a.ndjson'), line(processLine({ image: 'cmd.exe', commandLine: '=cmd|\' /C calc\'!A1' })) + '\n' + line(processLine({ commandLine: 'curl.exe \u001b[2J\u202e' })) + '\n');
    const hostile = run(['report', dir, '--csv']).stdout;
    expect(hostile).toContain(`cmd.exe,"'=cmd|' /C calc'!A1",1,`);
    // The table shows control and bidirectional characters as escapes.
    const table = run(['report', dir]).stdout;
    expect(table).toContain('curl.exe \\x1B[2J\\u202E');
    expect(table).not.toMatch(/[\u001b\u202e]/);
  });

  it('an instance is its instanceId, else its host, else the NDJSON file it is in', () => {
    const dir = path.join(tmp, 'who');
    mkdirSync(dir);
    const lines = (o: Record<string, unknown>[]) => o.map(line).join('\n') + '\n';
    // Two files of one instance (two captures), one of another host, two anonymous files.
    writeFileSync(path.join(dir, '1.ndjson'), lines([processLine({})]));
    writeFileSync(path.join(dir, '2.ndjson'), lines([processLine({ host: 'OTHER-NAME' })]));
    writeFileSync(path.join(dir, '3.ndjson'), lines([processLine({ instanceId: null, host: 'EC2AMAZ-B' }), processLine({ instanceId: null, host: 'EC2AMAZ-B', pid: 200 })]));
    writeFileSync(path.join(dir, '4.ndjson'), lines([processLine({ instanceId: null, host: null })]));
    writeFileSync(path.join(dir, '5.ndjson'), lines([processLine({ instanceId: null, host: null })]));
    const j = JSON.parse(run(['report', dir, '--json']).stdout);
    expect(j.rows[0]).toMatchObject({ instances: 4, processes: 6, v1: 6 });
    expect(j.summary.instances).toBe(4);
  });

  it('lines that are not etl-imds NDJSON are skipped with file and line (exit 4), or refused with --strict (exit 2)', () => {
    const dir = path.join(tmp, 'bad');
    mkdirSync(dir);
    const file = path.join(dir, 'mixed.ndjson');
    writeFileSync(
      file,
      '\uFEFF' +
        [
          line(processLine({})),
          'Windows PowerShell transcript start',
          line(processLine({ v1: 'two' })),
          '[1,2]',
          line({ type: 'summary', host: null, instanceId: null }),
          line(processLine({ firstSeen: 'yesterday' })),
          '',
          line(processLine({ pid: 300 })),
        ].join('\r\n') + '\r\n',
    );
    const r = run(['report', file, '--json']);
    expect(r.code).toBe(4);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/mixed\.ndjson: line 2: not JSON .*; skipped$/),
      expect.stringMatching(/mixed\.ndjson: line 3: v1, v2, token and unknown must be counts; skipped$/),
      expect.stringMatching(/mixed\.ndjson: line 4: not a JSON object; skipped$/),
      expect.stringMatching(/mixed\.ndjson: line 5: type "summary" is not process, request or file; skipped$/),
      expect.stringMatching(/mixed\.ndjson: line 6: firstSeen and lastSeen must be ISO times; skipped$/),
    ]);
    const j = JSON.parse(r.stdout);
    expect(j.summary).toMatchObject({ lines: 7, skippedLines: 5, processes: 2 });
    expect(j.rows[0]).toMatchObject({ processes: 2, v1: 2, instances: 1 });
    const strict = run(['report', file, '--json', '--strict']);
    expect(strict.code).toBe(2);
    expect(strict.stdout).toBe('');
    expect(strict.stderr).toMatch(/mixed\.ndjson: line 2: not JSON/);
  });

  it('an input that cannot be read exits 2; a directory without NDJSON says so', () => {
    const missing = run(['report', path.join(tmp, 'no-such.ndjson')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no-such\.ndjson/);
    expect(missing.stdout).toBe('');
    const empty = path.join(tmp, 'empty');
    mkdirSync(empty);
    const r = run(['report', empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/empty: no NDJSON files found/);
  });
});

describe('DistinctStrings', () => {
  it('gives each string once, in memory and through sorted runs, the same set', () => {
    let seed = 9;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const words = Array.from({ length: 20000 }, () => `${Math.floor(rand() * 50)}\t"i-${Math.floor(rand() * 3000)}"`);
    const expected = [...new Set(words)].sort();
    for (const limit of [1 << 30, 2000, 50_000]) {
      const d = new DistinctStrings(limit);
      for (const w of words) d.add(w);
      const got = [...d.values()];
      expect(got.sort()).toEqual(expected);
      if (limit < 1 << 20) expect(d.spilled).toBeGreaterThan(1);
      d.close();
    }
  });
});
