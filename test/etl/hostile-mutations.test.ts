// Thousands of bit-flipped and truncated copies of real traces through info,
// convert and scan: never a crash or hang; either a result or a clear error
// naming the file; diagnostics name the file, offset and buffer.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { convert, traceInfo } from '../../src/index.js';
import { scanFile } from '../../src/scan.js';
import { repoRoot, shared, haveShared } from '../support/fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-mut-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Small real files of every shape: compressed pktmon, 32-bit, kernel, netsh-style, and more when present.
const sources = [
  'fixtures/pktmon-demikernel/PktMon.etl',
  'fixtures/perfview/smallEtlFile.etl',
  'fixtures/airbus/lxcore_kernel.etl',
].map((f) => path.join(repoRoot, f));
if (haveShared)
  for (const f of ['pktmon/finguard/PktMon.etl', 'pktmon/gobang/PktMon.etl', 'other/perfview/SelfDescribingSingleEvent.etl', 'other/airbus/AMSITrace.etl'])
    if (existsSync(shared(f))) sources.push(shared(f));

// Deterministic PRNG (xorshift32) so a failure can be replayed.
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

function mutate(orig: Buffer, r: () => number): Buffer {
  const b = Buffer.from(orig);
  const kind = r();
  if (kind < 0.25) return b.subarray(0, Math.floor(r() * b.length)); // truncation anywhere
  const flips = 1 + Math.floor(r() * 16);
  // Bias half of the flips towards the headers that steer parsing (buffer headers, first records).
  for (let i = 0; i < flips; i++) {
    const at = r() < 0.5 ? Math.floor(r() * Math.min(b.length, 0x200)) : Math.floor(r() * b.length);
    if (r() < 0.7) b[at]! ^= 1 << Math.floor(r() * 8);
    else b[at] = Math.floor(r() * 256);
  }
  if (kind > 0.9) {
    // Overwrite a u32 with an extreme value (sizes, offsets).
    const at = Math.floor(r() * (b.length - 4)) & ~3;
    b.writeUInt32LE([0, 0xffffffff, 0x48, 0x7fffffff, 1][Math.floor(r() * 5)]!, at);
  }
  return b;
}

function checkError(e: unknown, file: string) {
  expect(e).toBeInstanceOf(Error);
  const msg = (e as Error).message;
  expect(msg.length).toBeGreaterThan(10);
  expect(msg).toContain(path.basename(file));
}

const PER_SOURCE = Number(process.env.ETL_MUTATIONS ?? 1000);

describe('mutated real traces', () => {
  for (const src of sources) {
    it(`${PER_SOURCE} variants of ${path.relative(repoRoot, src)}`, async () => {
      const orig = readFileSync(src);
      const r = rng(0x9e3779b9 ^ orig.length);
      let ok = 0;
      let refused = 0;
      for (let i = 0; i < PER_SOURCE; i++) {
        const file = path.join(tmp, `m${i}.etl`);
        const out = path.join(tmp, `m${i}.pcapng`);
        writeFileSync(file, mutate(orig, r));
        try {
          const info = await traceInfo(file);
          for (const d of info.diagnostics) {
            expect(d.message).toContain(file);
            expect(d.message).toMatch(/offset \d+/);
          }
          ok++;
        } catch (e) {
          checkError(e, file);
          refused++;
        }
        try {
          const s = await convert(file, out, { force: true });
          expect(s.packets).toBeGreaterThanOrEqual(0);
        } catch (e) {
          checkError(e, file);
        }
        try {
          await scanFile(file, { noAutoCab: true });
        } catch (e) {
          checkError(e, file);
        }
        rmSync(file, { force: true });
        rmSync(out, { force: true });
      }
      expect(ok + refused).toBe(PER_SOURCE);
      // No temporary output left behind by failed conversions.
      expect(readdirSync(tmp).filter((f) => f.includes('.tmp') || f.startsWith('.'))).toEqual([]);
    });
  }
});
