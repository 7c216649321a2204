// ProcessTable: PIDs named over time from trace events, services and tasklist
// snapshots, with precedence and confidence; and on a real kernel-logger trace
// read by the project's reader.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { TraceEvent } from '../../src/native/types.js';
import { ProcessTable } from '../../src/processes/process-table.js';
import { parseTasklist } from '../../src/processes/tasklist.js';
import { kpEvent, kpStartProperties, kpStopProperties, mofEvent, serviceEvent, terminateEvent, traceEvent, MOF_GUID } from './support/payloads.js';
import { kernelProcessRecords } from './support/mini-etl.js';
import { openTrace } from '../../src/index.js';
import { repoRoot, shared, skipReason } from '../support/fixtures.js';

const T0 = 133_500_000_000_000_000n; // some FILETIME
const at = (seconds: number) => T0 + BigInt(Math.round(seconds * 10_000_000));

describe('PID reuse over time', () => {
  it('kernel MOF Start/End: each process owns the PID only while it lives', () => {
    const t = new ProcessTable();
    t.addEvent(mofEvent(1, 4, at(10), { pid: 100, ppid: 4, image: 'old.exe' }));
    t.addEvent(mofEvent(2, 4, at(20), { pid: 100, ppid: 4, image: 'old.exe' }));
    t.addEvent(mofEvent(1, 4, at(30), { pid: 100, ppid: 4, image: 'new.exe', commandLine: 'new.exe --x' }));
    expect(t.nameFor(100, at(5))).toBeUndefined();               // before old.exe started
    expect(t.nameFor(100, at(15))).toMatchObject({ image: 'old.exe', source: 'trace', confidence: 'high' });
    expect(t.nameFor(100, at(20))!.image).toBe('old.exe');       // the exit instant still belongs to it
    expect(t.nameFor(100, at(25))).toBeUndefined();              // ended, and new.exe not yet started
    expect(t.nameFor(100, at(29.9))).toBeUndefined();
    expect(t.nameFor(100, at(30))).toMatchObject({ image: 'new.exe', confidence: 'high', commandLine: 'new.exe --x' });
    expect(t.nameFor(100, at(99))).toMatchObject({ image: 'new.exe', confidence: 'high' });
    expect(t.lifetimes(100).map((l) => [l.image, l.begin, l.end])).toEqual([['old.exe', at(10), at(20)], ['new.exe', at(30), undefined]]);
  });

  it('Kernel-Process Start/Stop: event times bound the lifetime (payload FILETIMEs are another clock)', () => {
    const t = new ProcessTable();
    // Payload times 2 s off the event times, as the system clock drifts from the session clock.
    const create = at(8);
    const exit = at(22);
    t.addEvent(kpEvent(1, 3, at(10), kpStartProperties(3, { pid: 7, create, ppid: 4, image: '\\Device\\HarddiskVolume3\\tools\\a.exe' })));
    t.addEvent(kpEvent(2, 2, at(20), kpStopProperties(2, { pid: 7, create, exit, image: 'a.exe' })));
    t.addEvent(kpEvent(1, 1, at(40), kpStartProperties(1, { pid: 7, create: at(40), ppid: 4, image: '\\Device\\HarddiskVolume3\\tools\\b.exe' })));
    expect(t.nameFor(7, at(10))).toMatchObject({ image: 'a.exe', imagePath: '\\Device\\HarddiskVolume3\\tools\\a.exe', confidence: 'high' });
    expect(t.nameFor(7, at(9))).toBeUndefined();
    expect(t.nameFor(7, at(20))!.image).toBe('a.exe');
    expect(t.nameFor(7, at(21))).toBeUndefined();
    expect(t.nameFor(7, at(41))!.image).toBe('b.exe');
  });

  it('rundown and Defunct use the payload times, the only ones they have', () => {
    const t = new ProcessTable();
    t.addEvent(kpEvent(15, 1, at(100), kpStartProperties(3, { pid: 9, create: at(50), ppid: 4, image: '\\Device\\HarddiskVolume3\\x.exe' })));
    expect(t.nameFor(9, at(49))).toBeUndefined();
    expect(t.nameFor(9, at(60))).toMatchObject({ image: 'x.exe' });
    t.addEvent(mofEvent(39, 5, at(200), { pid: 10, ppid: 4, image: 'gone.exe', exitTime: at(150) }));
    expect(t.nameFor(10, at(149))!.image).toBe('gone.exe');
    expect(t.nameFor(10, at(151))).toBeUndefined();
  });

  it('Terminate before End: the process holds the PID until End; Terminate alone is the exit', () => {
    const t = new ProcessTable();
    const term = (pid: number, s: number) => terminateEvent(pid, at(s));
    t.addEvent(mofEvent(3, 4, at(1), { pid: 70, ppid: 4, image: 'a.exe' }));
    t.addEvent(term(70, 10));
    t.addEvent(mofEvent(2, 4, at(10.03), { pid: 70, ppid: 4, image: 'a.exe' }));
    expect(t.nameFor(70, at(10.02))).toMatchObject({ image: 'a.exe', confidence: 'high' });
    expect(t.nameFor(70, at(10.04))).toBeUndefined();
    // Terminate with no End after it (End not logged, or the trace stopped first).
    t.addEvent(mofEvent(3, 4, at(1), { pid: 71, ppid: 4, image: 'b.exe' }));
    t.addEvent(term(71, 20));
    expect(t.nameFor(71, at(19))!.image).toBe('b.exe');
    expect(t.nameFor(71, at(21))).toBeUndefined();
    // Terminate first seen with no earlier sighting: End names it.
    t.addEvent(term(72, 30));
    t.addEvent(mofEvent(2, 4, at(30.01), { pid: 72, ppid: 4, image: 'c.exe' }));
    expect(t.lifetimes(72)).toHaveLength(1);
    expect(t.nameFor(72, at(30.005))).toMatchObject({ image: 'c.exe', confidence: 'high' });
  });

  it('a Start for a PID still held means the old holder went away unseen', () => {
    const t = new ProcessTable();
    t.addEvent(mofEvent(3, 4, at(1), { pid: 50, ppid: 4, image: 'a.exe' }));   // rundown at trace start
    t.addEvent(mofEvent(1, 4, at(50), { pid: 50, ppid: 4, image: 'b.exe' }));
    const [a, b] = t.lifetimes(50);
    expect([a!.image, a!.end, a!.endExact, b!.image, b!.begin]).toEqual(['a.exe', at(50), false, 'b.exe', at(50)]);
    expect(t.nameFor(50, at(10))!.image).toBe('a.exe');
    expect(t.nameFor(50, at(60))!.image).toBe('b.exe');
  });

  it('rundown sightings under different images split into two lifetimes', () => {
    const t = new ProcessTable();
    t.addEvent(mofEvent(3, 4, at(1), { pid: 60, ppid: 4, image: 'a.exe' }));
    t.addEvent(mofEvent(4, 4, at(100), { pid: 60, ppid: 4, image: 'b.exe' }));
    expect(t.lifetimes(60).map((l) => l.image)).toEqual(['a.exe', 'b.exe']);
    expect(t.nameFor(60, at(1))).toMatchObject({ image: 'a.exe', confidence: 'high' });
    // Between the sightings the PID changed hands at an unknown moment.
    expect(t.nameFor(60, at(50))).toMatchObject({ image: 'b.exe', confidence: 'medium' });
    expect(t.nameFor(60, at(100))).toMatchObject({ image: 'b.exe', confidence: 'high' });
  });

  it('events fed in any order give the same answers as in time order', () => {
    const events: TraceEvent[] = [
      mofEvent(3, 4, at(0), { pid: 8, ppid: 4, image: 'x.exe' }),
      mofEvent(2, 4, at(5), { pid: 8, ppid: 4, image: 'x.exe' }),
      mofEvent(1, 4, at(7), { pid: 8, ppid: 4, image: 'y.exe' }),
      mofEvent(2, 4, at(9), { pid: 8, ppid: 4, image: 'y.exe' }),
      mofEvent(1, 3, at(12), { pid: 8, ppid: 4, image: 'z.exe' }, 4),
      mofEvent(4, 3, at(20), { pid: 8, ppid: 4, image: 'z.exe' }, 4),
      serviceEvent(2, at(20), { pid: 8, service: 'ZSvc', display: 'Z', process: 'z.exe' }),
    ];
    const probe = [-1, 0, 3, 5, 6, 7, 8, 9, 10, 12, 15, 20, 30].map(at);
    const reference = new ProcessTable();
    reference.addEvents(events);
    // The answers, without the trace-internal record behind them (its order of arrival differs).
    const answer = (t: ProcessTable, p: bigint) => {
      const n = t.nameFor(8, p);
      if (!n) return n;
      const { lifetime: _l, ...rest } = n;
      return rest;
    };
    const expected = probe.map((p) => answer(reference, p));
    // x.exe was seen at the start rundown: it held the PID before that too.
    expect(expected.map((n) => n?.image)).toEqual(['x.exe', 'x.exe', 'x.exe', 'x.exe', undefined, 'y.exe', 'y.exe', 'y.exe', undefined, 'z.exe', 'z.exe', 'z.exe', 'z.exe']);
    expect(expected[11]!.services).toEqual(['ZSvc']);
    fc.assert(
      fc.property(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), (shuffled) => {
        const t = new ProcessTable();
        t.addEvents(shuffled);
        expect(probe.map((p) => answer(t, p))).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});

describe('confidence of trace answers', () => {
  it('rundown-only process: medium outside what was seen, high inside', () => {
    const t = new ProcessTable();
    t.addEvent(mofEvent(3, 4, at(1), { pid: 9, ppid: 4, image: 'svc.exe' }));
    expect(t.nameFor(9, at(0))).toMatchObject({ image: 'svc.exe', confidence: 'medium' });
    expect(t.nameFor(9, at(1))).toMatchObject({ confidence: 'high' });
    expect(t.nameFor(9, at(5))).toMatchObject({ confidence: 'medium' });
    t.addEvent(mofEvent(4, 4, at(10), { pid: 9, ppid: 4, image: 'svc.exe' }));
    expect(t.nameFor(9, at(5))).toMatchObject({ confidence: 'high' });
  });

  it('when the trace logs starts and ends, silence counts: a rundown process lived the whole trace', () => {
    const t = new ProcessTable();
    t.addEvent(mofEvent(3, 4, at(1), { pid: 9, ppid: 4, image: 'svc.exe' }));
    t.addEvent(mofEvent(1, 4, at(2), { pid: 11, ppid: 9, image: 'other.exe' }));
    t.addEvent(mofEvent(2, 4, at(3), { pid: 11, ppid: 9, image: 'other.exe' }));
    expect(t.nameFor(9, at(0))!.confidence).toBe('high');
    expect(t.nameFor(9, at(100))!.confidence).toBe('high');
  });
});

describe('SystemConfig services', () => {
  it('name the PID and list its services, joined to the process seen at rundown', () => {
    const t = new ProcessTable();
    expect(t.addEvent(serviceEvent(2, at(100), { pid: 1024, service: 'Schedule', display: 'Task Scheduler', process: 'svchost.exe' }))).toBe(true);
    expect(t.addEvent(serviceEvent(2, at(100), { pid: 1024, service: 'BITS', display: 'Background Intelligent Transfer Service', process: 'svchost.exe' }))).toBe(true);
    expect(t.addEvent(serviceEvent(0, at(100), { pid: 2210, service: 'AmazonSSMAgent', display: 'Amazon SSM Agent', process: 'amazon-ssm-agent.exe' }))).toBe(true);
    expect(t.nameFor(1024, at(100))).toMatchObject({ image: 'svchost.exe', services: ['Schedule', 'BITS'], source: 'trace', confidence: 'high' });
    expect(t.nameFor(2210, at(50))).toMatchObject({ image: 'amazon-ssm-agent.exe', services: ['AmazonSSMAgent'], confidence: 'medium' });
    t.addEvent(mofEvent(4, 4, at(100), { pid: 1024, ppid: 668, image: 'svchost.exe', commandLine: 'C:\\Windows\\system32\\svchost.exe -k netsvcs' }));
    expect(t.lifetimes(1024)).toHaveLength(1);
    expect(t.nameFor(1024, at(100))).toMatchObject({ services: ['Schedule', 'BITS'], commandLine: 'C:\\Windows\\system32\\svchost.exe -k netsvcs' });
  });
});

describe('tasklist and cab snapshots', () => {
  const synthetic = parseTasklist(readFileSync(path.join(repoRoot, 'fixtures/synthetic-processes.txt')));

  it('name PIDs the trace does not mention, with medium confidence', () => {
    const t = new ProcessTable();
    t.addTasklist(synthetic, 'cab');
    expect(t.nameFor(2210, at(1))).toMatchObject({ image: 'amazon-ssm-agent.exe', services: ['AmazonSSMAgent'], source: 'cab', confidence: 'medium' });
    expect(t.nameFor(12345, at(1))).toBeUndefined();
  });

  it('an explicit tasklist file takes precedence over the cab, the trace over both', () => {
    const t = new ProcessTable();
    t.addTasklist([{ pid: 2210, image: 'from-cab.exe', services: [] }], 'cab');
    t.addTasklist([{ pid: 2210, image: 'from-file.exe', services: [] }], 'tasklist');
    expect(t.nameFor(2210, at(1))).toMatchObject({ image: 'from-file.exe', source: 'tasklist' });
    t.addEvent(mofEvent(3, 4, at(0), { pid: 2210, ppid: 4, image: 'from-trace.exe' }));
    t.addEvent(mofEvent(4, 4, at(9), { pid: 2210, ppid: 4, image: 'from-trace.exe' }));
    expect(t.nameFor(2210, at(1))).toMatchObject({ image: 'from-trace.exe', source: 'trace', confidence: 'high' });
  });

  it('low confidence, with a reason, when the trace shows the PID was reused', () => {
    const t = new ProcessTable();
    t.addTasklist([{ pid: 200, image: 'new.exe', services: [] }, { pid: 300, image: 'late.exe', services: ['LateSvc'] }], 'tasklist');
    t.addEvent(mofEvent(1, 4, at(10), { pid: 200, ppid: 4, image: 'old.exe' }));
    t.addEvent(mofEvent(2, 4, at(20), { pid: 200, ppid: 4, image: 'old.exe' }));
    expect(t.nameFor(200, at(15))).toMatchObject({ image: 'old.exe', source: 'trace', confidence: 'high' });
    const before = t.nameFor(200, at(5))!;
    expect(before).toMatchObject({ image: 'new.exe', source: 'tasklist', confidence: 'low' });
    expect(before.note).toMatch(/reused.*old\.exe.*until/);
    expect(t.nameFor(200, at(25))).toMatchObject({ image: 'new.exe', confidence: 'low' });

    // late.exe started during the trace: before that, the snapshot's name is not the owner.
    t.addEvent(mofEvent(1, 4, at(50), { pid: 300, ppid: 4, image: 'late.exe' }));
    const early = t.nameFor(300, at(40))!;
    expect(early).toMatchObject({ image: 'late.exe', source: 'tasklist', confidence: 'low' });
    expect(early.note).toMatch(/started at .*after the time asked/);
    // After its start the trace names it, with the snapshot's services.
    expect(t.nameFor(300, at(60))).toMatchObject({ image: 'late.exe', source: 'trace', confidence: 'high', services: ['LateSvc'] });
  });

  it('tasklist truncation (25 chars) still matches the trace image for services', () => {
    const t = new ProcessTable();
    t.addTasklist([{ pid: 61234, image: 'ExampleMetadataPollerWith', services: ['ExampleMetadataPoller'] }], 'cab');
    t.addEvent(mofEvent(3, 4, at(1), { pid: 61234, ppid: 4, image: 'ExampleMetadataPollerWithLongName.exe' }));
    expect(t.nameFor(61234, at(1))).toMatchObject({ image: 'ExampleMetadataPollerWithLongName.exe', services: ['ExampleMetadataPoller'] });
  });
});

describe('problems and other providers', () => {
  it('a payload that does not fit is reported with its place, others still used', () => {
    const t = new ProcessTable();
    // What the reader hands out for a 10-byte v4 Start: the payload ended inside ProcessId.
    const bad = traceEvent({
      provider: MOF_GUID, opcode: 1, version: 4, fileTime: at(1), userData: new Uint8Array(10), bufferIndex: 3, fileOffset: 0x30000,
      properties: { UniqueProcessKey: 1 }, propertiesTruncated: true,
      propertiesError: "property 'ProcessId' needs 4 bytes at payload offset 8, only 2 left",
    });
    expect(t.addEvent(bad)).toBe(false);
    expect(t.addEvent(mofEvent(1, 4, at(2), { pid: 5, ppid: 4, image: 'ok.exe' }))).toBe(true);
    expect(t.problems).toHaveLength(1);
    expect(t.problems[0]!.message).toMatch(/kernel Process event \(type 1, version 4, 64-bit\): no integer ProcessId \(property 'ProcessId' needs 4 bytes.*buffer 3 at file offset 196608/);
    expect(t.nameFor(5, at(3))!.image).toBe('ok.exe');
  });

  it('ignores other providers and non-process opcodes', () => {
    const t = new ProcessTable();
    expect(t.addEvent(traceEvent({ provider: '2ed6006e-4729-4609-b423-3ee7bcd678ef', kind: 'event', id: 1001, fileTime: at(1), userData: new Uint8Array(40) }))).toBe(false);
    expect(t.addEvent(traceEvent({ provider: MOF_GUID, opcode: 10, version: 3, fileTime: at(1), userData: new Uint8Array(40) }))).toBe(false);
    expect(t.addEvent(traceEvent({ provider: '9b79ee91-b5fd-41c0-a243-4248e266e9d0', kind: 'full', opcode: 36, fileTime: at(1), userData: new Uint8Array(40) }))).toBe(false);
    expect(t.problems).toHaveLength(0);
    expect(t.tracedPids()).toEqual([]);
  });
});

// -------------------------------------------------------------- real traces

const kernelFile = path.join(repoRoot, 'fixtures/airbus/ShutdownPerfDiagLogger.etl');
const wifiFile = shared('netsh/attackhost-wifi.etl');
const haveWifi = existsSync(wifiFile);
if (!haveWifi) process.stderr.write(`SKIP (process table on the netsh Wi-Fi trace): ${skipReason}\n`);

async function allEvents(file: string): Promise<TraceEvent[]> {
  const trace = openTrace(file);
  const out: TraceEvent[] = [];
  try {
    for await (const batch of trace.events()) out.push(...batch.events);
  } finally {
    trace.close();
  }
  return out;
}

describe("real traces through the project's reader", () => {
  it('kernel logger: every End owns its PID up to its exit and not after; rundown processes span the trace', async () => {
    const events = await allEvents(kernelFile);
    const t = new ProcessTable();
    const used = t.addEvents(events);
    expect(t.problems).toEqual([]);
    expect(used).toBe(94 + 37 + 60 + 60 + 5);
    const proc = events.filter((e) => e.provider === MOF_GUID && [2, 3, 4].includes(e.opcode));
    // Cross-check with the independent walker in support/mini-etl.ts: same records, same order.
    const mini = kernelProcessRecords(readFileSync(kernelFile)).filter((e) => [2, 3, 4].includes(e.opcode));
    expect(proc.map((e) => [e.opcode, Buffer.from(e.userData).toString('hex')])).toEqual(mini.map((e) => [e.opcode, Buffer.from(e.userData).toString('hex')]));

    let ends = 0;
    for (const e of proc.filter((x) => x.opcode === 2)) {
      const pid = e.properties!.ProcessId as number;
      const before = t.nameFor(pid, e.fileTime - 1n);
      // This file logs Terminate (type 11) milliseconds before End: the process
      // still holds its PID in between, so it is named, and seen, up to End.
      expect(before, `pid ${pid} just before its End`).toMatchObject({ source: 'trace', confidence: 'high' });
      expect(t.nameFor(pid, e.fileTime + 1n), `pid ${pid} after its exit`).toBeUndefined();
      ends++;
    }
    expect(ends).toBe(60);
    // Midpoint of the process events (the logfile header record is hours earlier).
    const mid = (proc[0]!.fileTime + proc[proc.length - 1]!.fileTime) / 2n;
    const headerTime = events[0]!.fileTime;
    expect(t.nameFor(4, headerTime)).toMatchObject({ image: 'System', confidence: 'medium' });
    expect(t.nameFor(4, mid)).toMatchObject({ image: 'System', confidence: 'high' });
    expect(t.nameFor(2100, mid)).toBeUndefined(); // browser_broker.exe exited early in the trace
    // explorer.exe (3856) ended during the trace and shows up again at the end
    // rundown as Defunct. Its payload ExitTime (system clock) is 1.76 s after
    // its End event's time: the End event time stays the exit.
    const explorerEnd = proc.find((e) => e.opcode === 2 && e.properties!.ProcessId === 3856)!;
    expect(0x01d5ee5ab95cff5an - explorerEnd.fileTime).toBeGreaterThan(17_000_000n);
    expect(t.lifetimes(3856)).toHaveLength(1);
    expect(t.lifetimes(3856)[0]!.end).toBe(explorerEnd.fileTime);
    expect(t.nameFor(3856, explorerEnd.fileTime + 1n)).toBeUndefined();
  });

  it.skipIf(!haveWifi)('netsh attackhost-wifi: its 94 SystemConfig records are SysConfigEx (types 32-37) with no services or PIDs', async () => {
    const events = await allEvents(wifiFile);
    const sysconfig = events.filter((e) => e.provider === '9b79ee91-b5fd-41c0-a243-4248e266e9d0');
    expect(sysconfig).toHaveLength(94);
    expect([...new Set(sysconfig.map((e) => e.opcode))].sort()).toEqual([32, 33, 34, 35, 36, 37]);
    const t = new ProcessTable();
    expect(t.addEvents(events)).toBe(0);
    expect(t.tracedPids()).toEqual([]);
  });
});

describe('confidence when the trace logs starts or the snapshot agrees', () => {
  it('a process seen in a rundown stays high after it was last seen when starts are logged', async () => {
    const { ProcessTable } = await import('../../src/processes/index.js');
    const { scanFile } = await import('../../src/scan.js');
    const path = await import('node:path');
    const { repoRoot } = await import('../support/fixtures.js');
    // The shipped sample: powershell.exe from a rundown, node.exe from a ProcessStart, a cab that agrees.
    const r = await scanFile(path.join(repoRoot, 'fixtures/imds-sample.etl'));
    expect(r.requests.every((q) => q.nameConfidence === 'high')).toBe(true);
    expect(new ProcessTable().nameFor(1, 0n)).toBeUndefined();
  });
});
