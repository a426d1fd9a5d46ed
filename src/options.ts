import { appPrefix } from './app-prefix.js';
import { isIoredis } from './clients/ioredis/shape.js';
import { isNodeRedis } from './clients/node-redis/shape.js';
import { typedJsonCodec } from './codec/typed-json.js';
import { InvalidOptionError } from './errors.js';
import type {
  CacheOptions,
  CallOptions,
  EarlyRefreshOptions,
  LocalTierOptions,
  ResolvedOptions,
} from './option-types.js';
import type { EntryPolicy } from './types.js';

export type {
  BreakerOptions,
  CacheOptions,
  CallOptions,
  EarlyRefreshOptions,
  LocalTierOptions,
  ResolvedOptions,
  SetOptions,
} from './option-types.js';

/** The defaults, in one place. */
export const DEFAULTS = Object.freeze({
  prefix: 'herdcache:',
  ttl: 60_000,
  staleWhileRevalidate: 0,
  staleIfError: 0,
  jitter: 0,
  earlyRefresh: Object.freeze({ margin: 10 }),
  softTimeout: 0,
  hardTimeout: 0,
  failSafeBackoff: 1_000,
  leaseTtl: 3_000,
  waitTimeout: 10_000,
  redisTimeout: 500,
  breaker: Object.freeze({ failureThreshold: 5, cooldown: 1_000 }),
  heartbeatInterval: 1_000,
  maxLocalAge: 60_000,
  local: Object.freeze({ max: 10_000 }),
  inlineValueLimit: 0,
});

// Durations that drive a timer: longer than any timer Node accepts would silently become 1 ms.
const MAX_TIMER = 2_147_483_647;
// Durations that only set a stored timeline (ttl and the stale windows): up to about a century.
const MAX_LIFETIME = 3_155_760_000_000;

function duration(
  name: string,
  value: unknown,
  fallback: number,
  { positive = false, max = MAX_TIMER } = {},
): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' && Number.isInteger(value) && value >= (positive ? 1 : 0) && value <= max;
  if (!ok) {
    throw new InvalidOptionError(
      name,
      value,
      `an integer number of milliseconds from ${positive ? 1 : 0} to ${max}`,
    );
  }
  return value;
}

/** A ttl or stale window: not a timer, so longer than 24.8 days is fine. */
function lifetime(name: string, value: unknown, fallback: number, positive = false): number {
  return duration(name, value, fallback, { positive, max: MAX_LIFETIME });
}

/** A count (entries, failures): a positive integer up to `max`. */
function count(name: string, value: unknown, fallback: number, max = MAX_TIMER): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max)) {
    throw new InvalidOptionError(name, value, `an integer from 1 to ${max}`);
  }
  return value;
}

/** Edit distance, for "did you mean" on a misspelt option. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** The error for an option nobody knows, naming the closest known one when it is a likely typo. */
export function unknownOption(name: string, value: unknown, known: ReadonlySet<string>): InvalidOptionError {
  const leaf = name.slice(name.lastIndexOf('.') + 1);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = distance(leaf.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const hint =
    best !== undefined && bestDistance <= Math.max(2, Math.floor(leaf.length / 3))
      ? `; did you mean "${best}"?`
      : '';
  return new InvalidOptionError(name, value, `one of the known options (${[...known].join(', ')})${hint}`);
}

/** Throws for any property of `object` (an option group named `group`) that is not in `known`. */
function onlyKnown(group: string, object: Record<string, unknown>, known: ReadonlySet<string>): void {
  for (const name of Object.keys(object)) {
    if (!known.has(name)) throw unknownOption(group ? `${group}.${name}` : name, object[name], known);
  }
}

function tagList(name: string, value: unknown): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((tag) => typeof tag === 'string' && tag.length > 0)) {
    throw new InvalidOptionError(name, value, 'an array of non-empty strings');
  }
  return Object.freeze([...value]);
}

function isRedisClient(value: unknown): boolean {
  return isIoredis(value) || isNodeRedis(value);
}

const REDIS_URL = /^rediss?:\/\//;

/** `{ cluster: [urls] }` with at least one redis:// URL and nothing else. */
function isClusterConfig(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { cluster, ...rest } = value as { cluster?: unknown };
  return (
    Object.keys(rest).length === 0 &&
    Array.isArray(cluster) &&
    cluster.length > 0 &&
    cluster.every((url) => typeof url === 'string' && REDIS_URL.test(url))
  );
}

function plainObject(name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(name, value, 'an object');
  }
  return value as Record<string, unknown>;
}

