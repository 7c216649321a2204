// scan on captures as people make them (generated from the real-client traffic in
// fixtures/imds): packets cut at 128, 96 and 1500 bytes (pktmon --pkt-size, netsh
// packettruncatebytes), a circular file that wrapped, one direction only, PIDs 0/4 only (pktmon
// --comp nics), no process events, no IMDS packets among other traffic. Each with the requests,
// classes, statuses and notes it must give; and the real pktmon fixtures' snap lengths.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  backgroundTraffic, captureTcpipEvents, DEFAULT_START, FILETIME_SECOND, loadCapture, mergeByTime, placeCapture, placedTruth,
  Rng, take, writeNetshEtl, writePktmonEtl, type GenPacket, type LoadedCapture, type PidMode,
} from '../../tools/gen/index.js';
import { scanFile, type FileScan } from '../../src/scan.js';
import { captureRecipe, printableStart } from '../../src/capture/commands.js';
import { couldNotShowLine } from '../../src/capture/quality.js';
import { haveShared, repoRoot, shared, skipReason } from '../support/fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-scan-captures-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const dir = path.join(repoRoot, 'fixtures', 'imds');
const load = (name: string): LoadedCapture => loadCapture(path.join(dir, `${name}.json`));
const captures = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.truth.json')).map((f) => f.replace(/\.json$/, ''));

const START = DEFAULT_START + 5n * FILETIME_SECOND;
const tracePid = (pid: number) => 1000 + (pid % 60000);

interface Made { file: string; c: LoadedCapture; packets: GenPacket[] }

async function make(form: 'netsh' | 'pktmon', name: string, o: {
  pktSize?: number; truncate?: number; keep?: (p: GenPacket) => boolean; pidMode?: PidMode; processes?: boolean; tcpip?: boolean;
  extra?: GenPacket[];
} = {}): Promise<Made> {
  const c = load(name);
  const place = { start: START, cpu: 1, pid: tracePid, pidMode: o.pidMode ?? 'packet' };
  let packets = placeCapture(c, place).filter(o.keep ?? (() => true));
  if (o.extra) packets = [...mergeByTime(packets, o.extra)];
  const processes = o.processes === false ? [] : [...new Set(c.truth.map((t) => tracePid(t.pid)))].map((pid) => ({ pid, image: `\\Device\\HarddiskVolume2\\apps\\client${pid}.exe`, ppid: 600, sessionId: 0 }));
  const tcpipEvents = o.tcpip ? captureTcpipEvents(c, place) : [];
  const file = path.join(tmp, `${form}-${name}-${o.pktSize ?? o.truncate ?? 'whole'}-${Math.random().toString(36).slice(2)}.etl`);
  const opts = { startTime: DEFAULT_START, numberOfProcessors: 2, processes, tcpipEvents };
  if (form === 'netsh') await writeNetshEtl(file, packets, { ...opts, packetTruncateBytes: o.truncate });
  else await writePktmonEtl(file, packets, { ...opts, pktSize: o.pktSize });
  return { file, c, packets };
}

const scan = (file: string) => scanFile(file, { noAutoCab: true });
const rows = (r: FileScan) => r.requests.map((q) => [q.class, q.method, q.path === null ? null : q.pathCut ? `${q.path}…` : q.path, q.status, q.flags.join(','), q.reason]);
const notes = (r: FileScan) => r.capture!.notes.map((n) => n.code);

