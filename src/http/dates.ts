/**
 * HTTP-date (RFC 9110 §5.6.7), strictly: IMF-fixdate, plus the obsolete RFC 850 and asctime formats a
 * recipient must still accept. Anything else is invalid, and an invalid `Expires` means "already expired"
 * (RFC 9111 §5.3): a lenient parser would read garbage as some future date and serve it from cache. The one
 * leniency is letter case (`THU`, `aug`, `gmt`): it cannot turn garbage into a date, and the layout stays exact.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
const IMF_FIXDATE = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`,
  'i',
);
const RFC_850 = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`,
  'i',
);
const ASCTIME = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`, 'i');

function at(year: number, month: string, day: string, hour: string, minute: string, second: string) {
  const time = Date.UTC(
    year,
    MONTHS.findIndex((name) => name.toLowerCase() === month.toLowerCase()),
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
  );
  // Reject what Date.UTC would roll over (31 Feb, 25:00).
  const check = new Date(time);
  return check.getUTCDate() === Number(day) &&
    check.getUTCHours() === Number(hour) &&
    Number(minute) < 60 &&
    Number(second) < 61
    ? time
    : undefined;
}

/** Epoch milliseconds of an HTTP-date, or undefined when it is not one. `now` resolves RFC 850 years. */
export function parseHttpDate(text: string | undefined, now = Date.now()): number | undefined {
  if (text === undefined) return undefined;
  const value = text.trim();
  let m = IMF_FIXDATE.exec(value);
  if (m)
    return at(Number(m[3]), m[2] as string, m[1] as string, m[4] as string, m[5] as string, m[6] as string);
  m = RFC_850.exec(value);
  if (m) {
    // A two-digit year more than 50 years ahead is the most recent past year with those digits.
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return at(year, m[2] as string, m[1] as string, m[4] as string, m[5] as string, m[6] as string);
  }
  m = ASCTIME.exec(value);
  if (m)
    return at(
      Number(m[6]),
      m[1] as string,
      (m[2] as string).trim(),
      m[3] as string,
      m[4] as string,
      m[5] as string,
    );
  return undefined;
}
