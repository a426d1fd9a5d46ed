/**
 * Cache-Control and Age, read as RFC 9111 writes them, not as a lenient parser guesses: directive names in
 * any case (§5.2), the first of two values of one directive (§4.2.1: "either the first occurrence should be
 * used or the response should be considered stale"), delta-seconds as digits only (§1.2.2), and an `Age` that
 * is not a non-negative integer ignored (§5.1).
 */

/** Directive names (lower case) and their values: `true` when the directive has none. */
export type Directives = ReadonlyMap<string, string | true>;

// RFC 9110 §5.6.2 token characters.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9111 §1.2.2: a value past 2^31 is taken as 2^31.
const DELTA_MAX = 2_147_483_648;

/** Splits on commas outside quoted strings. */
function splitList(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i += 1) {
    const char = value[i] as string;
    if (quoted && char === '\\') {
      current += char + (value[i + 1] ?? '');
      i += 1;
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (char === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

function unquote(value: string): string | undefined {
  if (!value.startsWith('"')) return TOKEN.test(value) ? value : undefined;
  if (value.length < 2 || !value.endsWith('"')) return undefined;
  return value.slice(1, -1).replace(/\\(.)/g, '$1');
}

/**
 * Parses a Cache-Control value. A directive that is not `token [ "=" ( token / quoted-string ) ]` (a space
 * around `=`, an unterminated quote) is ignored, as a directive the cache does not understand would be.
 */
export function parseCacheControl(value: string | undefined): Directives {
  const result = new Map<string, string | true>();
  if (value === undefined) return result;
  for (const part of splitList(value)) {
    const item = part.trim();
    if (item === '') continue;
    const equals = item.indexOf('=');
    const name = (equals === -1 ? item : item.slice(0, equals)).toLowerCase();
    if (!TOKEN.test(name) || result.has(name)) continue;
    if (equals === -1) {
      result.set(name, true);
      continue;
    }
    const text = unquote(item.slice(equals + 1));
    if (text !== undefined) result.set(name, text);
  }
  return result;
}

/** Seconds of a delta-seconds value (digits only), or undefined when it is absent or not one. */
export function deltaSeconds(value: string | true | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Math.min(DELTA_MAX, Number(value));
}

/**
 * The `Age` a response arrived with, in seconds: the first member of the first line (`7200, 0` is 7200), or
 * 0 when absent or not a non-negative integer.
 */
export function parseAge(value: string | readonly string[] | number | undefined): number {
  const first = Array.isArray(value) ? value[0] : value;
  const text = (String(first ?? '').split(',')[0] ?? '').trim();
  return /^\d+$/.test(text) ? Math.min(DELTA_MAX, Number(text)) : 0;
}

/** Field names listed by a qualified `no-cache="a, b"` or `private="a"`, lower case. */
export function fieldNames(value: string | true | undefined): readonly string[] {
  if (typeof value !== 'string') return [];
  return value
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name.length > 0);
}
