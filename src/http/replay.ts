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

type Field = readonly [string, HeaderValue];

/** What every replay of one stored response shares, for one set of stripped fields. */
interface Prepared {
  readonly stripped: readonly string[];
  readonly body: Buffer;
  /** The stored fields a full response carries: all but `Content-Length` and the stripped ones. */
  readonly fields: readonly Field[];
  /** The `Content-Length` field of a full response; undefined for 204. */
  readonly contentLength: Field | undefined;
  /** The last full answer made, reused while its `X-Cache` and `Age` still hold (see `fullAnswer`). */
  last: { readonly status: XCacheStatus; readonly age: string; readonly answer: Answer } | undefined;
}

// The local tier hands back the same object on every hit: decode its body and pick its fields once.
const prepared = new WeakMap<StoredResponse, Prepared>();

function preparedOf(stored: StoredResponse, stripped: readonly string[]): Prepared {
  let entry = prepared.get(stored);
  if (entry === undefined || entry.stripped !== stripped) {
    const body = entry?.body ?? Buffer.from(stored.body, 'base64');
    const fields = stored.headers.filter(([name]) => name !== 'content-length' && !stripped.includes(name));
    const contentLength: Field | undefined =
      stored.status === 204 ? undefined : ['Content-Length', String(body.length)];
    entry = { stripped, body, fields, contentLength, last: undefined };
    prepared.set(stored, entry);
  }
  return entry;
}

/**
 * The whole stored response. Every hit within the same second of `Age` gets the same answer object (answers
 * are read-only), so a hit on a hot entry allocates nothing here.
 */
function fullAnswer(entry: Prepared, stored: StoredResponse, status: XCacheStatus, age: string): Answer {
  const last = entry.last;
  if (last !== undefined && last.status === status && last.age === age) return last.answer;
  const headers: Field[] = [...entry.fields, ['Age', age], ['X-Cache', status]];
  if (entry.contentLength !== undefined) headers.push(entry.contentLength);
  const answer: Answer = {
    status: stored.status,
    headers,
    body: entry.contentLength === undefined ? undefined : entry.body,
  };
  entry.last = { status, age, answer };
  return answer;
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
  const entry = preparedOf(stored, stripped);
  const age = String(ageSeconds(stored, cachedForMs));
  if (!notModified && range === undefined) return fullAnswer(entry, stored, status, age);
  const headers: Field[] = notModified
    ? entry.fields.filter(([name]) => NOT_MODIFIED_FIELDS.has(name))
    : [...entry.fields];
  headers.push(['Age', age], ['X-Cache', status]);
  if (notModified) return { status: 304, headers, body: undefined };
  let body = entry.body;
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