const KNOWN_OPTIONS = new Set([
  'redis',
  'prefix',
  'ttl',
  'staleWhileRevalidate',
  'staleIfError',
  'nullTtl',
  'tags',
  'jitter',
  'earlyRefresh',
  'softTimeout',
  'hardTimeout',
  'failSafeBackoff',
  'leaseTtl',
  'waitTimeout',
  'redisTimeout',
  'breaker',
  'heartbeatInterval',
  'maxLocalAge',
  'local',
  'codec',
  'inlineValueLimit',
]);

/** Validates options once, at construction; throws `InvalidOptionError` naming the option and value. */
export function resolveOptions(input: unknown): ResolvedOptions {
  const options = plainObject('options', input ?? {});
  onlyKnown('', options, KNOWN_OPTIONS);
  const o = options as CacheOptions;

  if (
    o.redis !== undefined &&
    typeof o.redis !== 'string' &&
    !isRedisClient(o.redis) &&
    !isClusterConfig(o.redis)
  ) {
    throw new InvalidOptionError(
      'redis',
      o.redis,
      "a redis:// URL, { cluster: ['redis://host:port', ...] }, an ioredis Redis or Cluster, or a node-redis client or cluster",
    );
  }
  if (o.redis === '') {
    throw new InvalidOptionError(
      'redis',
      o.redis,
      'a redis:// or rediss:// URL (an empty string is often an environment variable set to nothing; leave `redis` undefined for single-process mode)',
    );
  }
  if (typeof o.redis === 'string' && !REDIS_URL.test(o.redis)) {
    throw new InvalidOptionError('redis', o.redis, 'a redis:// or rediss:// URL');
  }
  if (o.prefix !== undefined && (typeof o.prefix !== 'string' || o.prefix.length === 0)) {
    throw new InvalidOptionError('prefix', o.prefix, 'a non-empty string');
  }
  if (o.jitter !== undefined && !(typeof o.jitter === 'number' && o.jitter >= 0 && o.jitter < 1)) {
    throw new InvalidOptionError('jitter', o.jitter, 'a number from 0 up to (not including) 1');
  }

  let earlyRefresh: Required<EarlyRefreshOptions> | false = DEFAULTS.earlyRefresh;
  if (o.earlyRefresh === false) earlyRefresh = false;
  else if (o.earlyRefresh !== undefined) {
    const input = plainObject('earlyRefresh', o.earlyRefresh);
    onlyKnown('earlyRefresh', input, new Set(['margin']));
    const margin = duration('earlyRefresh.margin', input.margin, DEFAULTS.earlyRefresh.margin);
    earlyRefresh = Object.freeze({ margin });
  }

  const breakerInput = o.breaker === undefined ? {} : plainObject('breaker', o.breaker);
  onlyKnown('breaker', breakerInput, new Set(['failureThreshold', 'cooldown']));
  const breaker = {
    failureThreshold: count(
      'breaker.failureThreshold',
      breakerInput.failureThreshold,
      DEFAULTS.breaker.failureThreshold,
    ),
    cooldown: duration('breaker.cooldown', breakerInput.cooldown, DEFAULTS.breaker.cooldown, {
      positive: true,
    }),
  };

  let local: Readonly<LocalTierOptions> | false = DEFAULTS.local;
  if (o.local === false) {
    if (o.redis === undefined)
      throw new InvalidOptionError('local', false, 'a local tier when `redis` is not set');
    local = false;
  } else if (o.local !== undefined) {
    const input = plainObject('local', o.local);
    onlyKnown('local', input, new Set(['max', 'maxSize', 'sizeOf']));
    const l = input as LocalTierOptions;
    const max = count('local.max', l.max, DEFAULTS.local.max);
    if (l.maxSize !== undefined) count('local.maxSize', l.maxSize, 0, Number.MAX_SAFE_INTEGER);
    if (l.sizeOf !== undefined && typeof l.sizeOf !== 'function') {
      throw new InvalidOptionError('local.sizeOf', l.sizeOf, 'a function');
    }
    local = Object.freeze({ ...l, max });
  }

  if (o.codec !== undefined) {
    const c = plainObject('codec', o.codec);
    if (typeof c.encode !== 'function' || typeof c.decode !== 'function') {
      throw new InvalidOptionError('codec', o.codec, 'an object with encode() and decode()');
    }
  }

  return Object.freeze({
    redis: o.redis,
    // Derived only with Redis: without it nothing is shared, and no file needs reading.
    prefix: o.prefix ?? (o.redis === undefined ? DEFAULTS.prefix : appPrefix(DEFAULTS.prefix)),
    ttl: lifetime('ttl', o.ttl, DEFAULTS.ttl, true),
    staleWhileRevalidate: lifetime(
      'staleWhileRevalidate',
      o.staleWhileRevalidate,
      DEFAULTS.staleWhileRevalidate,
    ),
    staleIfError: lifetime('staleIfError', o.staleIfError, DEFAULTS.staleIfError),
    nullTtl: o.nullTtl === undefined ? undefined : lifetime('nullTtl', o.nullTtl, 0, true),
    tags: tagList('tags', o.tags),
    jitter: o.jitter ?? DEFAULTS.jitter,
    earlyRefresh,
    softTimeout: duration('softTimeout', o.softTimeout, DEFAULTS.softTimeout),
    hardTimeout: duration('hardTimeout', o.hardTimeout, DEFAULTS.hardTimeout),
    failSafeBackoff: duration('failSafeBackoff', o.failSafeBackoff, DEFAULTS.failSafeBackoff),
    leaseTtl: duration('leaseTtl', o.leaseTtl, DEFAULTS.leaseTtl, { positive: true }),
    waitTimeout: duration('waitTimeout', o.waitTimeout, DEFAULTS.waitTimeout, { positive: true }),
    redisTimeout: duration('redisTimeout', o.redisTimeout, DEFAULTS.redisTimeout, { positive: true }),
    breaker,
    heartbeatInterval: duration('heartbeatInterval', o.heartbeatInterval, DEFAULTS.heartbeatInterval),
    maxLocalAge: duration('maxLocalAge', o.maxLocalAge, DEFAULTS.maxLocalAge, { positive: true }),
    local,
    codec: o.codec ?? typedJsonCodec,
    inlineValueLimit: duration('inlineValueLimit', o.inlineValueLimit, DEFAULTS.inlineValueLimit),
  });
}

