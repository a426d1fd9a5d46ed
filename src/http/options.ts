import { InvalidOptionError } from '../errors.js';
import { unknownOption } from '../options.js';

/**
 * Options of the HTTP cache, the same for every adapter. Durations are milliseconds. `Req` is the
 * framework's request type, which `userKey` receives.
 */
export interface HttpCacheOptions<Req> {
  /**
   * How long a response stays fresh when it carries no freshness of its own (no `s-maxage`, `max-age` or
   * `Expires`). Unset: the cache's `ttl`. `'heuristic'` leaves such responses to RFC 9111 §4.2.2, as a
   * reverse proxy in front of an origin that states its own freshness would: 10% of the time since
   * `Last-Modified` (at most a day), and not stored at all without `Last-Modified`.
   * @default undefined
   */
  ttl?: number | 'heuristic';
  /**
   * Status codes that may be stored. A status must also be one RFC 9111 lets a shared cache store: 200, 203,
   * 204, 300, 301, 308, 404, 405, 410, 414 and 501 always; 302, 303 and 307 only with explicit freshness.
   * @default [200]
   */
  statuses?: readonly number[];
  /**
   * Largest body kept, in bytes. A longer response still reaches its client whole, but buffering stops at
   * this size and nothing is stored.
   * @default 1048576
   */
  maxBodySize?: number;
  /**
   * After a response for a key turns out uncacheable, requests for that key skip coalescing for this long
   * and run the handler at once (hit-for-miss). 0 turns it off: every miss waits for the running one first.
   * @default 5000
   */
  hitForMiss?: number;
  /**
   * Sort query parameters by name before keying, so `?a=1&b=2` and `?b=2&a=1` share an entry. Off by
   * default because some apps read parameters in order.
   * @default false
   */
  sortQuery?: boolean;
  /**
   * Opts a route in to caching requests that carry `Authorization` or `Cookie`: return a string naming the
   * user (it becomes part of the key, so users never share an entry) or `undefined` to let the request
   * bypass the cache. It is called for every request, so it may also split anonymous traffic. Entries keyed
   * by user are treated like a private cache's: `Cache-Control: private` may be stored, `Set-Cookie` never.
   * @default undefined
   */
  userKey?: (req: Req) => string | undefined;
  /**
   * Keeps this middleware's entries apart from another app's. Keys hold the host name (not the port: the
   * nodes of a fleet listen on ports of their own), path and query, under the cache's `prefix`; two apps
   * that share one cache, or one Redis and prefix, and answer to the same host name need different
   * namespaces (or prefixes). Unsafe requests invalidate within their namespace.
   * @default ''
   */
  namespace?: string;
  /**
   * The target list of RFC 9213: targeted cache-control fields this cache obeys, most specific first. The
   * first one a response carries with a valid value replaces its `Cache-Control` and `Expires` for this
   * cache (browsers and other caches still follow `Cache-Control`). An empty list turns this off.
   * @default ['CDN-Cache-Control']
   */
  targetedHeaders?: readonly string[];
  /**
   * Whether the fields on the target list reach clients. RFC 9213 §3: a CDN typically forwards them for
   * caches further down; set false when nothing downstream uses them.
   * @default true
   */
  forwardTargetedHeaders?: boolean;
  /**
   * Longest a background revalidation (stale-while-revalidate, early refresh) may run the route before it
   * is abandoned and the stale entry kept.
   * @default 30000
   */
  revalidationTimeout?: number;
}

/** Every option with its default filled in. */
export interface ResolvedResponseOptions<Req = never> {
  readonly ttl: number | 'heuristic' | undefined;
  readonly statuses: ReadonlySet<number>;
  readonly maxBodySize: number;
  readonly hitForMiss: number;
  readonly sortQuery: boolean;
  readonly userKey: ((req: Req) => string | undefined) | undefined;
  readonly revalidationTimeout: number;
  readonly namespace: string;
  /** Lower case. */
  readonly targetedHeaders: readonly string[];
  readonly forwardTargetedHeaders: boolean;
}

/** The defaults of the HTTP cache options, in one place. */
export const RESPONSE_CACHE_DEFAULTS = Object.freeze({
  statuses: Object.freeze([200]) as readonly number[],
  maxBodySize: 1_048_576,
  hitForMiss: 5_000,
  sortQuery: false,
  revalidationTimeout: 30_000,
  targetedHeaders: Object.freeze(['CDN-Cache-Control']) as readonly string[],
  forwardTargetedHeaders: true,
  namespace: '',
});

