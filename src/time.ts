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

/**
 * The FILETIME a decoded FileTime property holds: the addon gives them as
 * "YYYY-MM-DDTHH:MM:SS.fffffffZ" (or the bare number when negative). Exact,
 * 100 ns included; undefined when the text is neither.
 */
export function fileTimeOfProperty(text: string): bigint | undefined {
  if (/^-?\d+$/.test(text)) return BigInt(text);
  const m = /^(\d{4,5})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{7})Z$/.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s, frac] = m.slice(1).map((x) => BigInt(x)) as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  // Days since 1601-01-01 in the proleptic Gregorian calendar (the days-from-civil algorithm).
  const yy = mo <= 2n ? y - 1n : y;
  const era = yy / 400n;
  const yoe = yy - era * 400n;
  const doy = (153n * (mo > 2n ? mo - 3n : mo + 9n) + 2n) / 5n + d - 1n;
  const doe = yoe * 365n + yoe / 4n - yoe / 100n + doy;
  const daysSince1970 = era * 146097n + doe - 719468n;
  const seconds = (daysSince1970 + 134774n) * 86400n + h * 3600n + mi * 60n + s;
  return seconds * 10_000_000n + frac;
}
