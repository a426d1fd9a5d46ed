import type { OutgoingHttpHeaders } from 'node:http';
import { parseHttpDate } from './dates.js';
import { type Directives, deltaSeconds, parseAge, parseCacheControl } from './fields.js';
import { varyNames } from './key.js';
import { clampDuration } from './options.js';
import { parseTargeted } from './structured.js';

/**
 * Whether a response may be stored, for how long, and whether it may ever be served stale, judged as
 * RFC 9111 asks of a shared cache (and RFC 9213 of one with a target list), plus what a cache in front of
 * many users must refuse on top (cookies, event streams).
 */

/** The policy the cache entry gets; unset fields fall back to the cache's own options. */
export interface Freshness {
  readonly ttl?: number;
  readonly staleWhileRevalidate?: number;
  readonly staleIfError?: number;
}

/** Store, and how; or do not, for this reason. */
export type Verdict =
  | {
      readonly store: true;
      readonly freshness: Freshness;
      readonly vary: readonly string[];
      /** Milliseconds the response is fresh from now; null when the cache's own ttl decides. */
      readonly lifetime: number | null;
      /** False when every reuse after it goes stale needs the route first (no-cache, must-revalidate). */
      readonly mayServeStale: boolean;
    }
  | { readonly store: false; readonly reason: string };

/** A response about to be sent, with what the judgement depends on. */
export interface Judged {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
  /** False for entries keyed by user: they follow private-cache rules. */
  readonly shared: boolean;
  readonly statuses: ReadonlySet<number>;
  /** Freshness for responses that state none: a duration, RFC 9111's heuristic, or the cache's ttl. */
  readonly ttl: number | 'heuristic' | undefined;
  /** Targeted cache-control field names, lower case, most specific first (RFC 9213 §2.1). */
  readonly targets: readonly string[];
}

// RFC 9110 §15.1: statuses a cache may store with heuristic freshness.
const HEURISTIC_STATUSES = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);
// RFC 9111 §4.2.2 suggests a tenth of the time since Last-Modified; a day bounds a very old date.
const HEURISTIC_FRACTION = 0.1;
const HEURISTIC_MAX = 86_400_000;
/**
 * How long an entry that may not be served stale is kept past its freshness, so the next request can
 * revalidate it with a conditional request to the route instead of fetching the whole body again.
 */
export const REVALIDATION_RETENTION = 600_000;

function flat(headers: OutgoingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) result[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return result;
}

/** The first field on the target list with a valid, non-empty value (RFC 9213 §2.1), if any. */
function targetedDirectives(headers: Record<string, string>, targets: readonly string[]) {
  for (const name of targets) {
    const directives = parseTargeted(headers[name]);
    if (directives !== undefined && directives.size > 0) return directives;
  }
  return undefined;
}

/** Freshness lifetime in seconds from `Expires` minus `Date` (RFC 9111 §4.2.1); 0 for an invalid date. */
function expiresLifetime(headers: Record<string, string>): number {
  const expires = parseHttpDate(headers.expires);
  if (expires === undefined) return 0;
  const date = parseHttpDate(headers.date) ?? Date.now();
  return Math.max(0, (expires - date) / 1000);
}

/** Heuristic freshness in seconds: 10% of Date minus Last-Modified, 0 when either is missing or invalid. */
function heuristicLifetime(headers: Record<string, string>): number {
  const modified = parseHttpDate(headers['last-modified']);
  if (modified === undefined) return 0;
  const date = parseHttpDate(headers.date) ?? Date.now();
  return Math.min(HEURISTIC_MAX, Math.max(0, (date - modified) * HEURISTIC_FRACTION)) / 1000;
}

/** The explicit freshness lifetime in seconds (RFC 9111 §4.2.1), or undefined when the response states none. */
function explicitLifetime(
  cc: Directives,
  headers: Record<string, string>,
  shared: boolean,
  useExpires: boolean,
): number | undefined {
  if (shared && cc.has('s-maxage')) return deltaSeconds(cc.get('s-maxage')) ?? 0;
  // An invalid max-age (`max-age=a100`) makes the response stale rather than falling through to Expires.
  if (cc.has('max-age')) return deltaSeconds(cc.get('max-age')) ?? 0;
  if (useExpires && headers.expires !== undefined) return expiresLifetime(headers);
  return undefined;
}

