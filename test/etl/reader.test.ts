// The portable reader against real files written by Windows: record counts
// from SOURCES.md (measured independently) and Windows' own text dumps.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { openTrace, traceInfo } from '../../src/index.js';
import type { TraceEvent } from '../../src/index.js';
import path from 'node:path';
import { haveShared, repoRoot, shared, skipReason } from '../support/fixtures.js';

const PKTMON = '4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac';
const NDIS = '2ed6006e-4729-4609-b423-3ee7bcd678ef';
const SYSCONFIG = '9b79ee91-b5fd-41c0-a243-4248e266e9d0';
const EVENTTRACE = '68fdd900-4a3e-11d1-84f4-0000f80464e3';

// SOURCES.md: "Records in all" per file, plus per-provider figures where given.
const expected: { file: string; records: number; providers?: Record<string, Record<string, number> | number> }[] = [
  { file: 'netsh/attackhost-wifi.etl', records: 102, providers: { [SYSCONFIG]: 94, [EVENTTRACE]: 3, [NDIS]: { '1001': 1 } } },
  { file: 'pktmon/demikernel/PktMon.etl', records: 467, providers: { [PKTMON]: 403 } },
  { file: 'pktmon/stmcast/PktMon.etl', records: 31068, providers: { [PKTMON]: 30973 } },
  { file: 'pktmon/nathaniel-29decde/PktMon.etl', records: 3748, providers: { [PKTMON]: 3651 } },
  { file: 'pktmon/finguard/PktMon.etl', records: 1400, providers: { [PKTMON]: 1314 } },
  { file: 'pktmon/kesiya/PktMon.etl', records: 730, providers: { [PKTMON]: 657 } },
  { file: 'pktmon/gobang/PktMon.etl', records: 1195, providers: { [PKTMON]: 1096 } },
  { file: 'other/perfview/primitive-types.etl', records: 7 },
  { file: 'other/perfview/gcevents.PerfViewData.etl', records: 71 },
  { file: 'other/perfview/gcrundownevents.PerfViewData.clrRundown.etl', records: 112 },
  { file: 'other/perfview/SelfDescribingSingleEvent.etl', records: 23 },
  { file: 'other/perfview/smallEtlFile.etl', records: 2 },
  { file: 'other/perfview/diaghub.user_injected.1.etl', records: 4 },
  { file: 'other/airbus/ShutdownPerfDiagLogger.etl', records: 17078 },
  { file: 'other/airbus/AMSITrace.etl', records: 21 },
  { file: 'other/airbus/lxcore_kernel.etl', records: 4 },
  { file: 'other/krabsetw/powershell.etl', records: 114 },
  { file: 'other/sonde/test.etl', records: 112 },
];
const packetEvents: Record<string, Record<string, number>> = {
  'pktmon/demikernel/PktMon.etl': { '160': 114 },
  'pktmon/finguard/PktMon.etl': { '160': 378, '170': 28 },
  'pktmon/kesiya/PktMon.etl': {},
  'pktmon/gobang/PktMon.etl': {},
};

function sum(o: Record<string, number>): number {
  return Object.values(o).reduce((a, b) => a + b, 0);
}

describe.skipIf(!haveShared)(`record counts equal SOURCES.md ${haveShared ? '' : skipReason}`, () => {
  for (const x of expected) {
    it(x.file, async () => {
      const info = await traceInfo(shared(x.file));
      expect(info.records).toBe(x.records);
      expect(info.unknownRecords).toBe(0);
      expect(info.diagnostics).toEqual([]);
      expect(info.buffers).toBe(info.header.buffersWritten);
      expect(sum(Object.fromEntries(info.providers.map((p) => [p.guid, sum(p.events)])))).toBe(x.records);
      for (const [guid, want] of Object.entries(x.providers ?? {})) {
        const p = info.providers.find((q) => q.guid === guid);
        expect(p, guid).toBeDefined();
        if (typeof want === 'number') expect(sum(p!.events)).toBe(want);
        else for (const [id, n] of Object.entries(want)) expect(p!.events[id]).toBe(n);
      }
      const pk = packetEvents[x.file];
      if (pk) {
        const p = info.providers.find((q) => q.guid === PKTMON)!;
        expect((p.events['160'] ?? 0) + (p.events['170'] ?? 0)).toBe(sum(pk));
        for (const [id, n] of Object.entries(pk)) expect(p.events[id]).toBe(n);
      }
    });
  }

  it('stmcast: 30132 packet events (160 + 170), 2705 in nathaniel', async () => {
    for (const [f, n] of [['pktmon/stmcast/PktMon.etl', 30132], ['pktmon/nathaniel-29decde/PktMon.etl', 2705]] as const) {
      const info = await traceInfo(shared(f));
      const p = info.providers.find((q) => q.guid === PKTMON)!;
      expect((p.events['160'] ?? 0) + (p.events['170'] ?? 0)).toBe(n);
    }
  });

  it('events() streams the same records as info counts, in batches', async () => {
    const t = openTrace(shared('pktmon/stmcast/PktMon.etl'), { batchSize: 1000 });
    let n = 0;
    let batches = 0;
    let last = -1n;
    let outOfOrder = 0;
    for await (const b of t.events()) {
      batches++;
      for (const e of b.events) {
        if (n > 2 && e.fileTime < last) outOfOrder++;
        if (n > 2) last = e.fileTime;
        n++;
      }
    }
    expect(n).toBe(31068);
    expect(batches).toBeGreaterThan(30);
    expect(outOfOrder).toBe(0);
    expect(t.stats().records).toBe(31068);
  });
});

