import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { xpressCompress } from '../../tools/gen/xpress.js';
import { Rng } from '../../tools/gen/bytes.js';
import { xpressDecode } from '../tools/gen/reference.js';
import { testHooks } from '../support/hooks.js';

const root = join(import.meta.dirname, '..', '..');
const shared = join(root, '..', 'shared', 'fixtures');

/** Compressed buffers of an .etl, walked by their headers: [stream, decompressed size]. */
function compressedBuffers(file: string): [Buffer, number][] {
  const d = readFileSync(file);
  const out: [Buffer, number][] = [];
  for (let pos = 0; pos + 0x48 <= d.length; ) {
    const size = d.readUInt32LE(pos);
    if (size < 0x48) break;
    if (d.readUInt16LE(pos + 0x34) & 0x40) out.push([d.subarray(pos + 0x48, pos + size), d.readUInt32LE(pos + 0x30) - 0x48]);
    pos += size;
  }
  return out;
}

function cases(): [string, Buffer][] {
  const rng = new Rng(42);
  const text = Buffer.from('GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n'.repeat(50));
  const mixed = Buffer.concat(Array.from({ length: 40 }, (_, i) => (i % 3 ? rng.bytes(rng.int(0, 300)) : text.subarray(0, rng.int(10, 900)))));
  return [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([7])],
    ['random', rng.bytes(70_000)],
    ['text', text],
    ['mixed', mixed],
    // lengths that need the nibble, the byte, the u16 and the u32 forms
    ['run 9', Buffer.alloc(10, 1)],
    ['run 24', Buffer.alloc(25, 2)],
    ['run 279', Buffer.alloc(280, 3)],
    ['run 65537', Buffer.alloc(65_600, 4)],
    ['run 200k', Buffer.alloc(200_000, 5)],
    ['etl-like', Buffer.concat(Array.from({ length: 300 }, (_, i) => { const b = Buffer.alloc(212); b.writeUInt16LE(212, 0); b[2] = 0x13; b[3] = 0xc0; b.writeBigUInt64LE(BigInt(i * 37), 16); return b; }))],
  ];
}

describe('XPRESS (MS-XCA plain LZ77) encoder', () => {
  for (const [name, data] of cases()) {
    it(`round-trips ${name} (${data.length} bytes) through the reference decoder`, () => {
      const packed = xpressCompress(data);
      expect(Buffer.from(xpressDecode(packed, data.length)).equals(data)).toBe(true);
      if (data.length > 1000 && !name.startsWith('random')) expect(packed.length).toBeLessThan(data.length / 2);
    });
  }

  it('all-literal streams (no matcher) are valid too', () => {
    const data = Buffer.from('abcabcabcabcabc'.repeat(100));
    const packed = xpressCompress(data, { chain: 0 });
    expect(packed.length).toBeGreaterThan(data.length);
    expect(Buffer.from(xpressDecode(packed, data.length)).equals(data)).toBe(true);
  });

  it('the reference decoder reads the real compressed buffers of demikernel PktMon.etl', (ctx) => {
    const f = join(shared, 'pktmon', 'demikernel', 'PktMon.etl');
    if (!existsSync(f)) ctx.skip(`${f} absent`);
    const bufs = compressedBuffers(f);
    for (const [src, size] of bufs) expect(xpressDecode(src, size)[3]).toBe(0xc0);
    expect(bufs.length).toBe(2);
  });

  it('the native reader decompresses what the encoder writes', () => {
    for (const [, data] of cases()) expect(nativeXpress(xpressCompress(data), data.length).equals(data)).toBe(true);
  });
});

// The native decoder copies literal runs and matches in 16-byte steps (writing past the end of a
// copy when there is room); these compare it, byte for byte and failure for failure, with the
// plain byte-at-a-time reference decoder.
const nativeXpress = (src: Uint8Array, n: number): Buffer => testHooks().xpressDecompress(src, n);
function outcome(f: () => Uint8Array): { ok: true; data: Buffer } | { ok: false } {
  try {
    return { ok: true, data: Buffer.from(f()) };
  } catch {
    return { ok: false };
  }
}

describe('native XPRESS decoder = reference decoder', () => {
  it('on every compressed buffer of the real pktmon captures', (ctx) => {
    const dir = join(shared, 'pktmon');
    if (!existsSync(dir)) ctx.skip(`${dir} absent`);
    let n = 0;
    for (const name of readdirSync(dir)) {
      const f = join(dir, name, 'PktMon.etl');
      if (!existsSync(f)) continue;
      for (const [src, size] of compressedBuffers(f)) {
        expect(nativeXpress(src, size).equals(Buffer.from(xpressDecode(src, size)))).toBe(true);
        n++;
      }
    }
    expect(n).toBeGreaterThan(20);
  });

  it('on the shipped pktmon fixture', () => {
    const bufs = compressedBuffers(join(root, 'fixtures', 'pktmon-demikernel', 'PktMon.etl'));
    expect(bufs.length).toBeGreaterThan(0);
    for (const [src, size] of bufs) expect(nativeXpress(src, size).equals(Buffer.from(xpressDecode(src, size)))).toBe(true);
  });

  it('on damaged streams: same output when both succeed, and both fail together', () => {
    const rng = new Rng(7);
    let ok = 0;
    let failed = 0;
    for (const [, data] of cases()) {
      if (data.length === 0) continue;
      const packed = Buffer.from(xpressCompress(data));
      for (let k = 0; k < 150; k++) {
        const bad = Buffer.from(packed.subarray(0, rng.int(k % 5 === 0 ? 0 : packed.length - 8, packed.length)));
        for (let j = rng.int(0, 4); j > 0 && bad.length > 0; j--) bad[rng.int(0, bad.length - 1)] = rng.int(0, 255);
        // The expected size is sometimes off too, as in a buffer header that lies.
        const size = k % 3 === 0 ? rng.int(0, data.length + 64) : data.length;
        const a = outcome(() => nativeXpress(bad, size));
        const b = outcome(() => xpressDecode(bad, size));
        expect(a.ok, `case ${k}`).toBe(b.ok);
        if (a.ok && b.ok) expect(a.data.equals(b.data)).toBe(true);
        if (a.ok) ok++;
        else failed++;
      }
    }
    // Both kinds occur, or the comparison says little.
    expect(ok).toBeGreaterThan(50);
    expect(failed).toBeGreaterThan(50);
  });
});