describe('cut packets', () => {
  it('pktmon --pkt-size 128 (the default): method, path and status kept; token PUTs are token; GETs whose token header was cut are unknown, with the reason', async () => {
    const { file } = await make('pktmon', 'sdk-js-v2', { pktSize: 128 });
    const r = await scan(file);
    expect(r.diagnostics).toEqual([]);
    expect(rows(r)).toEqual([
      ['token', 'PUT', '/latest/api/token', 200, 'cut', null],
      ['unknown', 'GET', '//latest/meta-data/instance-id', 200, 'cut', 'cut at 128 bytes'],
      ['token', 'PUT', '/latest/api/token', 200, 'cut', null],
      ['unknown', 'GET', '//latest/meta-data/placement/region', 200, 'cut', 'cut at 128 bytes'],
    ]);
    expect(r.requests.every((q) => q.pid === tracePid(load('sdk-js-v2').truth[0]!.pid) && q.image !== null)).toBe(true);
    const q = r.capture!;
    expect([q.tool, q.snapLength, q.imdsPacketsCut, q.wrapped]).toEqual(['pktmon', 128, 8, false]);
    expect(notes(r)).toEqual(['cut']);
    expect(q.notes[0]!.text).toBe("8 IMDS packets (24 of the capture's 120) were logged cut at 128 bytes (pktmon logs 128 bytes of each packet unless --pkt-size says otherwise; 0 logs them whole): each request shows what its first bytes hold, and one whose token header may be in the part cut off stays unknown.");
    expect(couldNotShowLine(q)).toBe(`This capture could not show whole requests (packets cut at 128 bytes); this would have: ${printableStart(captureRecipe('pktmon'))}`);
  });

  it('pktmon 128: what the cut leaves of split, pipelined and keep-alive requests', async () => {
    // Each write of raw-split is its own segment: the token header starts after a captured line feed.
    expect(rows(await scan((await make('pktmon', 'raw-split', { pktSize: 128 })).file))).toEqual([
      ['v2', 'GET', '/latest/meta-data/iam/security-credentials/', 200, 'cut', null],
      ['v1', 'GET', '/latest/meta-data/placement/region', 200, '', null],
    ]);
    // Three requests in one segment: only the first shows; the answers stand for the other two.
    expect(rows(await scan((await make('pktmon', 'raw-pipelined', { pktSize: 128 })).file))).toEqual([
      ['unknown', 'GET', '/latest/meta-data/instance-id', 200, 'cut', 'cut at 128 bytes'],
      ['unknown', null, null, 200, 'cut', 'cut at 128 bytes'],
      ['unknown', null, null, 200, 'cut', 'cut at 128 bytes'],
    ]);
    expect(rows(await scan((await make('pktmon', 'raw-keepalive', { pktSize: 128 })).file))).toEqual([
      ['token', 'PUT', '/latest/api/token', 200, 'cut', null],
      ['unknown', 'GET', '/latest/meta-data/instance-id', 200, 'cut', 'cut at 128 bytes'],
      ['unknown', 'GET', '/latest/meta-data/ami-id', 200, 'cut', 'cut at 128 bytes'],
      ['unknown', 'GET', '/latest/meta-data/no-such-thing', 404, 'cut', 'cut at 128 bytes'],
    ]);
  });

  it('pktmon --pkt-size 96: the path is cut too; over IPv6 even the status code is', async () => {
    expect(rows(await scan((await make('pktmon', 'curl-v2', { pktSize: 96 })).file))).toEqual([
      ['token', 'PUT', '/latest/api/token', 200, 'cut', null],
      ['unknown', 'GET', '/latest/meta-data/instance…', 200, 'cut', 'cut at 96 bytes'],
    ]);
    // 14 + 40 + 32 header bytes leave 10 of HTTP: "PUT /lates", "HTTP/1.1 2".
    const r = await scan((await make('pktmon', 'ipv6-mixed', { pktSize: 96 })).file);
    expect(rows(r)).toEqual([
      ['unknown', 'GET', '/lates…', null, 'cut', 'cut at 96 bytes'],
      ['token', 'PUT', '/lates…', null, 'cut', null],
      ['unknown', 'GET', '/lates…', null, 'cut', 'cut at 96 bytes'],
      ['unknown', 'GET', '/lates…', null, 'cut', 'cut at 96 bytes'],
    ]);
    expect(r.capture!.snapLength).toBe(96);
  });

  it('pktmon --pkt-size 1500: IMDS packets are whole (only large other packets are cut), so the verdicts are the truth', async () => {
    const bg = [...take(backgroundTraffic({ start: START - FILETIME_SECOND, rng: new Rng(11), cpus: 2 }), { maxPackets: 400 })].map((p) => ({ ...p, cpu: 0 }));
    const { file, c } = await make('pktmon', 'botocore-v1-fallback', { pktSize: 1500, extra: bg });
    const r = await scan(file);
    expect(r.requests.map((q) => [q.class, q.method, q.path, q.status, q.flags.join(',')]))
      .toEqual(placedTruth(c, { start: START, pid: tracePid }).map((t) => [t.class, t.method, t.path, t.status, '']));
    const q = r.capture!;
    expect(q.packetsCut).toBeGreaterThan(0);
    expect(q.snapLength).toBe(1500);
    expect(q.imdsPacketsCut).toBe(0);
    expect(notes(r)).toEqual([]);
    expect(couldNotShowLine(q)).toBeNull();
  });

  it('netsh packettruncatebytes=128: the PacketTruncated keyword and the IP length tell the cut; same facts kept', async () => {
    const { file } = await make('netsh', 'tokens-required', { truncate: 128 });
    const r = await scan(file);
    expect(rows(r)).toEqual([
      ['unknown', 'GET', '/latest/meta-data/instance-id', 401, 'cut', 'cut at 128 bytes'],
      ['token', 'PUT', '/latest/api/token', 200, 'cut', null],
      ['unknown', 'GET', '/latest/meta-data/ami-id', 200, 'cut', 'cut at 128 bytes'],
    ]);
    expect([r.capture!.tool, r.capture!.snapLength]).toEqual(['netsh', 128]);
    expect(r.capture!.notes[0]!.text).toContain('netsh trace cuts packets when packettruncatebytes= is given');
    expect(r.capture!.command).toBe(printableStart(captureRecipe('netsh')));
  });

  for (const size of [96, 128]) {
    it(`every capture at ${size} bytes: nothing cut is ever v1, and whatever is classified is the truth`, async () => {
      for (const name of captures) {
        const { file, c } = await make(size === 96 ? 'netsh' : 'pktmon', name, size === 96 ? { truncate: size } : { pktSize: size });
        const r = await scan(file);
        expect(r.diagnostics).toEqual([]);
        const truth = placedTruth(c, { start: START, pid: tracePid });
        // One request listed per request sent (answers stand for the requests the cut hid).
        expect(r.requests.length, name).toBe(truth.length);
        for (const q of r.requests) {
          if (q.flags.includes('cut')) expect(q.class, `${name}: ${q.method} ${q.path}`).not.toBe('v1');
          if (q.class === 'unknown') { expect(q.reason, name).toMatch(/^cut at \d+ bytes$/); continue; }
          const match = truth.find((t) => t.class === q.class && t.method === q.method && (q.pathCut ? t.path.startsWith(q.path!) : t.path === q.path));
          expect(match, `${name}: ${q.class} ${q.method} ${q.path}`).toBeDefined();
        }
      }
    });
  }
});

