/** The options' shapes, as users write them and as the cache holds them once resolved. */
import type { RedisConnection } from './redis/connect.js';
import type { Codec, EntryPolicy } from './types.js';

/**
 * Early refresh: a key that is read shortly before it expires is reloaded in the background by one node,
 * so that the new value is stored before the old one expires and nobody waits for the loader.
 */
export interface EarlyRefreshOptions {
  /**
   * How much earlier than the expected load time the refresh starts, in milliseconds. The expected load time
   * is a moving average of the key's recent loads, stored with the entry.
   * @default 10
   */
  margin?: number;
}

/** Circuit breaker around Redis. */
export interface BreakerOptions {
  /**
   * Consecutive Redis failures (errors or missed deadlines) that open the breaker.
   * @default 5
   */
  failureThreshold?: number;
  /**
   * Milliseconds the breaker stays open before one probe is let through.
   * @default 1000
   */
  cooldown?: number;
}

/** Bounds of the in-process tier (lru-cache). */
export interface LocalTierOptions {
  /**
   * Maximum number of entries.
   * @default 10000
   */
  max?: number;
  /**
   * Maximum total size, measured by `sizeOf`. Unset means no size bound.
   * @default undefined
   */
  maxSize?: number;
  /**
   * Size of one entry for `maxSize`, given its encoded text.
   * @default the encoded text's length
   */
  sizeOf?: (encoded: string, key: string) => number;
}

/** Options for `createCache`. Durations are milliseconds. */
export interface CacheOptions extends EntryPolicy {
  /**
   * Where Redis is. A client you made: an ioredis 5 or 6 `Redis` or `Cluster`, or a node-redis v5
   * `createClient()` or `createCluster()` (connected by you; it stays yours: herdcache never closes it, and
   * opens connections of its own for pub/sub). Or a Redis URL, or `{ cluster: [urls] }` for a Redis Cluster:
   * herdcache opens and closes its connections, with ioredis if it is installed, else node-redis. Unset:
   * single-process mode, same flow.
   * @default undefined
   */
  redis?: RedisConnection;
  /**
   * Prefix of every Redis key and of the pub/sub channel; caches with different prefixes never meet. The
   * default keeps apps on one Redis apart: `herdcache:` plus the `name` of the nearest package.json at or
   * above the working directory, plus `:`. Processes that must share a cache but start from different
   * packages or directories (a worker invalidating what a web app caches) need the same explicit prefix.
   * Without a named package.json it is `herdcache:` and a `HERDCACHE_SHARED_PREFIX` process warning is
   * emitted once.
   * @default `herdcache:<package name>:` with Redis, else 'herdcache:'
   */
  prefix?: string;
  /**
   * How long a loaded value is fresh.
   * @default 60000
   */
  ttl?: number;
  /**
   * Past `ttl`, the window in which the stale value is served at once while one background refresh runs.
   * @default 0
   */
  staleWhileRevalidate?: number;
  /**
   * Past `ttl`, the window in which the stale value is served if the loader fails or times out.
   * @default 0
   */
  staleIfError?: number;
  /**
   * Fresh time for a `null` result (negative caching). Unset: `ttl`.
   * @default undefined
   */
  nullTtl?: number;
  /**
   * Spreads expiry: each entry's ttl is shortened by a random fraction up to this (0 to 1) so keys written
   * together do not expire together.
   * @default 0
   */
  jitter?: number;
  /**
   * Refresh a key that is read shortly before it expires, once for the fleet, so nobody waits for its
   * loader; `false` turns it off.
   * @default { margin: 10 }
   */
  earlyRefresh?: EarlyRefreshOptions | false;
  /**
   * When a stale value exists and the loader runs longer than this, callers get the stale value and the
   * load finishes in the background. 0 turns it off.
   * @default 0
   */
  softTimeout?: number;
  /**
   * Aborts the loader's signal after this long; callers get `LoadTimeoutError` (or stale inside
   * `staleIfError`). 0 turns it off.
   * @default 0
   */
  hardTimeout?: number;
  /**
   * After a load fails while a stale value exists, the fleet serves stale and no node calls the loader for
   * this long.
   * @default 1000
   */
  failSafeBackoff?: number;
  /**
   * Lifetime of a load lease. A crashed leader is replaced after at most this long; a live one renews its
   * lease every third of it.
   * @default 3000
   */
  leaseTtl?: number;
  /**
   * Longest a follower waits for another node's load before it loads the value itself.
   * @default 10000
   */
  waitTimeout?: number;
  /**
   * Deadline of every Redis command on a request path. Past it the call degrades to the local tier.
   * @default 500
   */
  redisTimeout?: number;
  /**
   * Circuit breaker around Redis.
   * @default { failureThreshold: 5, cooldown: 1000 }
   */
  breaker?: BreakerOptions;
  /**
   * Each node publishes a heartbeat this often and flushes its local tier when its own heartbeats stop
   * coming back (a silently dead subscription). 0 turns it off.
   * @default 1000
   */
  heartbeatInterval?: number;
  /**
   * Longest the local tier serves an entry without re-reading Redis, so a lost invalidation cannot keep a
   * node stale for long. Only applies with Redis.
   * @default 60000
   */
  maxLocalAge?: number;
  /**
   * Bounds of the in-process tier; `false` keeps no values in process (Redis is required then).
   * @default { max: 10000 }
   */
  local?: LocalTierOptions | false;
  /**
   * Encodes values for Redis; every caller gets `decode(encode(value))`, from either tier and on every node,
   * so a custom codec must give back the type it was given or `cached<T>` returns something else than `T`.
   * @default typedJsonCodec (JSON that keeps Date, Map, Set, BigInt, typed arrays; plain JSON when exact)
   */
  codec?: Codec;
  /**
   * Encoded values up to this many characters ride inside the `loaded` message, so woken followers need no
   * second round trip. Every node of the fleet receives that message, waiting or not: in a large fleet the
   * bytes cost more than the round trip saved, so values stay out of it unless this is raised.
   * @default 0
   */
  inlineValueLimit?: number;
}

/** Options of one `cached`/`lookup` call; they override the cache's options for this key. */
export interface CallOptions extends EntryPolicy {
  /** See `CacheOptions.nullTtl`. */
  nullTtl?: number;
  /** See `CacheOptions.softTimeout`. */
  softTimeout?: number;
  /** See `CacheOptions.hardTimeout`. */
  hardTimeout?: number;
}

/** Options of `set`. */
export type SetOptions = EntryPolicy & { nullTtl?: number };

/** Every option with its default filled in. */
export interface ResolvedOptions {
  readonly redis: RedisConnection | undefined;
  readonly prefix: string;
  readonly ttl: number;
  readonly staleWhileRevalidate: number;
  readonly staleIfError: number;
  readonly nullTtl: number | undefined;
  readonly tags: readonly string[];
  readonly jitter: number;
  readonly earlyRefresh: Required<EarlyRefreshOptions> | false;
  readonly softTimeout: number;
  readonly hardTimeout: number;
  readonly failSafeBackoff: number;
  readonly leaseTtl: number;
  readonly waitTimeout: number;
  readonly redisTimeout: number;
  readonly breaker: Required<BreakerOptions>;
  readonly heartbeatInterval: number;
  readonly maxLocalAge: number;
  readonly local: Readonly<LocalTierOptions> | false;
  readonly codec: Codec;
  readonly inlineValueLimit: number;
}
