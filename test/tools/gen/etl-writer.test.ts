import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeNetshEtl } from '../../../tools/gen/netsh.js';
import { writePktmonEtl } from '../../../tools/gen/pktmon.js';
import { backgroundTraffic, loadCapture, mergeByTime, placeCapture, take } from '../../../tools/gen/imds.js';
import { Rng } from '../../../tools/gen/bytes.js';
import { DEFAULT_START, type GenPacket } from '../../../tools/gen/packet.js';
import { guidString, schemaProps, walkEtl } from './reference.js';
import { openTrace } from '../../../src/trace.js';

const root = join(import.meta.dirname, '..', '..', '..');
const shared = join(root, '..', 'shared', 'fixtures');
const dir = mkdtempSync(join(tmpdir(), 'etl-imds-gen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NDIS = '2ed6006e-4729-4609-b423-3ee7bcd678ef';
const PKTMON = '4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac';
const META = 'bbccf6c1-6cd1-48c4-80ff-839482e37671';

function packets(): GenPacket[] {
  const cap = loadCapture(join(root, 'fixtures', 'imds', 'raw-keepalive.json'));
  const bg = take(backgroundTraffic({ start: DEFAULT_START, rng: new Rng(3), cpus: 3 }), { maxPackets: 1500 });
  return [...mergeByTime(placeCapture(cap, { start: DEFAULT_START + 50_000n, cpu: 1, pid: () => 4242 }), bg)];
}

function eventsOf(walk: ReturnType<typeof walkEtl>, provider: string, id: number) {
  return walk.records.filter((r) => r.type === 0x13 && guidString(r.raw, 0x18) === provider && r.raw.readUInt16LE(0x28) === id);
}

/** Order a consumer sees: header buffer, then per CPU by SequenceNumber, merged by timestamp. */
function consumerOrder(walk: ReturnType<typeof walkEtl>) {
  const head = walk.records.filter((r) => r.buffer === 0);
  const byCpu = new Map<number, typeof walk.records>();
  for (const r of walk.records) if (r.buffer !== 0) { const l = byCpu.get(r.cpu) ?? []; l.push(r); byCpu.set(r.cpu, l); }
  const streams = [...byCpu.values()].map((l) => l.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : a.offset - b.offset)));
  const out = [...head];
  const idx = streams.map(() => 0);
  for (;;) {
    let best = -1;
    for (let i = 0; i < streams.length; i++) {
      const r = streams[i]![idx[i]!];
      if (r && (best < 0 || r.raw.readBigUInt64LE(0x10) < streams[best]![idx[best]!]!.raw.readBigUInt64LE(0x10))) best = i;
    }
    if (best < 0) return out;
    out.push(streams[best]![idx[best]!++]!);
  }
}