describe('a circular file that wrapped', () => {
  it('says from when it is complete; connections that began before are partial, not errors', async () => {
    const ka = load('raw-keepalive');
    const early = load('curl-v1');
    const t0 = DEFAULT_START + FILETIME_SECOND;
    const kaPackets = placeCapture(ka, { start: t0, cpu: 1, pid: tracePid });
    // The keep-alive connection opens (handshake, token PUT) at once, its later requests 100 s on.
    const opening = kaPackets.slice(0, 7);
    const later = kaPackets.slice(7).map((p) => ({ ...p, time: p.time + 100n * FILETIME_SECOND }));
    const earlyPackets = placeCapture(early, { start: t0 + FILETIME_SECOND, cpu: 0, pid: tracePid });
    const bg = take(backgroundTraffic({ start: t0, rng: new Rng(7), cpus: 2, gap: 300000 }), { maxPackets: 5000 });
    const file = path.join(tmp, 'wrapped.etl');
    const s = await writeNetshEtl(file, mergeByTime(opening, earlyPackets, bg, later), {
      startTime: DEFAULT_START, numberOfProcessors: 2, bufferSize: 64 * 1024, circularMaxSizeMB: 2,
      processes: [{ pid: tracePid(ka.truth[0]!.pid), image: '\\Device\\HarddiskVolume2\\apps\\agent.exe', ppid: 600, sessionId: 0 }],
    });
    // 2 MB of 64 KiB buffers: the header and 31 data buffers; the session wrote more.
    expect(s.buffers).toBe(32);
    expect(s.buffersWritten).toBeGreaterThan(40);
    const r = await scan(file);
    // No damage reported: a wrapped circular file holds fewer buffers than it wrote by nature.
    expect(r.diagnostics).toEqual([]);
    // The token PUT and curl's early requests were overwritten; the keep-alive connection's later
    // requests are whole, their answers paired, though its handshake is gone. So was the process
    // rundown at the start of the session: the PID stays, its name is gone.
    expect(r.requests.map((q) => [q.class, q.method, q.path, q.status, q.flags.join(','), q.pid, q.image])).toEqual([
      ['v2', 'GET', '/latest/meta-data/instance-id', 200, '', tracePid(ka.truth[0]!.pid), null],
      ['v1', 'GET', '/latest/meta-data/ami-id', 200, '', tracePid(ka.truth[0]!.pid), null],
      ['v2', 'GET', '/latest/meta-data/no-such-thing', 404, '', tracePid(ka.truth[0]!.pid), null],
    ]);
    const q = r.capture!;
    expect(q.wrapped).toBe(true);
    expect(notes(r)).toEqual(['wrapped', 'no-process-events']);
    // Complete from a time inside the trace, after the overwritten requests and before the kept ones.
    const from = q.coveredFrom!;
    expect(from > '2024-06-02T20:00:02' && from < r.requests[0]!.time).toBe(true);
    expect(q.notes[0]!.text).toBe(`The capture file is circular and filled up: the session wrote ${s.buffersWritten - 1} buffers of events and the file keeps the newest 31, so older traffic was overwritten and the trace is complete only from ${from.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}. Connections that began before then are partial: what is left of them is listed.`);
    // The suggested capture is twice as large as the one that wrapped, at least the default.
    expect(q.command).toBe(printableStart(captureRecipe('netsh', { maxSizeMB: 256 })));
  });

  it('requests from before the complete time carry before-coverage', async () => {
    const c = load('curl-v2');
    const t0 = DEFAULT_START + FILETIME_SECOND;
    // Busy enough on CPU 0 that its early buffers go; CPU 1 logs curl-v2 once, early.
    const mine = placeCapture(c, { start: t0 + 2n * FILETIME_SECOND, cpu: 1, pid: tracePid });
    const bg = [...take(backgroundTraffic({ start: t0, rng: new Rng(5), cpus: 1, gap: 200000 }), { maxPackets: 3000 })].map((p) => ({ ...p, cpu: 0 }));
    const file = path.join(tmp, 'wrapped-early.etl');
    await writeNetshEtl(file, mergeByTime(bg, mine), { startTime: DEFAULT_START, numberOfProcessors: 2, bufferSize: 64 * 1024, circularMaxSizeMB: 1 });
    const r = await scan(file);
    expect(r.capture!.wrapped).toBe(true);
    // CPU 1's only buffer was flushed last (at the end), so it survived: its requests are from
    // before the time from which the file is complete.
    expect(r.requests.map((q) => [q.class, q.status, q.flags.join(',')])).toEqual([['token', 200, 'before-coverage'], ['v2', 200, 'before-coverage']]);
  });
});

