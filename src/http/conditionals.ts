import type { IncomingMessage } from 'node:http';
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

/** The request's own conditional fields, kept while the route runs for the cache. */
export type Conditionals = Partial<Record<(typeof CONDITIONAL)[number], string | string[]>>;

export function conditionalsOf(req: IncomingMessage): Conditionals {
  const own: Conditionals = {};
  for (const name of CONDITIONAL) {
    const value = req.headers[name];
    if (value !== undefined) own[name] = value;
  }
  return own;
}

export function restoreConditionals(req: IncomingMessage, own: Conditionals): void {
  for (const name of CONDITIONAL) {
    const value = own[name];
    if (value === undefined) delete req.headers[name];
    else (req.headers as Record<string, string | string[]>)[name] = value;
  }
}

/**
 * The route runs for the cache: without the client's conditionals, so it produces a whole response every
 * request can share, and with the stored response's own validators when there is one to revalidate (RFC
 * 9111 §4.3.1). Returns whether the request is now conditional.
 */
export function askConditionally(req: IncomingMessage, stale: StoredResponse | undefined): boolean {
  for (const name of CONDITIONAL) delete req.headers[name];
  const { etag, lastModified } = stale?.validators ?? {};
  if (etag !== undefined) req.headers['if-none-match'] = etag;
  if (lastModified !== undefined) req.headers['if-modified-since'] = lastModified;
  return etag !== undefined || lastModified !== undefined;
}