describe('netsh-form writer', () => {
  it('writes a buffer chain shaped like real netsh trace output', async () => {
    const pk = packets();
    const path = join(dir, 'netsh.etl');
    const s = await writeNetshEtl(path, pk, { fragmentSize: 700, numberOfProcessors: 3, processes: [{ pid: 4242, image: '\\Device\\HarddiskVolume1\\x.exe' }] });
    const f = readFileSync(path);
    const w = walkEtl(f);
    expect(w.buffers.length).toBe(w.header.buffersWritten);
    expect(w.buffers.length).toBe(s.buffers);
    expect(w.records.length).toBe(s.records);
    expect(w.buffers.every((b) => b.size === 512 * 1024 && !b.compressed)).toBe(true);
    expect(w.buffers[0]!.type).toBe(4);
    expect(w.buffers.slice(1).map((b) => b.seq).sort((a, b) => Number(a - b))).toEqual(w.buffers.slice(1).map((_, i) => BigInt(i + 1)));
    expect(w.header.logFileMode).toBe(0x00010001);
    expect(w.header.version.slice(2)).toEqual([1, 5]);
    expect(w.header.loggerName).toBe('Relogger');
    expect(w.header.perfFreq).toBe(10_000_000n);
    expect(w.header.clock).toBe(1);
    expect(w.records.every((r) => r.offset % 8 === 0)).toBe(true);
    expect(w.records[1]!.raw.readUInt16LE(6)).toBe(0x50);          // PartitionInfo after the header event

    // Fragments: START on the first, END on the last, and they reassemble to the packets, per CPU in order.
    const frags = eventsOf(w, NDIS, 1001);
    expect(frags.length).toBe(s.packetEvents);
    const order = consumerOrder(w).filter((r) => frags.includes(r));
    const rebuilt: Buffer[] = [];
    let cur: Buffer[] | undefined;
    for (const r of order) {
      const k = r.raw.readBigUInt64LE(0x30);
      const size = r.raw.readUInt32LE(0x58);
      const frag = r.raw.subarray(0x5c, 0x5c + size);
      expect(r.raw.length).toBe(0x5c + size + 16);                // GftFlowEntryId, GftOffloadInformation
      if (k & 0x40000000n) { expect(cur).toBeUndefined(); cur = []; }
      expect(cur).toBeDefined();
      cur!.push(frag);
      if (k & 0x80000000n) { rebuilt.push(Buffer.concat(cur!)); cur = undefined; }
    }
    expect(rebuilt.length).toBe(pk.length);
    const want = [...pk].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)).map((p) => Buffer.from(p.data).toString('hex')).sort();
    expect(rebuilt.map((b) => b.toString('hex')).sort()).toEqual(want);
    expect(frags.some((r) => r.raw.readUInt32LE(0x58) === 700)).toBe(true);

    // The schema record precedes the first 1001 event and names its properties like the real one.
    const metas = w.records.filter((r) => r.type === 0x14 && guidString(r.raw, 0x18) === META && r.raw[4] === 0x20);
    const ndisSchema = metas.map((r) => schemaProps(r.raw.subarray(0x30))).find((m) => m.id === 1001);
    expect(ndisSchema).toEqual({ id: 1001, provider: 'Microsoft-Windows-NDIS-PacketCapture', names: ['MiniportIfIndex', 'LowerIfIndex', 'FragmentSize', 'Fragment', 'GftFlowEntryId', 'GftOffloadInformation'] });
    const all = consumerOrder(w);
    const firstNdis = all.findIndex((r) => frags.includes(r));
    const schemaAt = all.findIndex((r) => metas.includes(r) && schemaProps(r.raw.subarray(0x30)).id === 1001);
    expect(schemaAt).toBeGreaterThanOrEqual(0);
    expect(schemaAt).toBeLessThan(firstNdis);
    // Inbound packets are logged in DPC context.
    const inbound = frags.filter((r) => r.raw.readBigUInt64LE(0x30) & 0x200000000n);
    expect(inbound.length).toBeGreaterThan(0);
    expect(inbound.every((r) => [0, 4].includes(r.raw.readUInt32LE(12)))).toBe(true);
  });

  it('matches the real attackhost-wifi.etl header layout field by field', async (ctx) => {
    const real = join(shared, 'netsh', 'attackhost-wifi.etl');
    if (!existsSync(real)) ctx.skip(`${real} absent`);
    const r = walkEtl(readFileSync(real));
    const path = join(dir, 'tiny.etl');
    await writeNetshEtl(path, [{ time: DEFAULT_START, pid: 4, tid: 0, cpu: 0, direction: 'in', ifIndex: 8, linkType: 'ieee802_11', data: Buffer.alloc(100, 1) }]);
    const g = walkEtl(readFileSync(path));
    for (const k of ['bufferSize', 'logFileMode', 'pointerSize', 'perfFreq', 'clock', 'loggerName'] as const) expect(g.header[k]).toEqual(r.header[k]);
    expect(g.header.version.slice(0, 4)).toEqual(r.header.version);
    expect(g.buffers.map((b) => [b.size, b.type])).toEqual(r.buffers.map((b) => [b.size, b.type]).slice(0, g.buffers.length));
    expect(g.records.slice(0, 2).map((x) => [x.type, x.raw.readUInt16LE(6), x.raw.readUInt16LE(0)])).toEqual(r.records.slice(0, 2).map((x) => [x.type, x.raw.readUInt16LE(6), x.raw.readUInt16LE(0)]));
    const rs = r.records.find((x) => x.type === 0x14 && guidString(x.raw, 0x18) === META)!;
    const gs = g.records.find((x) => x.type === 0x14 && guidString(x.raw, 0x18) === META)!;
    // Same schema blob size for the same 802.11 send event: the structure is copied, not the bytes.
    const ev = g.records.find((x) => x.type === 0x13)!;
    expect(ev.raw.readBigUInt64LE(0x30) & 0x10000n).toBe(0x10000n);
    expect(schemaProps(gs.raw.subarray(0x30)).names).toEqual(schemaProps(rs.raw.subarray(0x30)).names);
  });
});