/** The effective per-entry policy of one call. */
export interface CallPolicy {
  readonly ttl: number;
  readonly staleWhileRevalidate: number;
  readonly staleIfError: number;
  readonly nullTtl: number | undefined;
  readonly tags: readonly string[];
  readonly softTimeout: number;
  readonly hardTimeout: number;
}

/** What one `cached`/`lookup` call accepts. */
const KNOWN_CALL_OPTIONS: ReadonlySet<string> = new Set([
  'ttl',
  'staleWhileRevalidate',
  'staleIfError',
  'nullTtl',
  'tags',
  'softTimeout',
  'hardTimeout',
]);

/** Merges and validates the options of one call over the cache's. */
export function resolveCallPolicy(base: ResolvedOptions, input: CallOptions | undefined): CallPolicy {
  if (input === undefined) return base;
  const object = plainObject('options', input);
  onlyKnown('', object, KNOWN_CALL_OPTIONS);
  const call = object as CallOptions;
  return {
    ttl: lifetime('ttl', call.ttl, base.ttl, true),
    staleWhileRevalidate: lifetime(
      'staleWhileRevalidate',
      call.staleWhileRevalidate,
      base.staleWhileRevalidate,
    ),
    staleIfError: lifetime('staleIfError', call.staleIfError, base.staleIfError),
    nullTtl: call.nullTtl === undefined ? base.nullTtl : lifetime('nullTtl', call.nullTtl, 0, true),
    tags: call.tags === undefined ? base.tags : tagList('tags', call.tags),
    softTimeout: duration('softTimeout', call.softTimeout, base.softTimeout),
    hardTimeout: duration('hardTimeout', call.hardTimeout, base.hardTimeout),
  };
}

/** Applies a loader's `setPolicy` over the call's policy. */
export function applyAdaptivePolicy(policy: CallPolicy, adaptive: EntryPolicy): CallPolicy {
  return {
    ...policy,
    // 0 is allowed here: a value stale at once, kept only for its stale windows (an HTTP response that must
    // be revalidated before every reuse).
    ttl: lifetime('setPolicy.ttl', adaptive.ttl, policy.ttl),
    staleWhileRevalidate: lifetime(
      'setPolicy.staleWhileRevalidate',
      adaptive.staleWhileRevalidate,
      policy.staleWhileRevalidate,
    ),
    staleIfError: lifetime('setPolicy.staleIfError', adaptive.staleIfError, policy.staleIfError),
    tags: adaptive.tags === undefined ? policy.tags : tagList('setPolicy.tags', adaptive.tags),
  };
}
