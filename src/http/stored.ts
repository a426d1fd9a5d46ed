import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { parseAge } from './fields.js';
import { HOP_BY_HOP } from './hop-by-hop.js';
import { varyValues } from './key.js';

/**
 * The values the middleware keeps in the cache. Plain JSON (the body as base64), so any codec carries them
 * and every node replays the same bytes. The `format` field lets a future layout treat old entries as misses.
 */

// 2: freshness, stale permission and the route's own validators are kept with the response.
const FORMAT = 'herdcache:http:2';

/** A stored header value: one line, or several for fields that repeat. */
export type HeaderValue = string | readonly string[];

/** A captured response, replayable to any request whose `Vary` headers match. */
export interface StoredResponse {
  readonly format: typeof FORMAT;
  readonly status: number;
  /** Lower-case names; what the route produced, without hop-by-hop fields, `Age` or `X-Cache`. */
  readonly headers: readonly (readonly [string, HeaderValue])[];
  readonly body: string;
  readonly etag: string;
  /** Header names from `Vary`, normalised. */
  readonly vary: readonly string[];
  /** The producing request's values of those headers. */
  readonly varied: readonly (string | null)[];
  /** Epoch milliseconds when the response finished. */
  readonly storedAt: number;
  /**
   * Seconds the response was already old when stored (RFC 9111 §4.2.3 corrected initial age): the `Age`
   * the route reported (a response it proxied from another cache) plus how long the route took.
   */
  readonly initialAge: number;
  /** Milliseconds it was fresh for when stored; null when the cache's own ttl decided. */
  readonly lifetime: number | null;
  /** False when it may never be served stale: every reuse past its freshness revalidates with the route. */
  readonly mayServeStale: boolean;
  /** The route's own validators, sent back to it as `If-None-Match` / `If-Modified-Since` to revalidate. */
  readonly validators: { readonly etag?: string; readonly lastModified?: string };
}

/** Hit-for-miss: "the last response here was not cacheable; run the handler yourself". */
export interface PassMarker {
  readonly format: typeof FORMAT;
  readonly pass: true;
}

/** The hit-for-miss value; a request that finds anything but a stored response runs the route itself. */
export const PASS: PassMarker = Object.freeze({ format: FORMAT, pass: true });

// Hop-by-hop fields describe one connection, not the resource; ours are recomputed on every replay.
const NOT_STORED = new Set([
  ...HOP_BY_HOP,
  'proxy-authenticate',
  'proxy-authorization',
  'set-cookie',
  'age',
  'x-cache',
]);

/**
 * Values already found to be stored responses. The local tier hands back the same object on every hit, and
 * stored values are never changed once made, so each is checked once.
 */
const checked = new WeakSet<object>();

/** Checks the shape of a value read from the cache, which may be foreign or corrupt. */
export function isStoredResponse(value: unknown): value is StoredResponse {
  if (typeof value !== 'object' || value === null) return false;
  if (checked.has(value)) return true;
  if (!hasStoredShape(value as Partial<StoredResponse>)) return false;
  checked.add(value);
  return true;
}

function hasStoredShape(v: Partial<StoredResponse>): boolean {
  return (
    v.format === FORMAT &&
    typeof v.status === 'number' &&
    typeof v.body === 'string' &&
    typeof v.etag === 'string' &&
    typeof v.storedAt === 'number' &&
    typeof v.initialAge === 'number' &&
    (v.lifetime === null || typeof v.lifetime === 'number') &&
    typeof v.mayServeStale === 'boolean' &&
    typeof v.validators === 'object' &&
    v.validators !== null &&
    Array.isArray(v.headers) &&
    v.headers.every(
      (pair) =>
        Array.isArray(pair) &&
        typeof pair[0] === 'string' &&
        (typeof pair[1] === 'string' ||
          (Array.isArray(pair[1]) && pair[1].every((s) => typeof s === 'string'))),
    ) &&
    Array.isArray(v.vary) &&
    v.vary.every((name) => typeof name === 'string') &&
    Array.isArray(v.varied) &&
    v.varied.length === v.vary.length &&
    v.varied.every((value) => value === null || typeof value === 'string')
  );
}

/** RFC 9111 4.1: a stored response serves a request only when the headers its `Vary` names match. */
export function matchesVary(stored: StoredResponse, headers: IncomingHttpHeaders): boolean {
  if (stored.vary.length === 0) return true;
  const values = varyValues(stored.vary, headers);
  return values.every((value, index) => value === stored.varied[index]);
}

/** A strong validator for routes that send none: the hash of the exact bytes. */
function strongEtag(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

function sameValue(a: OutgoingHttpHeaders[string], b: OutgoingHttpHeaders[string]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What `storeResponse` needs about a finished response. */
export interface Finished {
  readonly status: number;
  /** Every header at the moment they were sent. */
  readonly headers: OutgoingHttpHeaders;
  /** Headers already set when the request reached the middleware. */
  readonly before: OutgoingHttpHeaders;
  readonly body: Buffer;
  readonly vary: readonly string[];
  readonly requestHeaders: IncomingHttpHeaders;
  readonly now: number;
  /** Milliseconds from running the route to its response headers (RFC 9111 §4.2.3 response_delay). */
  readonly responseDelay: number;
  readonly lifetime: number | null;
  readonly mayServeStale: boolean;
}

/**
 * Builds the stored value. Headers that middleware in front of the cache had already set (CORS for this
 * origin, a request id) are left out: that middleware sets them again for each request a replay answers.
 */
export function storeResponse(finished: Finished): StoredResponse {
  const connectionScoped = new Set(
    String(finished.headers.connection ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase()),
  );
  const headers: [string, HeaderValue][] = [];
  for (const [name, value] of Object.entries(finished.headers)) {
    if (value === undefined || NOT_STORED.has(name) || connectionScoped.has(name)) continue;
    if (name in finished.before && sameValue(finished.before[name], value)) continue;
    headers.push([name, Array.isArray(value) ? value.map(String) : String(value)]);
  }
  // The validator the producing client saw, even if middleware in front set it; else a strong one.
  const sent = finished.headers.etag;
  const etag = typeof sent === 'string' ? sent : strongEtag(finished.body);
  if (!headers.some(([name]) => name === 'etag')) headers.push(['etag', etag]);
  const lastModified = finished.headers['last-modified'];
  return {
    format: FORMAT,
    status: finished.status,
    headers,
    body: finished.body.toString('base64'),
    etag,
    vary: finished.vary,
    varied: varyValues(finished.vary, finished.requestHeaders),
    storedAt: finished.now,
    initialAge: parseAge(finished.headers.age) + Math.max(0, finished.responseDelay) / 1000,
    lifetime: finished.lifetime,
    mayServeStale: finished.mayServeStale,
    validators: {
      ...(typeof sent === 'string' ? { etag: sent } : {}),
      ...(typeof lastModified === 'string' ? { lastModified } : {}),
    },
  };
}
