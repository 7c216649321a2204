// The one FILETIME formatter (native/etl/filetime.h, through src/time.ts): exact to 100 ns, the
// calendar JavaScript's Date keeps where Date reaches, five-digit years beyond 9999, and the parse
// of FILETIME properties (fileTimeOfProperty) its exact inverse.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fileTimeOfProperty, fileTimeToIso } from '../../src/time.js';

const EPOCH_DIFF = 116444736000000000n;
const MAX_FILETIME = (1n << 63n) - 1n;

describe('fileTimeToIso', () => {
  it('known instants', () => {
    expect(fileTimeToIso(0n)).toBe('1601-01-01T00:00:00.0000000Z');
    expect(fileTimeToIso(EPOCH_DIFF)).toBe('1970-01-01T00:00:00.0000000Z');
    expect(fileTimeToIso(132672017954540046n)).toBe('2021-06-03T13:49:55.4540046Z');
    expect(fileTimeToIso(MAX_FILETIME)).toBe('30828-09-14T02:48:05.4775807Z');
    expect(fileTimeToIso(-1n)).toBe('-1');
  });

  it("agrees with Date to the millisecond and keeps the 100 ns digits, wherever Date's ISO form has four-digit years", () => {
    const lastFourDigitYear = EPOCH_DIFF + BigInt(Date.UTC(9999, 11, 31, 23, 59, 59, 999)) * 10_000n + 9_999n;
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: lastFourDigitYear }), (ft) => {
        const iso = fileTimeToIso(ft);
        const ms = (ft - EPOCH_DIFF) / 10_000n - (ft < EPOCH_DIFF && (ft - EPOCH_DIFF) % 10_000n !== 0n ? 1n : 0n);
        expect(iso.slice(0, 23)).toBe(new Date(Number(ms)).toISOString().slice(0, 23));
        expect(iso.slice(20, 27)).toBe(String(ft % 10_000_000n).padStart(7, '0'));
      }),
    );
  });

  it('fileTimeOfProperty reads every formatted FILETIME back exactly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -1000n, max: MAX_FILETIME }), (ft) => {
        expect(fileTimeOfProperty(fileTimeToIso(ft))).toBe(ft);
      }),
    );
  });

  it('refuses what is not a 64-bit FILETIME', () => {
    expect(() => fileTimeToIso(1n << 64n)).toThrow(RangeError);
  });
});
