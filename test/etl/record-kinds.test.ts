// Every record kind the reader supports, built byte by byte into a data buffer
// behind a real header buffer (lxcore_kernel.etl): kinds, PIDs/TIDs, timestamps,
// payload boundaries, WPP options, extended items, and an unknown marker reported.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openTrace, type TraceEvent } from '../../src/index.js';
import { repoRoot } from '../support/fixtures.js';
import { guidBytes } from '../../tools/gen/bytes.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-kinds-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const base = readFileSync(path.join(repoRoot, 'fixtures/airbus/lxcore_kernel.etl'));
const header = base.subarray(0, 8192);
const ref = header.readBigInt64LE(0x48 + 0x10); // raw clock of the logfile header event
const start = header.readBigInt64LE(0x48 + 0x20 + 0x108); // StartTime (QPC at 10 MHz: 1 tick = 100 ns)

const G1 = '11111111-2222-3333-4444-555555555555';
const G2 = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

function pad8(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((8 - (b.length % 8)) % 8)]);
}
const payload = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));

function system(type: 1 | 2 | 3 | 4, t: bigint, pid: number, tid: number, hook: number, data: Buffer): Buffer {
  const hs = type <= 2 ? 0x20 : 0x18;
  const h = Buffer.alloc(hs);
  h.writeUInt16LE(3, 0);
  h[2] = type;
  h[3] = 0xc0;
  h.writeUInt16LE(hs + data.length, 4);
  h.writeUInt16LE(hook, 6);
  h.writeUInt32LE(tid, 8);
  h.writeUInt32LE(pid, 0xc);
  h.writeBigInt64LE(t, 0x10);
  return Buffer.concat([h, data]);
}
function perfinfo(t: bigint, hook: number, pebs: boolean, pmc: number, data: Buffer): Buffer {
  const ext = (pebs ? 8 : 0) + pmc * 8;
  const h = Buffer.alloc(0x10 + ext, 0xee);
  h.writeUInt16LE(2 | (pebs ? 0x8000 : 0) | (pmc << 8), 0);
  h[2] = 0x11;
  h[3] = 0xc0;
  h.writeUInt16LE(0x10 + ext + data.length, 4);
  h.writeUInt16LE(hook, 6);
  h.writeBigInt64LE(t, 8);
  return Buffer.concat([h, data]);
}
function full(type: 0x0a | 0x14 | 0x0b | 0x15, t: bigint, pid: number, tid: number, guid: string, opcode: number, data: Buffer): Buffer {
  const hs = type === 0x0a || type === 0x14 ? 0x30 : 0x48;
  const h = Buffer.alloc(hs);
  h.writeUInt16LE(hs + data.length, 0);
  h[2] = type;
  h[3] = 0xc0;
  h[4] = opcode;
  h[5] = 4;
  h.writeUInt16LE(1, 6);
  h.writeUInt32LE(tid, 8);
  h.writeUInt32LE(pid, 0xc);
  h.writeBigInt64LE(t, 0x10);
  guidBytes(guid).copy(h, 0x18);
  return Buffer.concat([h, data]);
}
function eventHeader(t: bigint, pid: number, tid: number, guid: string, id: number, ext: Buffer[], data: Buffer): Buffer {
  const items = ext.map((d, i) => {
    const len = 8 + d.length + ((8 - (d.length % 8)) % 8);
    const it = Buffer.alloc(len);
    it.writeUInt16LE(len, 0);
    it.writeUInt16LE(0x0d + i, 2); // PROCESS_START_KEY, then CONTROL_GUID
    it.writeUInt16LE(i + 1 < ext.length ? 1 : 0, 4);
    it.writeUInt16LE(d.length, 6);
    d.copy(it, 8);
    return it;
  });
  const h = Buffer.alloc(0x50);
  const body = Buffer.concat([...items, data]);
  h.writeUInt16LE(0x50 + body.length, 0);
  h[2] = 0x13;
  h[3] = 0xc0;
  h.writeUInt16LE(ext.length ? 1 : 0, 4);
  h.writeUInt32LE(tid, 8);
  h.writeUInt32LE(pid, 0xc);
  h.writeBigInt64LE(t, 0x10);
  guidBytes(guid).copy(h, 0x18);
  h.writeUInt16LE(id, 0x28);
  h[0x2a] = 2;
  h[0x2c] = 4;
  h.writeBigUInt64LE(0x8000000000000010n, 0x30);
  return Buffer.concat([h, body]);
}
function wpp(num: number, opts: { seq?: number; guid?: string; time?: bigint; pid?: number; tid?: number }, data: Buffer): Buffer {
  let flags = 0;
  const parts: Buffer[] = [];
  if (opts.seq !== undefined) {
    flags |= 1;
    const b = Buffer.alloc(4);
    b.writeUInt32LE(opts.seq);
    parts.push(b);
  }
  if (opts.guid) {
    flags |= 2;
    parts.push(guidBytes(opts.guid));
  }
  if (opts.time !== undefined) {
    flags |= 8;
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(opts.time);
    parts.push(b);
  }
  if (opts.pid !== undefined) {
    flags |= 0x20;
    const b = Buffer.alloc(8);
    b.writeUInt32LE(opts.tid ?? 0, 0);
    b.writeUInt32LE(opts.pid, 4);
    parts.push(b);
  }
  const body = Buffer.concat([...parts, data]);
  const h = Buffer.alloc(8);
  h.writeUInt16LE(8 + body.length, 0);
  h[3] = 0x90;
  h.writeUInt16LE(num, 4);
  h.writeUInt16LE(flags | 0x80, 6);
  return Buffer.concat([h, body]);
}