describe('circular session file (netsh filemode=circular) that wrapped', () => {
  it('holds the header and the newest buffers in rotated slots; the reader delivers what is left in order, without a damage report', async () => {
    // 1 MB of 64 KiB buffers: the header and 15 data slots, reused in turn.
    const pk = [...take(backgroundTraffic({ start: DEFAULT_START, rng: new Rng(9), cpus: 2 }), { maxPackets: 4000 })];
    const path = join(dir, 'circular.etl');
    const s = await writeNetshEtl(path, pk, { numberOfProcessors: 2, bufferSize: 64 * 1024, circularMaxSizeMB: 1 });
    const f = readFileSync(path);
    expect(f.length).toBe(1024 * 1024);
    const w = walkEtl(f);
    expect(w.header.logFileMode).toBe(0x2);                      // FILE_MODE_CIRCULAR, not RELOG
    expect(w.header.loggerName).toBe('NetTrace');
    expect(w.buffers.length).toBe(16);
    expect(s.buffers).toBe(16);
    // BuffersWritten counts every buffer the session flushed, the overwritten ones too.
    expect(w.header.buffersWritten).toBe(s.buffersWritten);
    expect(w.header.buffersWritten).toBeGreaterThan(16);
    const newest = BigInt(w.header.buffersWritten - 1);
    const data = w.buffers.slice(1);
    // The newest 15 sequence numbers, each in slot (seq - 1) mod 15: the file order is rotated.
    expect(data.map((b) => b.seq).sort((a, b) => (a < b ? -1 : 1))).toEqual(Array.from({ length: 15 }, (_, i) => newest - 14n + BigInt(i)));
    data.forEach((b, slot) => expect(Number((b.seq - 1n) % 15n)).toBe(slot));
    expect(data[0]!.seq).not.toBe(newest - 14n);
    // Flush times in the session clock (QPC), growing with the sequence number.
    const ts = (seq: bigint) => f.readBigUInt64LE(data.find((b) => b.seq === seq)!.offset + 0x10);
    for (let q = newest - 13n; q <= newest; q++) expect(ts(q)).toBeGreaterThanOrEqual(ts(q - 1n));
    expect(ts(newest)).toBeLessThan(w.header.startTime); // a raw clock value, not a FILETIME

    // The reader: per CPU by sequence number, so each CPU's packets are a suffix of what it logged.
    const t = openTrace(path, { providers: [NDIS] });
    const read: { cpu: number; time: bigint }[] = [];
    for await (const b of t.events()) for (const e of b.events) read.push({ cpu: e.cpu, time: e.fileTime });
    expect(t.diagnostics).toEqual([]);
    expect(read.length).toBe(eventsOf(w, NDIS, 1001).length);
    for (const cpu of [0, 1]) {
      const logged = pk.filter((p) => p.cpu === cpu).map((p) => p.time);
      const got = read.filter((r) => r.cpu === cpu).map((r) => r.time);
      expect(got.length).toBeGreaterThan(0);
      expect(got.length).toBeLessThan(logged.length);
      expect(got).toEqual(logged.slice(logged.length - got.length));
    }
    // Delivered in time order across CPUs.
    for (let i = 1; i < read.length; i++) expect(read[i]!.time).toBeGreaterThanOrEqual(read[i - 1]!.time);
    t.close();
  });

  it('a circular file that did not fill up is read whole', async () => {
    const pk = [...take(backgroundTraffic({ start: DEFAULT_START, rng: new Rng(4), cpus: 2 }), { maxPackets: 300 })];
    const path = join(dir, 'circular-small.etl');
    const s = await writeNetshEtl(path, pk, { numberOfProcessors: 2, bufferSize: 64 * 1024, circularMaxSizeMB: 4 });
    expect(s.buffersWritten).toBe(s.buffers);
    const t = openTrace(path, { providers: [NDIS] });
    let n = 0;
    for await (const b of t.events()) n += b.events.length;
    expect(n).toBe(300);
    expect(t.diagnostics).toEqual([]);
    t.close();
  });
});

