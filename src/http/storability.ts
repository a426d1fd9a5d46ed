import type { OutgoingHttpHeaders } from 'node:http';
import CachePolicy from 'http-cache-semantics';
import { parseHttpDate } from './dates.js';
import { varyNames } from './key.js';
import { clampDuration } from './options.js';

/**
 * Whether a response may be stored, and for how long, judged as RFC 9111 asks of a shared cache. The
 * storability rules and the freshness lifetime come from http-cache-semantics; this module adds what a
 * cache in front of many users must refuse on top (cookies, event streams, `no-cache` it cannot revalidate).
 */

/** The freshness the cache entry gets; unset fields fall back to the cache's own options. */
export interface Freshness {
  readonly ttl?: number;
  readonly staleWhileRevalidate?: number;
  readonly staleIfError?: number;
}

/** Store, with this freshness and these Vary fields; or do not, for this reason. */
export type Verdict =
  | { readonly store: true; readonly freshness: Freshness; readonly vary: readonly string[] }
  | { readonly store: false; readonly reason: string };

/** A response about to be sent, with what the judgement depends on. */
export interface Judged {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
  /** The request URL (path and query) and host, for http-cache-semantics. */
  readonly url: string;
  readonly host: string;
  /** False for entries keyed by user: they follow private-cache rules. */
  readonly shared: boolean;
  readonly statuses: ReadonlySet<number>;
  /** Freshness for responses that state none. */
  readonly ttl: number | undefined;
}

function flat(headers: OutgoingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) result[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  const cacheControl = result['cache-control'];
  if (cacheControl !== undefined) result['cache-control'] = lowerDirectiveNames(cacheControl);
  return result;
}

/**
 * Cache-Control directive names are case-insensitive (RFC 9111 §5.2), but the rules library matches them
 * as written: `No-Store` or `Private` would be stored and served to everyone. Names are lowered before
 * anything reads the header (values, and field names inside quotes, are left as they are or lowered
 * harmlessly: field names are case-insensitive too).
 */
function lowerDirectiveNames(header: string): string {
  return header.replace(/(^|,)(\s*)([^=,\s]+)/g, (_all, comma: string, space: string, name: string) => {
    return `${comma}${space}${name.toLowerCase()}`;
  });
}

function directives(header: string | undefined): Map<string, string | true> {
  const result = new Map<string, string | true>();
  for (const part of (header ?? '').split(',')) {
    const [name = '', value] = part.split('=', 2);
    const key = name.trim().toLowerCase();
    if (key) result.set(key, value === undefined ? true : value.trim().replace(/^"|"$/g, ''));
  }
  return result;
}

function seconds(value: string | true | undefined): number {
  const n = typeof value === 'string' ? Number.parseInt(value, 10) : 0;
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** Freshness lifetime in seconds from `Expires` minus `Date` (RFC 9111 §4.2.1); 0 for an invalid date. */
function expiresLifetime(headers: Record<string, string>): number {
  const expires = parseHttpDate(headers.expires);
  if (expires === undefined) return 0;
  const date = parseHttpDate(headers.date) ?? Date.now();
  return Math.max(0, (expires - date) / 1000);
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

  const policy = new CachePolicy(
    { method: 'GET', url: input.url, headers: { host: input.host } },
    { status: input.status, headers },
    // No heuristic freshness: a response without any falls back to the middleware's `ttl`.
    { shared: input.shared, cacheHeuristic: 0, immutableMinTimeToLive: 0 },
  );
  if (!policy.storable()) return { store: false, reason: 'not storable (Cache-Control or status)' };

  const cc = directives(headers['cache-control']);
  // Checked here as well, whatever the rules library makes of the header: these protect users' data.
  if (cc.has('no-store')) return { store: false, reason: 'no-store' };
  if (input.shared && cc.has('private')) return { store: false, reason: 'private' };
  const pragmaNoCache = !headers['cache-control'] && /no-cache/i.test(headers.pragma ?? '');
  // no-cache means "revalidate every time"; the handler is the origin, so that is the same as not storing.
  if (cc.has('no-cache') || pragmaNoCache) return { store: false, reason: 'no-cache' };

  const mustRevalidate = cc.has('must-revalidate') || (input.shared && cc.has('proxy-revalidate'));
  const staleWhileRevalidate = mustRevalidate ? 0 : seconds(cc.get('stale-while-revalidate')) * 1000;
  const staleIfError = mustRevalidate ? 0 : seconds(cc.get('stale-if-error')) * 1000;
  const explicit =
    cc.has('max-age') ||
    (input.shared && cc.has('s-maxage')) ||
    headers.expires !== undefined ||
    (input.shared && cc.has('proxy-revalidate'));

  let ttl: number | undefined = input.ttl;
  if (explicit) {
    // With no max-age to go by, Expires decides, read strictly: an invalid date is already expired.
    const byExpires =
      !cc.has('max-age') && !(input.shared && cc.has('s-maxage')) && headers.expires !== undefined;
    const lifetime = byExpires ? expiresLifetime(headers) : policy.maxAge();
    ttl = clampDuration((lifetime - policy.age()) * 1000);
    if (ttl < 1) {
      // Already stale: only worth storing when it may be served stale while one refresh runs.
      if (staleWhileRevalidate === 0)
        return { store: false, reason: 'already stale (max-age=0 or past Expires)' };
      ttl = 1;
    }
  }
  const freshness: Freshness = {
    ...(ttl === undefined ? {} : { ttl }),
    ...(cc.has('stale-while-revalidate') || mustRevalidate
      ? { staleWhileRevalidate: clampDuration(staleWhileRevalidate) }
      : {}),
    ...(cc.has('stale-if-error') || mustRevalidate ? { staleIfError: clampDuration(staleIfError) } : {}),
  };
  return { store: true, freshness, vary };
}
