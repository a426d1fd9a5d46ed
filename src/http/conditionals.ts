import type { IncomingHttpHeaders } from 'node:http';
import type { StoredResponse } from './stored.js';

/**
 * The conditional fields of a request the route runs for the cache: the client's own are set aside (the
 * route must produce a whole response every request can share) and the stored response's validators take
 * their place when there is one to revalidate.
 */

// Stripped before the route runs for the cache, so it produces the whole 200 every request can share.
export const CONDITIONAL = [
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
] as const;

/** Values of conditional fields, by lower-case name. */
export type Conditionals = Partial<Record<(typeof CONDITIONAL)[number], string | string[]>>;

export function conditionalsOf(headers: IncomingHttpHeaders): Conditionals {
  const own: Conditionals = {};
  for (const name of CONDITIONAL) {
    const value = headers[name];
    if (value !== undefined) own[name] = value;
  }
  return own;
}

/** Replaces every conditional field of `headers` with those of `conditionals`. */
export function setConditionals(headers: IncomingHttpHeaders, conditionals: Conditionals): void {
  for (const name of CONDITIONAL) {
    const value = conditionals[name];
    if (value === undefined) delete headers[name];
    else (headers as Record<string, string | string[]>)[name] = value;
  }
}

/**
 * What the route runs for the cache with: none of the client's conditionals, so it produces a whole
 * response every request can share, and the stored response's own validators when there is one to
 * revalidate (RFC 9111 §4.3.1).
 */
export function conditionalsFor(stale: StoredResponse | undefined): Conditionals {
  const { etag, lastModified } = stale?.validators ?? {};
  return {
    ...(etag !== undefined ? { 'if-none-match': etag } : {}),
    ...(lastModified !== undefined ? { 'if-modified-since': lastModified } : {}),
  };
}
