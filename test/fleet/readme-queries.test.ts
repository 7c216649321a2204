// The README's Athena queries (Across a fleet, step 7), taken from the README as written, run in
// DuckDB over what `scan --ndjson --out` writes for a small fleet, with the table of fleet/athena.sql
// (its column names and types; dt from the dt= folders, as Athena's partition projection gives it).
// The expected rows are worked out the plain way from each trace's `scan --json`.
//
// The fleet: the shipped sample (its instance id from IMDS's own answer, command lines from its
// kernel trace), the generated "who is calling" machine as a netsh capture with its kernel trace
// (host from the kernel trace) on two instances and as a pktmon capture without one (no command lines), and a
// machine that requires tokens, where curl's IMDSv1 call gets 401.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callerScenario,
  FILETIME_SECOND,
  loadCapture,
  placeCapture,
  writeKernelEtl,
  writeNetshEtl,
  writePktmonEtl,
  type GenProcess,
} from '../../tools/gen/index.js';
import { repoRoot } from '../support/fixtures.js';
import { duckdbTable } from './support/athena.js';

const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-readme-sql-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const file = (name: string) => path.join(tmp, name);

/** The ```sql blocks of the README's fleet section, in order. */
function readmeQueries(): string[] {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('## Across a fleet');
  const end = readme.indexOf('\n## ', start + 1);
  expect(start).toBeGreaterThan(0);
  return [...readme.slice(start, end).matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
}

interface Instance {
  id: string | null;
  traces: string[];
  args: string[];
}

type Row = Record<string, unknown>;
type JsonDoc = { processes: Row[]; requests: Row[] };

const DAY = '2024-06-02';
const COMPUTER = 'EC2AMAZ-READMEQ';
const SAMPLE_ID = 'i-0abc1234def567890';
const fleet: Instance[] = [];
const docs = new Map<string, { instance: Instance; host: string | null; doc: JsonDoc }>();

function run(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`etl-imds ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  const s = callerScenario(repoRoot);
  const common = { startTime: s.start, endTime: s.end, bootTime: s.bootTime, numberOfProcessors: 2 };
  const kernelSpan = { ...common, startTime: s.start - FILETIME_SECOND, endTime: s.end + FILETIME_SECOND };
  await writeNetshEtl(file('callers-netsh.etl'), s.packets, { ...common, processes: s.processes });
  await writeKernelEtl(file('callers-kernel.etl'), { ...kernelSpan, kernelProcesses: s.processes, computerName: COMPUTER });
  await writePktmonEtl(file('callers-pktmon.etl'), s.packets, { ...common, processes: s.processes });

  // A machine that requires tokens: curl's IMDSv1 call gets 401, PowerShell's v2 calls work.
  const t = (sec: number) => s.start + BigInt(sec) * FILETIME_SECOND;
  const tokensRequired = loadCapture(path.join(repoRoot, 'fixtures', 'imds', 'tokens-required.json'));
  const v1Pid = tokensRequired.fixture.captured.clients[0]!.pid;
  const packets = placeCapture(tokensRequired, { start: t(1), cpu: 0, pid: (p) => (p === v1Pid ? 7100 : 7200) });
  const processes: (GenProcess & { commandLine: string })[] = [
    { pid: 640, image: '\\Device\\HarddiskVolume1\\Windows\\System32\\services.exe', ppid: 520, sessionId: 0, userSid: 'S-1-5-18', commandLine: 'C:\\Windows\\system32\\services.exe', createTime: s.bootTime },
    { pid: 7100, image: '\\Device\\HarddiskVolume1\\Windows\\System32\\curl.exe', ppid: 640, sessionId: 0, userSid: 'S-1-5-18', commandLine: 'curl.exe -s http://169.254.169.254/latest/meta-data/instance-id', createTime: t(0), startTime: t(0) },
    { pid: 7200, image: '\\Device\\HarddiskVolume1\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', ppid: 640, sessionId: 0, userSid: 'S-1-5-18', commandLine: 'powershell.exe -NoProfile -File C:\\ops\\tags.ps1', createTime: t(0), startTime: t(0) },
  ];
  await writeNetshEtl(file('tokens-netsh.etl'), packets, { ...common, processes });
  await writeKernelEtl(file('tokens-kernel.etl'), { ...kernelSpan, kernelProcesses: processes });

  fleet.push(
    { id: null, traces: [path.join(repoRoot, 'fixtures', 'imds-sample.etl')], args: ['--with', path.join(repoRoot, 'fixtures', 'imds-sample-kernel.etl')] },
    { id: 'i-0aaaaaaaaaaaaaaa1', traces: [file('callers-netsh.etl')], args: ['--with', file('callers-kernel.etl')] },
    // The same machine image again: its callers' command lines are on two instances.
    { id: 'i-0ddddddddddddddd4', traces: [file('callers-netsh.etl')], args: ['--with', file('callers-kernel.etl')] },
    { id: 'i-0bbbbbbbbbbbbbbb2', traces: [file('callers-pktmon.etl')], args: [] },
    { id: 'i-0ccccccccccccccc3', traces: [file('tokens-netsh.etl')], args: ['--with', file('tokens-kernel.etl')] },
  );
  const out = path.join(tmp, 'bucket', 'etl-imds', `dt=${DAY}`);
  for (const inst of fleet) {
    const id = inst.id ? ['--instance-id', inst.id] : [];
    run(['scan', ...inst.traces, ...inst.args, ...id, '--ndjson', '--out', out, '-q']);
    const doc = JSON.parse(run(['scan', ...inst.traces, ...inst.args, '--json', '-q'])) as JsonDoc;
    const host = inst.args.includes(file('callers-kernel.etl')) ? COMPUTER : null;
    docs.set(inst.id ?? SAMPLE_ID, { instance: inst, host, doc });
  }
});

/** DuckDB's JSON rows as plain values (BIGINTs come back as strings). */
function plain(rows: Row[]): Row[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) && k !== 'instanceId' ? Number(v) : v])));
}

describe("the README's fleet queries, in DuckDB over scan --ndjson", () => {
  it('are three, and run unchanged on the table of fleet/athena.sql', async () => {
    const queries = readmeQueries();
    expect(queries).toHaveLength(3);
    const { connection, close } = await duckdbTable(path.join(tmp, 'bucket', 'etl-imds'));
    try {
      const [instances, commandLines, refused] = await Promise.all(queries.map(async (q) => plain((await connection.runAndReadAll(q)).getRowObjectsJson())));
      const all = [...docs.entries()];
      const v1Processes = all.flatMap(([id, { host, doc }]) => doc.processes.filter((p) => (p.v1 as number) > 0).map((p) => ({ id, host, p })));

      // 1. Instances with IMDSv1 callers: every instance of this fleet has some.
      const byInstance = new Map<string, Row>();
      for (const { id, host, p } of v1Processes) {
        const r = byInstance.get(id) ?? { instanceId: id, host, v1_processes: 0, v1_requests: 0, first_seen: p.firstSeen, last_seen: p.lastSeen };
        r.v1_processes = (r.v1_processes as number) + 1;
        r.v1_requests = (r.v1_requests as number) + (p.v1 as number);
        if ((p.firstSeen as string) < (r.first_seen as string)) r.first_seen = p.firstSeen;
        if ((p.lastSeen as string) > (r.last_seen as string)) r.last_seen = p.lastSeen;
        byInstance.set(id, r);
      }
      const expected1 = [...byInstance.values()].sort((a, b) => (b.v1_requests as number) - (a.v1_requests as number) || String(a.instanceId).localeCompare(String(b.instanceId)));
      expect(instances).toEqual(expected1);
      expect(instances.map((r) => r.instanceId).sort()).toEqual([SAMPLE_ID, 'i-0aaaaaaaaaaaaaaa1', 'i-0bbbbbbbbbbbbbbb2', 'i-0ccccccccccccccc3', 'i-0ddddddddddddddd4'].sort());
      expect(instances.find((r) => r.instanceId === 'i-0aaaaaaaaaaaaaaa1')!.host).toBe(COMPUTER);

      // 2. Command lines calling v1, on the most instances first.
      const byLine = new Map<string, { image: unknown; commandLine: unknown; instances: Set<string>; v1_requests: number }>();
      for (const { id, p } of v1Processes) {
        const k = JSON.stringify([p.image, p.commandLine]);
        const r = byLine.get(k) ?? { image: p.image, commandLine: p.commandLine, instances: new Set<string>(), v1_requests: 0 };
        r.instances.add(id);
        r.v1_requests += p.v1 as number;
        byLine.set(k, r);
      }
      const cmp = (a: unknown, b: unknown) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : String(a) < String(b) ? -1 : 1); // NULLS LAST, as both engines order by default
      const expected2 = [...byLine.values()]
        .map((r) => ({ image: r.image, commandLine: r.commandLine, instances: r.instances.size, v1_requests: r.v1_requests }))
        .sort((a, b) => b.instances - a.instances || b.v1_requests - a.v1_requests || cmp(a.image, b.image) || cmp(a.commandLine, b.commandLine));
      expect(commandLines).toEqual(expected2);
      // curl.exe of the "who is calling" machine: one command line on two instances (first), and
      // once more without one (the pktmon capture had no kernel trace beside it).
      expect(commandLines[0]).toMatchObject({ image: 'curl.exe', instances: 2, v1_requests: 4 });
      expect(commandLines[0]!.commandLine).toMatch(/^curl\.exe -s http:\/\/169\.254\.169\.254\/latest\/meta-data\/instance-id /);
      expect(commandLines.filter((r) => r.image === 'curl.exe' && r.commandLine === null).map((r) => r.instances)).toEqual([1]);

      // 3. Callers that already get 401: curl on the machine that requires tokens, and nothing else.
      expect(refused).toEqual([
        {
          instanceId: 'i-0ccccccccccccccc3',
          image: 'curl.exe',
          commandLine: 'curl.exe -s http://169.254.169.254/latest/meta-data/instance-id',
          path: '/latest/meta-data/instance-id',
          refused: 1,
          last_refused: docs.get('i-0ccccccccccccccc3')!.doc.requests.find((r) => r.status === 401)!.time,
        },
      ]);
      const all401 = all.flatMap(([, { doc }]) => doc.requests.filter((r) => r.class === 'v1' && r.status === 401));
      expect(all401).toHaveLength(1);
    } finally {
      close();
    }
  });
});
