// Damaged and hostile files through the reader: never a crash, a clear message
// naming the file, byte offset and buffer index, and the good buffers still read.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openTrace, traceInfo } from '../../src/index.js';
import { repoRoot } from '../support/fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-hostile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const UNCOMPRESSED = path.join(repoRoot, 'fixtures/airbus/lxcore_kernel.etl'); // 3 × 8 KiB buffers
const COMPRESSED = path.join(repoRoot, 'fixtures/pktmon-demikernel/PktMon.etl'); // header + 2 XPRESS buffers

let n = 0;
function variant(src: string, mutate: (b: Buffer) => Buffer | void): string {
  const b = Buffer.from(readFileSync(src));
  const r = mutate(b);
  const out = Buffer.isBuffer(r) ? r : b;
  const p = path.join(tmp, `v${n++}.etl`);
  writeFileSync(p, out);
  return p;
}

interface Buf { start: number; size: number }
function buffers(file: string): Buf[] {
  const d = readFileSync(file);
  const out: Buf[] = [];
  for (let pos = 0; pos < d.length; ) {
    const size = d.readUInt32LE(pos);
    out.push({ start: pos, size });
    pos += size;
  }
  return out;
}

async function readAll(file: string) {
  const t = openTrace(file);
  const perBuffer = new Map<number, number>();
  let records = 0;
  for await (const b of t.events()) {
    for (const e of b.events) {
      records++;
      perBuffer.set(e.bufferIndex, (perBuffer.get(e.bufferIndex) ?? 0) + 1);
    }
  }
  return { records, perBuffer, diagnostics: t.diagnostics, stats: t.stats() };
}

function expectNamed(msg: string, file: string, buffer: number, offset?: number) {
  expect(msg).toContain(file);
  expect(msg).toContain(`buffer ${buffer} `);
  if (offset !== undefined) expect(msg).toContain(`offset ${offset} `);
}