function buffer(records: Buffer[], seq: number, cpu: number): Buffer {
  const body = Buffer.concat(records.map(pad8));
  const size = 8192;
  const b = Buffer.alloc(size, 0xff);
  b.fill(0, 0, 0x48);
  b.writeUInt32LE(size, 0);
  b.writeUInt32LE(0x48 + body.length, 4);
  b.writeBigUInt64LE(BigInt(seq), 0x18);
  b[0x28] = cpu;
  b.writeUInt32LE(3, 0x2c);
  b.writeUInt32LE(0x48 + body.length, 0x30);
  body.copy(b, 0x48);
  return b;
}

async function events(file: string) {
  const t = openTrace(file);
  const out: TraceEvent[] = [];
  for await (const b of t.events()) out.push(...b.events);
  return { out, diagnostics: t.diagnostics, stats: t.stats() };
}

describe('record kinds', () => {
  const T = (k: number) => ref + BigInt(k) * 1000n;
  const FT = (k: number) => start + BigInt(k) * 1000n;
  it('decodes SYSTEM/compact, PERFINFO (PEBS+PMC), classic, instance, EVENT_HEADER (+ext items) and WPP records', async () => {
    const recs = [
      system(1, T(1), 100, 101, 0x0301, payload(8, 1)),
      system(4, T(2), 102, 103, 0x0502, payload(12, 2)),
      perfinfo(T(3), 0x0f2e, true, 2, payload(16, 3)),
      full(0x0a, T(4), 104, 105, G1, 0x20, payload(5, 4)),
      full(0x15, T(5), 106, 107, G2, 0x21, payload(9, 5)),
      eventHeader(T(6), 108, 109, G1, 4242, [payload(8, 60), guidBytes(G2)], payload(11, 6)),
      wpp(7, { seq: 77, guid: G2, time: T(7), pid: 110, tid: 111 }, payload(6, 7)),
      wpp(8, {}, payload(3, 8)),
    ];
    const file = path.join(tmp, 'kinds.etl');
    writeFileSync(file, Buffer.concat([header, buffer(recs, 1, 2)]));
    const { out, diagnostics } = await events(file);
    expect(diagnostics.map((d) => d.code)).toEqual(['buffer-count']); // the real header says 3 buffers
    const ev = out.filter((e) => e.bufferIndex === 1);
    expect(ev.map((e) => e.kind)).toEqual(['system', 'system', 'perfinfo', 'full', 'instance', 'event', 'message', 'message']);
    expect(ev.map((e) => e.pointerSize)).toEqual([4, 8, 8, 4, 8, 8, 8, 8]);
    expect(ev.map((e) => e.fileTime)).toEqual([FT(1), FT(2), FT(3), FT(4), FT(5), FT(6), FT(7), FT(7)]); // no timestamp: the previous one
    expect(ev.map((e) => [e.pid, e.tid])).toEqual([[100, 101], [102, 103], [0xffffffff, 0xffffffff], [104, 105], [106, 107], [108, 109], [110, 111], [0xffffffff, 0xffffffff]]);
    expect(ev.every((e) => e.cpu === 2)).toBe(true);
    expect(ev[0]!.provider).toBe('3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c'); // group 3: Process
    expect(ev[0]!.opcode).toBe(1);
    expect(ev[1]!.provider).toBe('3d6fa8d1-fe05-11d0-9dda-00c04fd7ba7c'); // group 5: Thread
    expect(ev[2]!.provider).toBe('ce1dbfb4-137e-4da6-87b0-3f59aa102cbc'); // PerfInfo
    expect([ev[3]!.provider, ev[3]!.opcode, ev[3]!.level]).toEqual([G1, 0x20, 4]);
    expect([ev[4]!.provider, ev[4]!.opcode]).toEqual([G2, 0x21]);
    expect([ev[5]!.provider, ev[5]!.id, ev[5]!.version, ev[5]!.keywords]).toEqual([G1, 4242, 2, 0x8000000000000010n]);
    expect([ev[6]!.provider, ev[6]!.id]).toEqual([G2, 7]);
    // Payload boundaries: exactly the bytes written, whatever the header and extension sizes.
    const want = [payload(8, 1), payload(12, 2), payload(16, 3), payload(5, 4), payload(9, 5), payload(11, 6), payload(6, 7), payload(3, 8)];
    ev.forEach((e, i) => expect(Buffer.from(e.userData).equals(want[i]!), `record ${i}`).toBe(true));
  });

  it('an unknown trace header type is reported with its offset and the rest of the buffer skipped', async () => {
    const bad = Buffer.alloc(0x30);
    bad.writeUInt16LE(0x30, 0);
    bad[2] = 0x0d; // TRACE_HEADER_TYPE_ERROR: layout not documented
    bad[3] = 0xc0;
    const recs = [system(2, T(1), 1, 2, 0x0301, payload(8, 1)), bad, system(2, T(2), 1, 2, 0x0301, payload(8, 2))];
    const file = path.join(tmp, 'unknown.etl');
    writeFileSync(file, Buffer.concat([header, buffer(recs, 1, 0)]));
    const { out, diagnostics, stats } = await events(file);
    expect(out.filter((e) => e.bufferIndex === 1).length).toBe(1);
    expect(stats.unknownRecords).toBe(1);
    const d = diagnostics.find((x) => x.code === 'unknown-record')!;
    expect(d.offset).toBe(8192 + 0x48 + 0x28);
    expect(d.buffer).toBe(1);
    expect(d.message).toMatch(/unsupported trace header type 0xc00d/);
  });

  it('merges CPU streams by timestamp and orders each CPU by SequenceNumber, not file order', async () => {
    const a1 = buffer([system(2, T(10), 1, 1, 0x0301, payload(8, 1)), system(2, T(30), 1, 1, 0x0301, payload(8, 2))], 2, 0);
    const a0 = buffer([system(2, T(1), 1, 1, 0x0301, payload(8, 3)), system(2, T(5), 1, 1, 0x0301, payload(8, 4))], 1, 0);
    const b0 = buffer([system(2, T(2), 2, 2, 0x0301, payload(8, 5)), system(2, T(20), 2, 2, 0x0301, payload(8, 6))], 3, 1);
    const file = path.join(tmp, 'order.etl');
    writeFileSync(file, Buffer.concat([header, a1, b0, a0])); // flush order, not time order
    const { out } = await events(file);
    const ev = out.filter((e) => e.bufferIndex > 0);
    expect(ev.map((e) => e.fileTime)).toEqual([FT(1), FT(2), FT(5), FT(10), FT(20), FT(30)]);
    expect(ev.map((e) => e.cpu)).toEqual([0, 1, 0, 0, 1, 0]);
  });
});