// Windows' text dumps (UTF-16LE): "[CPU]PID.TID::YYYY-MM-DD HH:MM:SS.fffffff00 [Provider] ...", local time.
interface DumpLine {
  cpu: number;
  pid: number;
  tid: number;
  time: string;
  provider: string;
  rest: string;
}
function readDump(file: string): DumpLine[] {
  const text = readFileSync(file).toString('utf16le').replace(/^\uFEFF/, '');
  const out: DumpLine[] = [];
  for (const l of text.split(/\r?\n/)) {
    const m = /^\[([0-9A-F]+)\]([0-9A-F]+)\.([0-9A-F]+)::(\S+ \S+) \[([^\]]+)\](.*)$/.exec(l);
    if (m) out.push({ cpu: parseInt(m[1]!, 16), pid: parseInt(m[2]!, 16), tid: parseInt(m[3]!, 16), time: m[4]!, provider: m[5]!, rest: m[6]! });
  }
  return out;
}
// Windows leaves the relogger's injected classes out of its text conversion.
const notPrinted = new Set([SYSCONFIG, 'ed54dff8-c409-4cf6-bf83-05e1e61a09c4', 'bbccf6c1-6cd1-48c4-80ff-839482e37671', 'b3e675d7-2554-4f18-830b-2762732560de']);