describe('pktmon-form writer', () => {
  it('writes compressed buffers with several appearances per packet', async () => {
    const pk = packets();
    const path = join(dir, 'pktmon.etl');
    const s = await writePktmonEtl(path, pk, { numberOfProcessors: 3, fillSize: 128 * 1024 });
    const w = walkEtl(readFileSync(path));
    expect(w.buffers.length).toBe(w.header.buffersWritten);
    expect(w.buffers[0]!.size).toBe(1024);
    expect(w.buffers.slice(1).every((b) => b.compressed && (b.flags & 0x60) === 0x60)).toBe(true);
    expect(s.compressedBuffers).toBe(w.buffers.length - 1);
    expect(w.header.logFileMode).toBe(0x04010001);
    expect(w.header.version.slice(2)).toEqual([2, 0]);
    expect(w.header.bufferSize).toBe(16 * 1024 * 1024);
    expect(w.records.length).toBe(s.records);
    const ev = eventsOf(w, PKTMON, 160);
    expect(ev.length).toBe(pk.length * 3);
    const groups = new Map<bigint, number[]>();
    for (const r of ev) {
      const u = r.raw.subarray(0x50);
      expect(u.readUInt16LE(32)).toBe(u.length - 34);                 // LoggedPayloadSize
      const l = groups.get(u.readBigUInt64LE(0)) ?? []; l.push(u.readUInt16LE(10)); groups.set(u.readBigUInt64LE(0), l);
    }
    expect(groups.size).toBe(pk.length);
    expect([...groups.values()].every((a) => a.join() === '1,2,3')).toBe(true);
    for (const id of [20, 30, 60, 65, 70]) expect(eventsOf(w, PKTMON, id).length).toBeGreaterThan(0);
  });

  it('matches demikernel PktMon.etl header layout and 160 schema', async (ctx) => {
    const real = join(shared, 'pktmon', 'demikernel', 'PktMon.etl');
    if (!existsSync(real)) ctx.skip(`${real} absent`);
    const r = walkEtl(readFileSync(real));
    const path = join(dir, 'tiny-pktmon.etl');
    await writePktmonEtl(path, packets().slice(0, 20));
    const g = walkEtl(readFileSync(path));
    for (const k of ['bufferSize', 'logFileMode', 'pointerSize', 'perfFreq', 'clock', 'loggerName'] as const) expect(g.header[k]).toEqual(r.header[k]);
    expect(g.header.version.slice(2)).toEqual(r.header.version.slice(2));
    expect(g.buffers[0]!.size).toBe(r.buffers[0]!.size);
    const names = (w: typeof r) => w.records.filter((x) => x.type === 0x14 && guidString(x.raw, 0x18) === META && x.raw[4] === 0x20)
      .map((x) => schemaProps(x.raw.subarray(0x30))).find((m) => m.id === 160)?.names;
    expect(names(g)).toEqual(names(r));
  });
});
