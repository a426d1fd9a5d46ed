/**
 * A `Range` request answered from a stored complete response (RFC 9110 §14): one byte range, as a 206.
 * Anything else (several ranges, another unit, a range past the end, `If-Range`) goes to the route, which
 * knows best; a partial response is never stored.
 */

/** The bytes a request asks for, first and last included. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** The one satisfiable byte range of a `Range` value for a body of `size` bytes, or undefined. */
export function byteRange(header: string | undefined, size: number): ByteRange | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (match === null || size === 0) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '') {
    // A suffix: the last n bytes.
    const length = Number(last);
    if (last === '' || length === 0) return undefined;
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return undefined;
  return { start, end };
}