function localString(ft: bigint, biasTicks: bigint): string {
  const t = ft - biasTicks;
  const d = new Date(Number((t - 116444736000000000n) / 10000n));
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${(t % 10000000n).toString().padStart(7, '0')}00`;
}

async function allEvents(file: string): Promise<TraceEvent[]> {
  const t = openTrace(file);
  const out: TraceEvent[] = [];
  for await (const b of t.events()) out.push(...b.events);
  return out;
}

describe.skipIf(!haveShared)('event order and timestamps equal Windows text dumps', () => {
  for (const [etl, txt] of [
    ['pktmon/nathaniel-29decde/PktMon.etl', 'pktmon/nathaniel-29decde/PktMon.txt'],
    ['pktmon/kesiya/PktMon.etl', 'pktmon/kesiya/packets.txt'],
  ] as const) {
    it(etl, async () => {
      const dump = readDump(shared(txt));
      const events = (await allEvents(shared(etl))).filter((e) => !notPrinted.has(e.provider));
      expect(events.length).toBe(dump.length);
      // The dump is in the converting machine's local time: take the offset from the header line.
      const h = openTrace(shared(etl)).header;
      const first = dump[0]!;
      const localStart = BigInt(Date.parse(first.time.slice(0, 19).replace(' ', 'T') + 'Z')) * 10000n + 116444736000000000n + BigInt(first.time.slice(20, 27));
      const bias = h.startTime - localStart;
      expect(bias % 600000000n).toBe(0n); // whole minutes
      let packets = 0;
      for (let i = 0; i < dump.length; i++) {
        const d = dump[i]!;
        const e = events[i]!;
        const ctx = `event ${i}: ${JSON.stringify(d)}`;
        expect(e.cpu, ctx).toBe(d.cpu);
        expect(e.pid, ctx).toBe(d.pid);
        expect(e.tid, ctx).toBe(d.tid);
        expect(localString(e.fileTime, bias), ctx).toBe(d.time);
        if (d.provider === 'Microsoft-Windows-PktMon') {
          expect(e.provider).toBe(PKTMON);
          const m = /^ PktGroupId (\d+), PktNumber (\d+), Appearance (\d+), Direction (\w+) , Type (\w+) , Component (\d+), Edge (\d+), Filter (\d+), OriginalSize (\d+), LoggedSize (\d+)/.exec(d.rest);
          if (m) {
            packets++;
            const u = Buffer.from(e.userData);
            expect(u.readBigUInt64LE(0).toString(), ctx).toBe(m[1]);
            expect(u.readUInt16LE(8), ctx).toBe(Number(m[2]));
            expect(u.readUInt16LE(10), ctx).toBe(Number(m[3]));
            expect(u.readUInt16LE(12) === 3 ? 'Rx' : u.readUInt16LE(12) === 4 ? 'Tx' : '?', ctx).toBe(m[4]);
            expect(u.readUInt16LE(16), ctx).toBe(Number(m[6]));
            expect(u.readUInt16LE(18), ctx).toBe(Number(m[7]));
            expect(u.readUInt16LE(20), ctx).toBe(Number(m[8]));
            expect(u.readUInt16LE(30), ctx).toBe(Number(m[9]));
            expect(u.readUInt16LE(32), ctx).toBe(Number(m[10]));
            expect(u.length, ctx).toBe(34 + Number(m[10]));
          }
        }
      }
      if (etl.includes('nathaniel')) expect(packets).toBe(2705);
    });
  }
});

describe.skipIf(!haveShared)('properties decoded by name from embedded schemas', () => {
  it('NDIS-PacketCapture 1001 in a netsh trace', async () => {
    const events = await allEvents(shared('netsh/attackhost-wifi.etl'));
    const e = events.find((x) => x.provider === NDIS)!;
    expect(e.properties).toMatchObject({ MiniportIfIndex: 8, LowerIfIndex: 8, FragmentSize: 197 });
    expect((e.properties!.Fragment as Uint8Array).length).toBe(197);
    expect(Buffer.from(e.properties!.Fragment as Uint8Array).toString('latin1')).toContain('M-SEARCH * HTTP/1.1');
    expect(e.properties).toHaveProperty('GftFlowEntryId');
    expect(e.properties).toHaveProperty('GftOffloadInformation');
  });
  it('PktMon 160 with value maps, and a TraceLogging event with its provider name', async () => {
    const pk = (await allEvents(shared('pktmon/demikernel/PktMon.etl'))).find((x) => x.id === 160 && x.provider === PKTMON)!;
    expect(pk.properties).toMatchObject({ PktGroupId: 1071654, PktNumber: 1, AppearanceCount: 1, DirTag: 'Rx', PacketType: 'Ethernet', LoggedPayloadSize: 98 });
    const tl = (await allEvents(shared('other/perfview/primitive-types.etl'))).filter((x) => x.eventName === 'PrimitiveTypesTest');
    expect(tl.length).toBe(5);
    expect(tl[0]!.providerName).toBe('solar_system');
    expect(tl[0]!.properties).toMatchObject({ string_type: 'Mercury', boolean_type: false, int32_type: -102, uint64_type: 204 });
  });
});

describe('known layouts where the file has no schema', () => {
  const kernelLogger = path.join(repoRoot, 'fixtures/airbus/ShutdownPerfDiagLogger.etl');
  it('kernel Process rundown (MOF v4, x64) in a kernel-logger file, with the MOF property names', async () => {
    const events = await allEvents(kernelLogger);
    const smss = events.find((e) => e.providerName === 'Process' && e.opcode === 3 && e.properties?.ProcessId === 348)!;
    expect(smss.properties).toMatchObject({
      ProcessId: 348, ParentId: 4, SessionId: 0xffffffff, ExitStatus: 259, Flags: 4, UserSID: 'S-1-5-18',
      ImageFileName: 'smss.exe', CommandLine: '\\SystemRoot\\System32\\smss.exe', PackageFullName: '', ApplicationId: '',
    });
  });
  it('kernel group PROCESS type 10 is an Image Load event, under the Image class', async () => {
    const events = await allEvents(kernelLogger);
    expect(events.filter((e) => e.providerName === 'Process' && e.opcode === 10)).toEqual([]);
    const loads = events.filter((e) => e.kind === 'system' && e.providerName === 'ImageLoad' && e.opcode === 10);
    expect(loads).toHaveLength(72);
    expect(loads.every((e) => e.provider === '2cb15d1d-5fc1-11d2-abe1-00a0c911f518' && e.hookId === 0x030a)).toBe(true);
    expect(loads[0]!.properties).toMatchObject({ ProcessId: 7064, FileName: '\\Device\\HarddiskVolume3\\Windows\\SysWOW64\\coml2.dll' });
    const info = await traceInfo(kernelLogger);
    const image = info.providers.find((p) => p.name === 'ImageLoad')!;
    expect(image.events['10']).toBe(72);
    expect(info.providers.find((p) => p.name === 'Process')!.events['10']).toBeUndefined();
  });
  it('knownLayouts: false leaves events without a schema as user data', async () => {
    const trace = openTrace(kernelLogger, { knownLayouts: false, providers: ['Process'] });
    for await (const b of trace.events()) for (const e of b.events) expect(e.properties).toBeUndefined();
    trace.close();
  });
  it('Microsoft-Windows-Kernel-Process in the shipped sample (schema embedded) keeps the schema names', async () => {
    const events = await allEvents(path.join(repoRoot, 'fixtures/imds-sample.etl'));
    const start = events.find((e) => e.providerName === 'Microsoft-Windows-Kernel-Process' && e.id === 1)!;
    expect(start.properties).toMatchObject({ ProcessID: 5612 });
  });
});