describe('clock conversion (integer arithmetic, 100 ns)', () => {
  const lh = 0x48 + 0x20; // TRACE_LOGFILE_HEADER in buffer #0 (64-bit layout)
  function withClock(clock: number, perfFreq: bigint, mhz: number): Buffer {
    const h = Buffer.from(header);
    h.writeUInt32LE(clock, lh + 0x110);
    h.writeBigInt64LE(perfFreq, lh + 0x100);
    h.writeUInt32LE(mhz, lh + 0x34);
    return h;
  }
  const deltas = [0n, 1n, 999n, 3117777n, 123456789012n, -5n];
  async function times(h: Buffer): Promise<bigint[]> {
    const recs = deltas.map((d, i) => system(2, ref + d, 1, 1, 0x0301, payload(4, i)));
    // Timestamps must not go backwards within a buffer: one buffer per record, each on its own CPU.
    const file = path.join(tmp, `clock-${Math.random()}.etl`);
    writeFileSync(file, Buffer.concat([h, ...recs.map((r, i) => buffer([r], i + 1, i))]));
    const { out } = await events(file);
    const byPayload = new Map(out.filter((e) => e.bufferIndex > 0).map((e) => [e.userData[0]!, e.fileTime]));
    return deltas.map((_, i) => byPayload.get(payload(4, i)[0]!)!);
  }
  const floorDiv = (a: bigint, b: bigint) => (a >= 0n ? a / b : -((-a + b - 1n) / b));
  it('QPC at 10 MHz: one tick is 100 ns', async () => {
    expect(await times(withClock(1, 10000000n, 2400))).toEqual(deltas.map((d) => start + d));
  });
  it('QPC at another frequency: delta × 10^7 / PerfFreq, rounded down, no floating point', async () => {
    expect(await times(withClock(1, 3117777n, 2400))).toEqual(deltas.map((d) => start + floorDiv(d * 10000000n, 3117777n)));
  });
  it('system-time clock: raw values are FILETIME', async () => {
    expect(await times(withClock(2, 0n, 2400))).toEqual(deltas.map((d) => start + d));
  });
  it('CPU cycle counter: delta × 10 / MHz', async () => {
    expect(await times(withClock(3, 0n, 2400))).toEqual(deltas.map((d) => start + floorDiv(d * 10n, 2400n)));
  });
});
