import { describe, expect, it } from 'vitest';
import { parseHttpDate } from '../../src/http/dates.js';

const SUNDAY = Date.UTC(1994, 10, 6, 8, 49, 37);

describe('HTTP-date', () => {
  it.each([
    ['IMF-fixdate', 'Sun, 06 Nov 1994 08:49:37 GMT'],
    ['RFC 850', 'Sunday, 06-Nov-94 08:49:37 GMT'],
    ['asctime', 'Sun Nov  6 08:49:37 1994'],
  ])('reads the %s format', (_format, text) => {
    expect(parseHttpDate(text, Date.UTC(2026, 0, 1))).toBe(SUNDAY);
  });

  it.each([
    ['a one-digit hour', 'Sun, 06 Nov 2040 8:49:37 GMT'],
    ['dashes in an IMF-fixdate', 'Sun, 06-Nov-2040 08:49:37 GMT'],
    ['extra spaces', 'Sun,  06 Nov 2040 08:49:37 GMT'],
    ['no comma', 'Sun 06 Nov 2040 08:49:37 GMT'],
    ['"0"', '0'],
    ['a day that does not exist', 'Thu, 31 Feb 2040 08:49:37 GMT'],
    ['another zone', 'Sun, 06 Nov 2040 08:49:37 PST'],
  ])('rejects %s', (_case, text) => {
    expect(parseHttpDate(text)).toBeUndefined();
  });

  it.each([
    ['weekday', 'SUN, 06 Nov 1994 08:49:37 GMT'],
    ['month', 'Sun, 06 NOV 1994 08:49:37 GMT'],
    ['zone', 'Sun, 06 Nov 1994 08:49:37 gmt'],
  ])('reads a date whose %s is in another letter case (the layout stays exact)', (_part, text) => {
    expect(parseHttpDate(text)).toBe(SUNDAY);
  });

  it('reads a two-digit RFC 850 year as the most recent past year with those digits beyond 50 years', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(new Date(parseHttpDate('Monday, 06-Nov-50 08:49:37 GMT', now) as number).getUTCFullYear()).toBe(
      2050,
    );
    expect(new Date(parseHttpDate('Tuesday, 06-Nov-90 08:49:37 GMT', now) as number).getUTCFullYear()).toBe(
      1990,
    );
  });
});
