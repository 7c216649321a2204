// FILETIME (100 ns ticks since 1601-01-01 UTC) helpers, in bigint: a double
// would lose the last digits of a FILETIME.

const EPOCH_DIFF = 116444736000000000n; // 1601 → 1970 in 100 ns ticks

/** ISO 8601 with 7 fractional digits, UTC: 2021-06-03T13:49:55.4540046Z */
export function fileTimeToIso(ft: bigint): string {
  const ticksSinceUnix = ft - EPOCH_DIFF;
  let ms = ticksSinceUnix / 10000n;
  let frac = ticksSinceUnix % 10000000n;
  if (frac < 0n) {
    frac += 10000000n;
  }
  if (ticksSinceUnix < 0n && ticksSinceUnix % 10000n !== 0n) ms -= 1n;
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return `FILETIME(${ft})`;
  const base = d.toISOString().slice(0, 19);
  return `${base}.${frac.toString().padStart(7, '0')}Z`;
}

export function fileTimeToDate(ft: bigint): Date {
  return new Date(Number((ft - EPOCH_DIFF) / 10000n));
}

export function dateToFileTime(d: Date): bigint {
  return BigInt(d.getTime()) * 10000n + EPOCH_DIFF;
}