describe('one-sided and filtered captures', () => {
  it('outbound only: classes kept, statuses unknown, said so', async () => {
    const { file, c } = await make('pktmon', 'tokens-required', { keep: (p) => p.direction === 'out' });
    const r = await scan(file);
    expect(r.requests.map((q) => [q.class, q.method, q.path, q.status])).toEqual(placedTruth(c, { start: START, pid: tracePid }).map((t) => [t.class, t.method, t.path, null]));
    expect(notes(r)).toEqual(['outbound-only']);
    expect(r.capture!.directions).toEqual({ out: 18, in: 0 });
    expect(r.capture!.notes[0]!.text).toBe('Only packets sent to IMDS were captured (18), none of its answers: the statuses are unknown. A capture filter or the choice of interfaces kept out the inbound direction.');
  });

  it('inbound only: each answer is an unknown request with its status', async () => {
    const { file } = await make('pktmon', 'tokens-required', { keep: (p) => p.direction === 'in' });
    const r = await scan(file);
    expect(rows(r)).toEqual([
      ['unknown', null, null, 401, 'no-request', 'only the answer was captured'],
      ['unknown', null, null, 200, 'no-request', 'only the answer was captured'],
      ['unknown', null, null, 200, 'no-request', 'only the answer was captured'],
    ]);
    expect(r.requests.every((q) => q.pid === null && q.attribution === 'none')).toBe(true);
    expect(notes(r)).toEqual(['inbound-only']);
    expect(r.capture!.couldNotShow.map((m) => m.what)).toEqual(['the requests']);
  });

  it('PIDs 0/4 only (pktmon --comp nics): no caller, said so; TCPIP events fill in when present', async () => {
    const nics = await scan((await make('pktmon', 'curl-v2', { pidMode: 'none' })).file);
    expect(nics.requests.map((q) => [q.class, q.status, q.pid, q.attribution])).toEqual([['token', 200, null, 'none'], ['v2', 200, null, 'none']]);
    expect(notes(nics)).toEqual(['no-usable-pids']);
    expect(nics.capture!.imdsPacketsWithPid).toBe(0);
    expect(couldNotShowLine(nics.capture!)).toBe(`This capture could not show the callers' PIDs; this would have: ${printableStart(captureRecipe('pktmon'))}`);
    const withTcpip = await scan((await make('netsh', 'curl-v2', { pidMode: 'none', tcpip: true })).file);
    expect(withTcpip.requests.map((q) => q.attribution)).toEqual(['tcpip', 'tcpip']);
    expect(notes(withTcpip)).toEqual(['no-usable-pids']);
    expect(withTcpip.capture!.notes[0]!.text).toMatch(/TCPIP events in the trace named the processes instead\.$/);
    expect(withTcpip.capture!.tcpipEvents).toBeGreaterThan(0);
    expect(withTcpip.capture!.couldNotShow).toEqual([]);
  });

  it('no process events: said so, with where names came from instead', async () => {
    const r = await scan((await make('netsh', 'curl-v1', { processes: false })).file);
    expect(r.requests.map((q) => [q.class, q.image])).toEqual([['v1', null], ['v1', null]]);
    expect(notes(r)).toEqual(['no-process-events']);
    expect(r.capture!.processEvents).toBe(0);
    expect(r.capture!.notes[0]!.text).toBe('The trace has no process events and no process list was given (--processes, or the .cab netsh writes beside the trace), so PIDs are not named.');
    expect(couldNotShowLine(r.capture!)).toBe(`This capture could not show process names at the time of each call; this would have: ${printableStart(captureRecipe('netsh'))}`);
  });

  it('other traffic but no IMDS packets: a capture filter or interface left them out', async () => {
    const bg = [...take(backgroundTraffic({ start: START, rng: new Rng(2), cpus: 2 }), { maxPackets: 300 })];
    const file = path.join(tmp, 'no-imds.etl');
    await writeNetshEtl(file, bg, { startTime: DEFAULT_START, numberOfProcessors: 4 });
    const r = await scan(file);
    expect(r.requests).toEqual([]);
    expect(notes(r)).toEqual(['no-imds-packets']);
    expect(r.capture!.notes[0]!.text).toBe('The capture holds 300 packets, none to or from IMDS (169.254.169.254 or fd00:ec2::254, port 80): a capture filter or the choice of interfaces left them out, or nothing called IMDS while it ran.');
    expect(r.capture!.command).toBe(printableStart(captureRecipe('netsh')));
  });
});