/** Judges a response from its status and headers alone, as they go out, so waiters can be released early. */
export function judge(input: Judged): Verdict {
  const headers = flat(input.headers);
  if (!input.statuses.has(input.status)) return { store: false, reason: `status ${input.status}` };
  // A cookie belongs to one client, whatever Cache-Control says.
  if (headers['set-cookie'] !== undefined) return { store: false, reason: 'Set-Cookie' };
  if (/^\s*text\/event-stream\b/i.test(headers['content-type'] ?? '')) {
    return { store: false, reason: 'event stream' };
  }
  const vary = varyNames(headers.vary);
  if (vary.includes('*')) return { store: false, reason: 'Vary: *' };

  // A valid targeted field replaces Cache-Control and Expires for this cache (RFC 9213 §2.1).
  const targeted = targetedDirectives(headers, input.targets);
  const cc = targeted ?? parseCacheControl(headers['cache-control']);
  // must-understand: a cache that understands the status may ignore no-store (RFC 9111 §5.2.2.3).
  const understood = cc.has('must-understand') && HEURISTIC_STATUSES.has(input.status);
  if (cc.has('no-store') && !understood) return { store: false, reason: 'no-store' };
  if (input.shared && cc.has('private')) return { store: false, reason: 'private' };

  const explicit = explicitLifetime(cc, headers, input.shared, targeted === undefined);
  const heuristic = explicit === undefined && input.ttl === 'heuristic';
  if (explicit === undefined && !HEURISTIC_STATUSES.has(input.status) && !cc.has('public')) {
    // Only explicit freshness makes a 302, 307 or an error status storable (RFC 9111 §3).
    return { store: false, reason: `status ${input.status} without explicit freshness` };
  }
  const pragmaNoCache =
    targeted === undefined && !headers['cache-control'] && /no-cache/i.test(headers.pragma ?? '');
  const noCache = cc.has('no-cache') || pragmaNoCache;
  const mustRevalidate = cc.has('must-revalidate') || (input.shared && cc.has('proxy-revalidate'));
  const validated = headers.etag !== undefined || headers['last-modified'] !== undefined;

  const age = parseAge(headers.age);
  let lifetime: number | null = null;
  if (explicit !== undefined) lifetime = clampDuration((explicit - age) * 1000);
  else if (heuristic) lifetime = clampDuration((heuristicLifetime(headers) - age) * 1000);
  else if (typeof input.ttl === 'number') lifetime = input.ttl;
  if (noCache) lifetime = 0;

  const swr = deltaSeconds(cc.get('stale-while-revalidate'));
  const sie = deltaSeconds(cc.get('stale-if-error'));
  // Stale serving needs permission (RFC 9111 §4.2.4): none after no-cache or must-revalidate, and a response
  // stale on arrival only with its own stale-while-revalidate or stale-if-error.
  const mayServeStale =
    !noCache && !mustRevalidate && (lifetime !== 0 || swr !== undefined || sie !== undefined);
  if (lifetime === 0 && !validated && (!mayServeStale || (swr ?? 0) === 0)) {
    return { store: false, reason: 'stale on arrival, without a validator to revalidate it' };
  }
  let freshness: Freshness;
  if (mayServeStale) {
    freshness = {
      ...(lifetime === null ? {} : { ttl: lifetime }),
      ...(swr === undefined ? {} : { staleWhileRevalidate: clampDuration(swr * 1000) }),
      ...(sie === undefined ? {} : { staleIfError: clampDuration(sie * 1000) }),
    };
  } else {
    // Kept (never served stale: the middleware checks) so the next request can revalidate it.
    freshness = {
      ...(lifetime === null ? {} : { ttl: lifetime }),
      staleWhileRevalidate: 0,
      staleIfError: validated ? REVALIDATION_RETENTION : 0,
    };
  }
  return { store: true, freshness, vary, lifetime, mayServeStale };
}