describe('hostile input: the reader', () => {
  for (const src of [UNCOMPRESSED, COMPRESSED]) {
    const name = path.basename(path.dirname(src));
    it(`${name}: truncated at and inside every buffer`, async () => {
      const intact = await readAll(src);
      const bufs = buffers(src);
      expect(intact.diagnostics).toEqual([]);
      for (let k = 0; k < bufs.length; k++) {
        const b = bufs[k]!;
        const before = [...intact.perBuffer].filter(([i]) => i < k).reduce((a, [, c]) => a + c, 0);
        for (const cut of [0, 1, 71, 72, 73, 150, Math.floor(b.size / 2), b.size - 1]) {
          if (cut >= b.size) continue;
          const len = b.start + cut;
          const p = variant(src, (x) => x.subarray(0, len));
          if (k === 0 && cut < 0x48 + 0x20 + 0x118) {
            // Not even a logfile header: a clear refusal, no partial output.
            await expect(traceInfo(p)).rejects.toThrow(/not an \.etl|too short|header/);
            continue;
          }
          const r = await readAll(p);
          expect(r.records, `cut at ${len}`).toBeGreaterThanOrEqual(before);
          expect(r.diagnostics.length, `cut at ${len}`).toBeGreaterThan(0);
          for (const d of r.diagnostics) {
            expect(d.file).toBe(p);
            expect(d.message).toContain(p);
            expect(d.message).toMatch(/offset \d+/);
          }
          if (cut > 0) {
            const d = r.diagnostics.find((x) => x.buffer === k);
            expect(d, `cut at ${len}: a diagnostic for buffer ${k}`).toBeDefined();
            expectNamed(d!.message, p, k);
          }
        }
      }
    });
  }

  it('BufferSize 0 in a data buffer: reported, and the next buffer is still read', async () => {
    const bufs = buffers(UNCOMPRESSED);
    const p = variant(UNCOMPRESSED, (x) => void x.writeUInt32LE(0, bufs[1]!.start));
    const r = await readAll(p);
    const d = r.diagnostics.find((x) => x.code === 'buffer-size');
    expect(d).toBeDefined();
    expectNamed(d!.message, p, 1, bufs[1]!.start);
    expect(d!.message).toMatch(/BufferSize 0/);
    expect(r.perBuffer.get(2)).toBeGreaterThan(0);
    expect(r.stats.bytesSkipped).toBe(8192);
  });

  it('BufferSize smaller than the header in a compressed file: the rest is reported unread', async () => {
    const bufs = buffers(COMPRESSED);
    const p = variant(COMPRESSED, (x) => void x.writeUInt32LE(40, bufs[1]!.start));
    const r = await readAll(p);
    expect(r.diagnostics.map((x) => x.code)).toContain('chain-broken');
    expect(r.records).toBeGreaterThanOrEqual(r.perBuffer.get(0) ?? 0);
    expect(r.stats.bytesSkipped).toBe(readFileSync(COMPRESSED).length - bufs[1]!.start);
  });

  it('BufferSize beyond the end of the file', async () => {
    const bufs = buffers(UNCOMPRESSED);
    const p = variant(UNCOMPRESSED, (x) => void x.writeUInt32LE(1 << 30, bufs[2]!.start));
    const r = await readAll(p);
    const d = r.diagnostics.find((x) => x.code === 'truncated');
    expectNamed(d!.message, p, 2, bufs[2]!.start);
    // The events inside the part that is present are still read.
    expect(r.perBuffer.get(2)).toBeGreaterThan(0);
  });

  it('Offset past BufferSize: falls back to SavedOffset, with a warning', async () => {
    const bufs = buffers(UNCOMPRESSED);
    const p = variant(UNCOMPRESSED, (x) => void x.writeUInt32LE(0x7fffffff, bufs[1]!.start + 0x30));
    const r = await readAll(p);
    const d = r.diagnostics.find((x) => x.code === 'buffer-offset');
    expectNamed(d!.message, p, 1, bufs[1]!.start);
    const intact = await readAll(UNCOMPRESSED);
    expect(r.records).toBe(intact.records);
  });

  it('record size 0 and record size past the buffer', async () => {
    const bufs = buffers(UNCOMPRESSED);
    for (const size of [0, 0xfff0]) {
      // Buffer 1's first record is an EVENT_HEADER: its size is the u16 at +0.
      const p = variant(UNCOMPRESSED, (x) => void x.writeUInt16LE(size, bufs[1]!.start + 0x48));
      const r = await readAll(p);
      const d = r.diagnostics.find((x) => x.code === 'record-size');
      expect(d, `size ${size}`).toBeDefined();
      expectNamed(d!.message, p, 1, bufs[1]!.start + 0x48);
      expect(r.perBuffer.get(2)).toBeGreaterThan(0);
    }
  });

  it('an unknown record marker is reported with its offset, never skipped silently', async () => {
    const bufs = buffers(UNCOMPRESSED);
    const p = variant(UNCOMPRESSED, (x) => void x.writeUInt8(0x55, bufs[1]!.start + 0x48 + 3));
    const r = await readAll(p);
    const d = r.diagnostics.find((x) => x.code === 'unknown-record');
    expectNamed(d!.message, p, 1, bufs[1]!.start + 0x48);
    expect(r.stats.unknownRecords).toBe(1);
  });

  it('corrupt compressed streams: bad bytes, a match before the start, a huge claimed size', async () => {
    const bufs = buffers(COMPRESSED);
    const b1 = bufs[1]!;
    const cases: [string, (x: Buffer) => void][] = [
      ['garbage', (x) => x.fill(0xa5, b1.start + 0x48 + 100, b1.start + 0x48 + 400)],
      ['match before start', (x) => x.writeUInt32LE(0xffffffff, b1.start + 0x48)],
      ['huge output', (x) => x.writeUInt32LE(0xfffffff0, b1.start + 0x30)],
      ['cut stream', (x) => x.fill(0, b1.start + b1.size - 2000, b1.start + b1.size)],
    ];
    const intact = await readAll(COMPRESSED);
    for (const [label, m] of cases) {
      const p = variant(COMPRESSED, m);
      const r = await readAll(p);
      expect(r.diagnostics.length, label).toBeGreaterThan(0);
      const d = r.diagnostics.find((x) => x.buffer === 1)!;
      expect(d, label).toBeDefined();
      expectNamed(d.message, p, 1);
      // Buffer 2 (another CPU stream or later buffer) is unaffected.
      expect(r.perBuffer.get(2), label).toBe(intact.perBuffer.get(2));
    }
  });

  it('not an .etl: empty, text, pcapng, zip, a directory, a missing file', async () => {
    const empty = variant(UNCOMPRESSED, () => Buffer.alloc(0));
    const text = variant(UNCOMPRESSED, () => Buffer.from('hello\nworld\n'.repeat(50)));
    const pcapng = path.join(repoRoot, 'fixtures/pktmon-demikernel/PktMon.cap.pcapng');
    const zip = variant(UNCOMPRESSED, () => Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(400)]));
    const dir = path.join(tmp, 'adir');
    mkdirSync(dir);
    await expect(traceInfo(empty)).rejects.toThrow(/empty file/);
    await expect(traceInfo(text)).rejects.toThrow(/text file/);
    await expect(traceInfo(pcapng)).rejects.toThrow(/pcapng/);
    await expect(traceInfo(zip)).rejects.toThrow(/zip/);
    await expect(traceInfo(dir)).rejects.toThrow(/directory/);
    await expect(traceInfo(path.join(tmp, 'missing.etl'))).rejects.toThrow(/cannot open/);
    expect(() => openTrace(text)).toThrow(expect.objectContaining({ code: 'ETL_not-etl', offset: 0 }));
  });
});

describe('hostile input: compression bombs', () => {
  it('a tiny compressed buffer that claims a huge output is refused by ratio, before inflating', async () => {
    const bufs = buffers(COMPRESSED);
    const b1 = bufs[1]!;
    // Claim 15 MiB of events (under the 16 MiB session buffer size) from an 11 KB stream.
    const p = variant(COMPRESSED, (x) => void x.writeUInt32LE(15 << 20, b1.start + 0x30));
    const r = await readAll(p);
    // 'compression-ratio' is decided from the sizes alone, before any byte is inflated (no timing
    // needed to tell: an inflated bomb would end in 'decompress' or 'memory-limit' instead).
    const d = r.diagnostics.find((x) => x.code === 'compression-ratio')!;
    expect(d).toBeDefined();
    expectNamed(d.message, p, 1, b1.start);
    expect(r.perBuffer.get(2)).toBeGreaterThan(0);
  });
});
