import type { IncomingHttpHeaders } from 'node:http';
import type { Answer } from './core/exchange.js';
import type { ByteRange } from './range.js';
import type { HeaderValue, StoredResponse } from './stored.js';

/**
 * `X-Cache` values: how the cache took part in a response. `REVALIDATED`: the stored response, confirmed
 * by the route with a 304 to the cache's conditional request.
 */
export type XCacheStatus = 'HIT' | 'STALE' | 'REVALIDATED' | 'MISS' | 'BYPASS';

// RFC 9110 15.4.5: what a 304 carries, so the client can refresh its own copy's metadata.
const NOT_MODIFIED_FIELDS = new Set([
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'last-modified',
  'vary',
]);

// The local tier hands back the same object on every hit: decode each body once.
const bodies = new WeakMap<StoredResponse, Buffer>();

function bodyOf(stored: StoredResponse): Buffer {
  let body = bodies.get(stored);
  if (body === undefined) {
    body = Buffer.from(stored.body, 'base64');
    bodies.set(stored, body);
  }
  return body;
}

const opaqueTag = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag);

/** `If-None-Match` uses the weak comparison (RFC 9110 13.1.2). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const wanted = opaqueTag(etag);
  return (ifNoneMatch.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => opaqueTag(tag) === wanted);
}

/** A header of a stored response, as one string. */
function storedHeader(stored: StoredResponse, name: string): string | undefined {
  const value = stored.headers.find(([field]) => field === name)?.[1];
  return value === undefined ? undefined : Array.isArray(value) ? value.join(', ') : String(value);
}

/**
 * `If-Modified-Since` (RFC 9110 13.1.3, RFC 9111 4.3.2): the stored response has not changed since the
 * given date, judged by its `Last-Modified`, or its `Date` when it has none. An unparseable date is ignored.
 */
export function notModifiedSince(ifModifiedSince: string | undefined, stored: StoredResponse): boolean {
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  const modified = Date.parse(storedHeader(stored, 'last-modified') ?? storedHeader(stored, 'date') ?? '');
  return Number.isFinite(since) && Number.isFinite(modified) && modified <= since;
}

/** Seconds for the `Age` header: what the route reported plus the time the entry has spent cached. */
export function ageSeconds(stored: StoredResponse, cachedForMs: number): number {
  return Math.max(0, Math.floor((stored.initialAge * 1000 + cachedForMs) / 1000));
}

/**
 * The answer to a request from a stored response: 304 when its validator matches, a 206 with the bytes of
 * `range` when one is given. For HEAD the body is there too, for adapters to leave out (see `Answer`).
 */
export function replay(
  request: { readonly method: string; readonly headers: IncomingHttpHeaders },
  stored: StoredResponse,
  status: XCacheStatus,
  cachedForMs: number,
  stripped: readonly string[],
  range?: ByteRange,
): Answer {
  // If-None-Match, when present, decides alone (RFC 9110 13.2.2); If-Modified-Since only without it.
  const ifNoneMatch = request.headers['if-none-match'];
  const notModified =
    stored.status >= 200 &&
    stored.status < 300 &&
    (ifNoneMatch !== undefined
      ? etagMatches(ifNoneMatch, stored.etag)
      : notModifiedSince(request.headers['if-modified-since'], stored));
  const headers: [string, HeaderValue][] = [];
  for (const [name, value] of stored.headers) {
    if (name === 'content-length' || stripped.includes(name)) continue;
    if (notModified && !NOT_MODIFIED_FIELDS.has(name)) continue;
    headers.push([name, value]);
  }
  headers.push(['Age', String(ageSeconds(stored, cachedForMs))], ['X-Cache', status]);
  if (notModified) return { status: 304, headers, body: undefined };
  let body = bodyOf(stored);
  if (range !== undefined) {
    headers.push(['Content-Range', `bytes ${range.start}-${range.end}/${body.length}`]);
    body = body.subarray(range.start, range.end + 1);
  }
  if (stored.status !== 204) headers.push(['Content-Length', String(body.length)]);
  return {
    status: range === undefined ? stored.status : 206,
    headers,
    body: stored.status === 204 ? undefined : body,
  };
}