// The cache rejects longer durations: Node timers cannot hold them.
const MAX_DURATION = 2_147_483_647;
// A ttl only sets a stored timeline, as in the cache's own options: up to about a century.
const MAX_LIFETIME = 3_155_760_000_000;

const KNOWN = new Set([
  'ttl',
  'statuses',
  'maxBodySize',
  'hitForMiss',
  'sortQuery',
  'userKey',
  'revalidationTimeout',
  'targetedHeaders',
  'forwardTargetedHeaders',
  'namespace',
]);

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

// RFC 9110 §5.1 field-name: a token.
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function targetList(value: unknown): readonly string[] {
  if (value === undefined) return RESPONSE_CACHE_DEFAULTS.targetedHeaders.map((name) => name.toLowerCase());
  if (!Array.isArray(value) || !value.every((name) => typeof name === 'string' && FIELD_NAME.test(name))) {
    throw new InvalidOptionError('targetedHeaders', value, 'an array of header field names');
  }
  return Object.freeze(value.map((name: string) => name.toLowerCase()));
}

function statusList(value: unknown): ReadonlySet<number> {
  if (value === undefined) return new Set(RESPONSE_CACHE_DEFAULTS.statuses);
  // A stored 206 or 304 is not a whole response: replaying it to another request would be wrong.
  const valid = (status: unknown) =>
    typeof status === 'number' &&
    Number.isInteger(status) &&
    status >= 200 &&
    status <= 599 &&
    status !== 206 &&
    status !== 304;
  if (!Array.isArray(value) || value.length === 0 || !value.every(valid)) {
    throw new InvalidOptionError(
      'statuses',
      value,
      'a non-empty array of status codes from 200 to 599 (not 206 or 304)',
    );
  }
  return new Set(value as number[]);
}

function ttlOption(value: unknown): number | 'heuristic' | undefined {
  if (value === undefined || value === 'heuristic') return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_LIFETIME) {
    throw new InvalidOptionError('ttl', value, `an integer from 1 to ${MAX_LIFETIME} or 'heuristic'`);
  }
  return value;
}

/** Validates the options once, when the middleware (or wrapper) is created. */
export function resolveResponseOptions<Req>(input: unknown): ResolvedResponseOptions<Req> {
  if (input === undefined) input = {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidOptionError('options', input, 'an object');
  }
  const options = input as Record<string, unknown>;
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name)) throw unknownOption(name, options[name], KNOWN);
  }
  const o = options as HttpCacheOptions<Req>;
  if (o.sortQuery !== undefined && typeof o.sortQuery !== 'boolean') {
    throw new InvalidOptionError('sortQuery', o.sortQuery, 'a boolean');
  }
  if (o.forwardTargetedHeaders !== undefined && typeof o.forwardTargetedHeaders !== 'boolean') {
    throw new InvalidOptionError('forwardTargetedHeaders', o.forwardTargetedHeaders, 'a boolean');
  }
  if (o.namespace !== undefined && typeof o.namespace !== 'string') {
    throw new InvalidOptionError('namespace', o.namespace, 'a string');
  }
  if (o.userKey !== undefined && typeof o.userKey !== 'function') {
    throw new InvalidOptionError('userKey', o.userKey, 'a function');
  }
  const d = RESPONSE_CACHE_DEFAULTS;
  return Object.freeze({
    ttl: ttlOption(o.ttl),
    statuses: statusList(o.statuses),
    maxBodySize: integer('maxBodySize', o.maxBodySize, d.maxBodySize, 0, 2 ** 30),
    hitForMiss: integer('hitForMiss', o.hitForMiss, d.hitForMiss, 0, MAX_DURATION),
    sortQuery: o.sortQuery ?? d.sortQuery,
    userKey: o.userKey,
    revalidationTimeout: integer(
      'revalidationTimeout',
      o.revalidationTimeout,
      d.revalidationTimeout,
      1,
      MAX_DURATION,
    ),
    targetedHeaders: targetList(o.targetedHeaders),
    forwardTargetedHeaders: o.forwardTargetedHeaders ?? d.forwardTargetedHeaders,
    namespace: o.namespace ?? d.namespace,
  });
}

/** Clamps a freshness lifetime into what the cache accepts (a century of `max-age` must not fail the load). */
export function clampDuration(ms: number): number {
  return Math.min(MAX_LIFETIME, Math.max(0, Math.floor(ms)));
}