describe.skipIf(!haveShared)(`real pktmon captures${haveShared ? '' : ` (SKIP: ${skipReason})`}`, () => {
  // SOURCES.md: nathaniel and finguard were captured with the default --pkt-size 128; demikernel
  // and stmcast whole (largest logged 98 and 1324 bytes); kesiya and gobang hold no packets.
  const cases: [string, number | null, number | null, string[]][] = [
    ['pktmon/nathaniel-29decde/PktMon.etl', 128, 128, []],
    ['pktmon/finguard/PktMon.etl', 128, 128, []],
    ['pktmon/demikernel/PktMon.etl', null, 98, []],
    ['pktmon/stmcast/PktMon.etl', null, 1324, []],
    ['pktmon/kesiya/PktMon.etl', null, null, ['no-packets']],
    ['pktmon/gobang/PktMon.etl', null, null, ['no-packets']],
  ];
  for (const [rel, snap, largest, codes] of cases) {
    it(`${rel}: snap length ${snap ?? 'none'}`, async () => {
      const r = await scan(shared(rel));
      const q = r.capture!;
      expect([q.tool, q.snapLength, q.largestPacket, q.wrapped]).toEqual(['pktmon', snap, largest, false]);
      if (snap !== null) expect(q.packetsCut).toBeGreaterThan(0);
      else expect(q.packetsCut).toBe(0);
      // None of them called IMDS; those with packets say so.
      expect(notes(r)).toEqual(q.packets > 0 ? ['no-imds-packets'] : codes);
    });
  }
});

