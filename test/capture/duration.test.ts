import { describe, expect, it } from 'vitest';
import { durationText, parseDuration } from '../../src/capture/duration.js';

describe('capture --duration', () => {
  it('takes whole minutes, hours or days, the SSM document Duration pattern', () => {
    expect(parseDuration('90m')).toBe(90 * 60_000);
    expect(parseDuration('24h')).toBe(24 * 3_600_000);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration(' 24h ')).toBe(24 * 3_600_000);
    for (const bad of ['0h', '24', 'h', '1.5h', '-1h', '24H', '1w', '100000d']) {
      expect(() => parseDuration(bad), bad).toThrow(/whole number of minutes, hours or days/);
    }
  });

  it('says how long in words', () => {
    expect(durationText(parseDuration('24h'))).toBe('1 day');
    expect(durationText(parseDuration('90m'))).toBe('1 hour 30 minutes');
    expect(durationText(parseDuration('1m'))).toBe('1 minute');
    expect(durationText(26 * 3_600_000 + 60_000)).toBe('1 day 2 hours 1 minute');
  });
});
