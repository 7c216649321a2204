// scan --ndjson: one JSON object per line (file, process, request), each with host, instanceId and
// file, the fields of --json otherwise; ASCII only; --out DIR with one file per input. Every line is
// checked against fleet/ndjson.schema.json (ajv), on generated "who is calling" traces (process
// identity, a computer name in the kernel trace, the instance id in IMDS's answers) and on the
// repository's fixtures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { callerScenario, FILETIME_SECOND, writeKernelEtl, writeNetshEtl, writePktmonEtl, type CallerScenario } from '../../tools/gen/index.js';
import { haveShared, repoRoot, shared, skipReason } from '../support/fixtures.js';

const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-ndjson-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const file = (name: string) => path.join(tmp, name);

const schema = JSON.parse(readFileSync(path.join(repoRoot, 'fleet', 'ndjson.schema.json'), 'utf8'));
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);

const COMPUTER = 'EC2AMAZ-7Q4K2M1';
/** The id IMDS answers with in the committed client captures (fixtures/imds) the scenario replays. */
const TRACE_ID = 'i-0abc1234def567890';

type Line = Record<string, unknown> & { type: string };

function run(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 27 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** NDJSON text as lines, each checked: ASCII only, one object per line, valid against the schema. */
function parse(text: string): Line[] {
  expect(text.endsWith('\n') || text === '').toBe(true);
  const nonAscii = [...text].findIndex((c) => c.charCodeAt(0) > 0x7e);
  expect(nonAscii, `non-ASCII character at ${nonAscii}`).toBe(-1);
  return text.split('\n').filter(Boolean).map((l) => {
    const v = JSON.parse(l) as Line;
    expect(validate(v) ? [] : validate.errors, l.slice(0, 120)).toEqual([]);
    return v;
  });
}

let s: CallerScenario;
beforeAll(async () => {
  s = callerScenario(repoRoot);
  const common = { startTime: s.start, endTime: s.end, bootTime: s.bootTime, numberOfProcessors: 2 };
  await writeNetshEtl(file('netsh.etl'), s.packets, { ...common, processes: s.processes });
  await writePktmonEtl(file('pktmon.etl'), s.packets, { ...common, processes: s.processes });
  const kernel = { ...common, startTime: s.start - FILETIME_SECOND, endTime: s.end + FILETIME_SECOND, kernelProcesses: s.processes };
  await writeKernelEtl(file('kernel.etl'), { ...kernel, computerName: COMPUTER });
  await writeKernelEtl(file('kernel-unnamed.etl'), kernel);
});

describe('scan --ndjson', () => {
  it('gives a file line, one line per process instance and one per request, with the fields of --json, host from the kernel trace and instanceId from IMDS', () => {
    const json = run(['scan', file('netsh.etl'), '--with', file('kernel.etl'), '--json', '-q']);
    const nd = run(['scan', file('netsh.etl'), '--with', file('kernel.etl'), '--ndjson', '-q']);
    expect([json.code, nd.code, nd.stderr]).toEqual([0, 0, '']);
    const doc = JSON.parse(json.stdout);
    const lines = parse(nd.stdout);
    // In this order: the file, its processes, its requests.
    expect(lines.map((l) => l.type)).toEqual(['file', ...doc.processes.map(() => 'process'), ...doc.requests.map(() => 'request')]);
    for (const l of lines) expect([l.host, l.instanceId, l.file]).toEqual([COMPUTER, TRACE_ID, file('netsh.etl')]);
    const strip = ({ type: _t, host: _h, instanceId: _i, ...rest }: Line) => rest;
    expect(strip(lines[0]!)).toEqual(doc.files[0]);
    const processes = lines.filter((l) => l.type === 'process').map(strip);
    expect(processes.map(({ attributionCounts, ...rest }) => ({ ...rest, attribution: attributionCounts }))).toEqual(doc.processes);
    expect(lines.filter((l) => l.type === 'request').map(strip)).toEqual(doc.requests);
    // The scenario's callers, with their command lines: node.exe's has Japanese and accented
    // characters, escaped in the text and whole once parsed.
    const node = processes.find((p) => p.key === '5000#2')!;
    expect(node.commandLine).toBe(s.processes.find((p) => p.pid === 5000 && p.image.endsWith('node.exe'))!.commandLine);
    expect(nd.stdout).toContain('\\u30e1\\u30bf\\u30c7\\u30fc\\u30bf');
    expect(processes.filter((p) => (p.v1 as number) > 0).map((p) => p.key).sort()).toEqual(['3104#1', '4200#1', '5000#1']);
  });

  it('takes host from --host when the trace does not name the computer, and the trace over --host when it does; --instance-id over the trace', () => {
    const noName = parse(run(['scan', file('netsh.etl'), '--with', file('kernel-unnamed.etl'), '--ndjson', '-q']).stdout);
    expect(new Set(noName.map((l) => l.host))).toEqual(new Set([null]));
    const given = parse(run(['scan', file('pktmon.etl'), '--ndjson', '-q', '--host', 'WEB-01', '--instance-id', 'i-0123456789abcdef0']).stdout);
    expect(new Set(given.map((l) => `${l.host} ${l.instanceId}`))).toEqual(new Set(['WEB-01 i-0123456789abcdef0']));
    const named = parse(run(['scan', file('netsh.etl'), '--with', file('kernel.etl'), '--ndjson', '-q', '--host', 'WEB-01']).stdout);
    expect(new Set(named.map((l) => l.host))).toEqual(new Set([COMPUTER]));
    // A trace with no IMDS answer names no instance: the kernel trace alone has only a file line.
    expect(parse(run(['scan', file('kernel.etl'), '--ndjson', '-q']).stdout).map((l) => [l.type, l.host, l.instanceId])).toEqual([['file', COMPUTER, null]]);
  });

  it('refuses a malformed --instance-id, and --host, --instance-id or --out without --ndjson (exit 1)', () => {
    for (const args of [
      ['--ndjson', '--instance-id', 'i-XYZ'],
      ['--ndjson', '--instance-id', 'i-0123'],
      ['--ndjson', '--host', ' '],
      ['--json', '--host', 'A'],
      ['--instance-id', 'i-0123456789abcdef0'],
      ['--out', file('never')],
      ['--json', '--ndjson'],
      ['--csv', '--ndjson'],
    ]) {
      const r = run(['scan', file('netsh.etl'), '-q', ...args]);
      expect([r.code, r.stdout], args.join(' ')).toEqual([1, '']);
      expect(r.stderr).toMatch(/instance-id|host|out|ndjson|exclusive/);
    }
    expect(readdirSync(tmp)).not.toContain('never');
  });

  it('--out DIR: one whole .ndjson per input, named <instance>-<time>-<trace>, never two with one name; the same lines as stdout', () => {
    // Two traces with one name in different folders, and a folder given as input.
    mkdirSync(file('many/a'), { recursive: true });
    mkdirSync(file('many/b'), { recursive: true });
    copyFileSync(file('netsh.etl'), file('many/a/capture.etl'));
    copyFileSync(file('netsh.etl'), file('many/b/capture.etl'));
    copyFileSync(file('pktmon.etl'), file('many/pktmon.etl'));
    copyFileSync(file('kernel.etl'), file('many/kernel.etl'));
    const out = file('out/nested');
    const r = run(['scan', file('many'), '--ndjson', '-q', '--out', out, '--instance-id', 'i-0a1b2c3d']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', '']);
    const names = readdirSync(out).sort();
    expect(names).toHaveLength(4);
    for (const n of names) expect(n).toMatch(/^i-0a1b2c3d-\d{8}T\d{6}Z-(capture|capture-2|kernel|pktmon)\.ndjson$/);
    expect(new Set(names.map((n) => n.replace(/^i-0a1b2c3d-\d{8}T\d{6}Z-/, '')))).toEqual(new Set(['capture.ndjson', 'capture-2.ndjson', 'kernel.ndjson', 'pktmon.ndjson']));
    // Each file holds one input's lines, starting with its file line.
    const byInput = new Map<string, Line[]>();
    for (const n of names) {
      const lines = parse(readFileSync(path.join(out, n), 'utf8'));
      expect(lines[0]!.type).toBe('file');
      expect(new Set(lines.map((l) => l.file)).size).toBe(1);
      byInput.set(lines[0]!.file as string, lines);
    }
    const stdout = parse(run(['scan', file('many'), '--ndjson', '-q', '--instance-id', 'i-0a1b2c3d']).stdout);
    expect([...byInput.keys()].sort()).toEqual([...new Set(stdout.map((l) => l.file as string))].sort());
    for (const [input, lines] of byInput) expect(lines).toEqual(stdout.filter((l) => l.file === input));
    // A second run into the same folder keeps the first run's files.
    expect(run(['scan', file('many/pktmon.etl'), '--ndjson', '-q', '--out', out, '--instance-id', 'i-0a1b2c3d']).code).toBe(0);
    expect(readdirSync(out)).toHaveLength(5);
  });

  it('--out to a folder that cannot be made is an output error (exit 2), and names no file', () => {
    const r = run(['scan', file('netsh.etl'), '--ndjson', '-q', '--out', path.join(file('netsh.etl'), 'sub')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot write to/);
  });

  it('on the repository fixtures: the sample names its instance from its own IMDS answer; every line is valid', () => {
    const r = run(['scan', path.join(repoRoot, 'fixtures', 'imds-sample.etl'), path.join(repoRoot, 'fixtures', 'imds-sample-kernel.etl'), '--ndjson', '-q']);
    expect(r.code).toBe(0);
    const lines = parse(r.stdout);
    const sample = lines.filter((l) => l.file === path.join(repoRoot, 'fixtures', 'imds-sample.etl') || String(l.file).endsWith('imds-sample.etl'));
    expect(sample.map((l) => l.type)).toEqual(['file', 'process', 'process', 'request', 'request', 'request', 'request', 'request']);
    expect(new Set(sample.map((l) => l.instanceId))).toEqual(new Set([TRACE_ID]));
  });

  it('an unreadable input has its file line with the error (exit 2), the other inputs their lines', () => {
    writeFileSync(file('not-a-trace.etl'), 'not an etl');
    const r = run(['scan', file('not-a-trace.etl'), path.join(repoRoot, 'fixtures', 'imds-sample.etl'), '--ndjson', '-q', '--host', 'WEB-02']);
    expect(r.code).toBe(2);
    const lines = parse(r.stdout);
    expect(lines[0]).toMatchObject({ type: 'file', host: 'WEB-02', instanceId: null, file: file('not-a-trace.etl'), error: { code: 'ETL_not-etl' }, requests: 0 });
    expect(lines.slice(1).filter((l) => l.type === 'file')).toHaveLength(1);
  });

  it.skipIf(!haveShared)(`on the real fixtures (folders of netsh and pktmon traces): every line is valid ${haveShared ? '' : `(skipped: ${skipReason})`}`, () => {
    const r = run(['scan', shared('netsh'), shared('pktmon'), '--ndjson', '-q']);
    expect([0, 4]).toContain(r.code);
    const lines = parse(r.stdout);
    expect(lines.filter((l) => l.type === 'file').length).toBeGreaterThanOrEqual(7);
  });
});