describe('scan CLI on cut captures', () => {
  const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 26 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('table: the line under it says what the capture could not show and the command; notes on stderr; --json and --csv carry it', async () => {
    const { file } = await make('pktmon', 'curl-v2', { pktSize: 128 });
    const line = `This capture could not show whole requests (packets cut at 128 bytes); this would have: ${printableStart(captureRecipe('pktmon'))}`;
    const t = run(['scan', file]);
    expect(t.code).toBe(0);
    expect(t.stdout.trimEnd().split('\n').at(-1)).toBe(line);
    expect(t.stderr).toContain(`etl-imds: note: ${file}: 4 IMDS packets (12 of the capture's 60) were logged cut at 128 bytes`);
    expect(run(['scan', file, '-q']).stderr).toBe('');
    const rq = run(['scan', file, '--requests']);
    // At the default width (120) the reason outranks Flags, Method and 'PID from'.
    expect(rq.stdout).toMatch(/unknown\s+\/latest\/meta-data\/instance-id\s+200\s+cut at 128 bytes/);
    expect(rq.stdout.trimEnd().split('\n').at(-1)).toBe(line);
    const wide = run(['scan', file, '--requests', '--wide']);
    expect(wide.stdout).toMatch(/unknown\s+GET\s+\/latest\/meta-data\/instance-id\s+200\s+packet\s+cut\s+cut at 128 bytes/);
    const j = JSON.parse(run(['scan', file, '--json']).stdout);
    expect(j.files[0].capture).toMatchObject({ tool: 'pktmon', snapLength: 128, imdsPacketsCut: 4, wrapped: false, directions: { out: 12, in: 8 }, command: printableStart(captureRecipe('pktmon')) });
    expect(j.files[0].capture.notes.map((n: { code: string }) => n.code)).toEqual(['cut']);
    expect(j.requests.map((q: { class: string; reason: string | null; pathCut: boolean }) => [q.class, q.reason, q.pathCut])).toEqual([['token', null, false], ['unknown', 'cut at 128 bytes', false]]);
    const csv = run(['scan', file, '--requests', '--csv']).stdout.trim().split('\r\n');
    expect(csv[0]).toMatch(/,flags,pathCut,reason,processKey,commandLine$/);
    expect(csv[2]).toMatch(/,cut,false,cut at 128 bytes,[^,]*,[^,]*$/);
  });

  it('several files: captures that missed the same things share one line', async () => {
    const a = (await make('pktmon', 'curl-v1', { pktSize: 128 })).file;
    const b = (await make('pktmon', 'curl-v2', { pktSize: 128 })).file;
    const c = (await make('netsh', 'curl-v1', { processes: false })).file;
    const r = run(['scan', a, b, c, '--no-auto-cab']);
    const tail = r.stdout.trimEnd().split('\n').slice(-2);
    expect(tail).toEqual([
      `2 captures could not show whole requests (packets cut short); this would have: ${printableStart(captureRecipe('pktmon'))}`,
      `1 capture could not show process names at the time of each call; this would have: ${printableStart(captureRecipe('netsh'))}`,
    ]);
  });
});

describe('a relogged capture that filled its size limit', () => {
  it('says traffic is missing, without claiming at which end', async () => {
    // netsh rewrites the session's file when it stops: no circular mode left, but its maxsize is.
    const c = load('curl-v2');
    const bg = [...take(backgroundTraffic({ start: START - FILETIME_SECOND, rng: new Rng(8), cpus: 2 }), { maxPackets: 1500 })];
    const full = path.join(tmp, 'full.etl');
    await writeNetshEtl(full, mergeByTime(bg, placeCapture(c, { start: START, cpu: 1, pid: tracePid })), { startTime: DEFAULT_START, numberOfProcessors: 2, maximumFileSizeMB: 1 });
    const r = await scan(full);
    expect(r.capture!.wrapped).toBe(false);
    expect(r.capture!.sizeLimitReached).toBe(true);
    expect(notes(r)).toContain('size-limit');
    expect(r.capture!.notes.find((n) => n.code === 'size-limit')!.text).toMatch(/^The trace holds 1 MB of events, as much as its 1 MB size limit allowed: the capture was full/);
    expect(r.capture!.command).toBe(printableStart(captureRecipe('netsh', { maxSizeMB: 256 })));
    // The same traffic under the default limit says nothing of the kind.
    const roomy = path.join(tmp, 'roomy.etl');
    await writeNetshEtl(roomy, mergeByTime(bg, placeCapture(c, { start: START, cpu: 1, pid: tracePid })), { startTime: DEFAULT_START, numberOfProcessors: 2 });
    const q = await scan(roomy);
    expect(q.capture!.sizeLimitReached).toBe(false);
    expect(notes(q)).not.toContain('size-limit');
  });
});
