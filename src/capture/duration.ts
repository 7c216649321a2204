// How long `capture start --duration` runs: a whole number of minutes, hours or days (90m, 24h,
// 7d), the form the SSM document's Duration parameter allows (fleet/etl-imds-capture.yaml).

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a duration like `24h`; a RangeError saying what is accepted otherwise. */
export function parseDuration(text: string): number {
  const m = /^([1-9][0-9]{0,4})([mhd])$/.exec(text.trim());
  if (!m) throw new RangeError(`--duration ${JSON.stringify(text)}: give a whole number of minutes, hours or days, e.g. 90m, 24h, 7d`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** A duration as a person reads it: `1 day 6 hours`, `90 minutes`. */
export function durationText(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 60_000);
  for (const [unit, minutes] of [['day', 1440], ['hour', 60], ['minute', 1]] as const) {
    const n = Math.floor(rest / minutes);
    rest -= n * minutes;
    if (n) parts.push(`${n} ${unit}${n === 1 ? '' : 's'}`);
  }
  return parts.join(' ') || 'less than a minute';
}
