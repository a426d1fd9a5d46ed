import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CircuitBreaker } from './core/breaker.js';
import { type Clock, systemClock } from './core/clock.js';
import { Generations } from './core/generations.js';
import { GetOrLoad } from './core/get-or-load.js';
import { GetOrLoadMany } from './core/get-or-load-many.js';
import { GuardedTier } from './core/guarded-tier.js';
import { exposeLocalHits } from './core/local-hits.js';
import { NOT_FRESH } from './core/local-reads.js';
import { encodeMessage } from './core/messages.js';
import { Subscription } from './core/subscription.js';
import { TagBook } from './core/tag-book.js';
import { Waiters } from './core/waiters.js';
import { Writes } from './core/writes.js';
import {
  CacheClosedError,
  InvalidArgumentError,
  isDuringKnownOutage,
  RedisUnavailableError,
} from './errors.js';
import type { CacheEvents } from './events.js';
import { LruLocalTier, NoLocalTier } from './memory/local-tier.js';
import { MemoryNetwork } from './memory/memory-network.js';
import { channels, traced, tracing } from './observability/channels.js';
import { registerCache } from './observability/registry.js';
import {
  type CacheOptions,
  type CallOptions,
  type ResolvedOptions,
  resolveCallPolicy,
  resolveOptions,
  type SetOptions,
} from './options.js';
import { connectRedis } from './redis/connect.js';
import type { BatchLoader, Bus, Loader, LocalTier, Lookup, SharedTier } from './types.js';

/** Counters since the cache was created, for dashboards and benchmarks. */
export type CacheStats = { readonly [E in keyof CacheEvents]: number } & {
  /** Messages on our channel that were not ours (foreign publishers, garbage); ignored. */
  readonly foreignMessages: number;
  /** Entries in the local tier now. */
  readonly localSize: number;
};

/**
 * Test seam: run several caches in one process as a fleet over an in-memory network instead of Redis, on a
 * clock of the test's choosing.
 * @internal
 */
export interface Transport {
  /** With `bus`: the shared tier to use instead of Redis or the in-process stand-in. */
  readonly shared?: SharedTier;
  readonly bus?: Bus;
  readonly clock?: Clock;
}

function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0)
    throw new InvalidArgumentError('key', key, 'a non-empty string');
}

const EVENTS: readonly (keyof CacheEvents)[] = [
  'hit',
  'stale',
  'miss',
  'load',
  'loadError',
  'wait',
  'takeover',
  'leaseLost',
  'invalidate',
  'invalidateTag',
  'localFlush',
  'breakerOpen',
  'breakerClose',
  'error',
];

// The tags a node remembers the stamps of, at least (more if the local tier holds more entries).
const MIN_KNOWN_TAGS = 10_000;

/**
 * A two-tier read-through cache whose misses are loaded once across the whole fleet. Create it with
 * `createCache`. Methods are bound: `const { cached } = createCache()` works.
 */
export class Cache extends EventEmitter<CacheEvents> {
  readonly #options: ResolvedOptions;
  readonly #id = randomBytes(8).toString('base64url');
  readonly #local: LocalTier;
  readonly #shared: SharedTier;
  readonly #bus: Bus;
  readonly #waiters: Waiters;
  readonly #engine: GetOrLoad;
  readonly #many: GetOrLoadMany;
  readonly #writes: Writes;
  readonly #subscription: Subscription;
  readonly #closing = new AbortController();
  readonly #counts = new Map<string, number>();
  readonly #subscribed: Promise<void>;
  readonly #unregister: () => void;
  #closed = false;

  /** Prefer `createCache(options)`. */
  constructor(options: CacheOptions = {}, transport?: Transport) {
    super();
    this.#options = resolveOptions(options);
    // Whether anyone listens to `hit` is tracked here rather than asked on every local hit.
    const untyped = this as EventEmitter;
    untyped.on('newListener', (event: string | symbol) => {
      if (event === 'hit') this.#engine.hitObserved = true;
    });
    untyped.on('removeListener', (event: string | symbol) => {
      if (event === 'hit') this.#engine.hitObserved = this.listenerCount('hit') > 0;
    });
    const o = this.#options;
    const clock = transport?.clock ?? systemClock;
    this.#local = o.local === false ? new NoLocalTier() : new LruLocalTier(o.local);
    // Without Redis (or while it is unreachable) an in-process lease table keeps the same flow working.
    const inProcess = new MemoryNetwork({ retainValues: false, now: () => Math.floor(clock.now()) });
    const fallback = inProcess.tier();
    let shared: SharedTier;
    if (transport?.shared && transport.bus) {
      shared = transport.shared;
      this.#bus = transport.bus;
    } else if (o.redis !== undefined) {
      const parts = connectRedis(o.redis, o.prefix, this.#id, o.redisTimeout, (error) =>
        this.#emit('error', error),
      );
      shared = parts.tier;
      this.#bus = parts.bus;
    } else {
      shared = fallback;
      this.#bus = inProcess.bus();
    }
    const breaker = shared.distributed
      ? new CircuitBreaker(o.breaker.failureThreshold, o.breaker.cooldown, clock, (open, failures) =>
          open ? this.#emit('breakerOpen', { failures }) : this.#emit('breakerClose'),
        )
      : undefined;
    this.#shared = breaker
      ? new GuardedTier(shared, breaker, o.redisTimeout, clock, (key, token) =>
          encodeMessage({ kind: 'released', node: this.#id, key, token }),
        )
      : shared;
    this.#waiters = new Waiters(clock);
    const generations = new Generations();
    const sizeOf = o.local === false ? undefined : o.local.sizeOf;
    const node = {
      id: this.#id,
      options: o,
      codec: o.codec,
      clock,
      local: this.#local,
      shared: this.#shared,
      fallback,
      waiters: this.#waiters,
      generations,
      tags: new TagBook(generations, Math.max(MIN_KNOWN_TAGS, o.local === false ? 0 : (o.local.max ?? 0))),
      refreshMargin: o.earlyRefresh === false ? undefined : o.earlyRefresh.margin,
      sizeOf: sizeOf
        ? (key: string, encoded: string) => sizeOf(encoded, key)
        : (_: string, encoded: string) => encoded.length,
      emit: <E extends keyof CacheEvents>(event: E, ...args: CacheEvents[E]) => this.#emit(event, ...args),
      emitLocalHit: (key: string, age: number) => this.emit('hit', { key, tier: 'local', age }),
      closing: this.#closing.signal,
    };
    this.#engine = new GetOrLoad(node);
    exposeLocalHits(
      this,
      (key, serve, context) => !this.#closed && this.#engine.localHit(key, serve, context),
    );
    this.#many = new GetOrLoadMany(node, this.#engine);
    this.#writes = new Writes(node);
    this.#unregister = registerCache(o.prefix, this.#engine, this.#local);
    this.#subscription = new Subscription(node, this.#bus, this.#engine, () => {
      this.#counts.set('foreignMessages', (this.#counts.get('foreignMessages') ?? 0) + 1);
    });
    this.#subscribed = this.#subscription.start().catch((error: unknown) => {
      // Closing before the subscription came up rejects it; that is not news.
      if (!this.#closed) this.#emit('error', error as Error);
    });
    if (this.#shared.distributed && o.heartbeatInterval > 0) {
      this.#subscription.startHeartbeat(o.heartbeatInterval, () => breaker?.isOpen ?? false);
    }
  }

  /**
   * Resolves once the pub/sub subscription is established (useful in tests and at boot). Rejects with
   * `RedisUnavailableError` if that takes longer than `timeout` ms; the cache works meanwhile (without
   * pushed wake-ups) and keeps trying.
   */
  readonly ready = (timeout = 10_000): Promise<void> => {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new RedisUnavailableError(`The pub/sub subscription was not up within ${timeout} ms`)),
        timeout,
      );
      this.#subscribed.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  };

  /**
   * Returns the cached value for `key`, or runs `loader` to produce it: once per key across every process
   * sharing the Redis and prefix, while other callers wait for that result or get the stale value.
   */
  readonly cached = <T>(key: string, loader: Loader<T>, options?: CallOptions): Promise<T> => {
    // A fresh local hit with the cache's own policy skips validation-free work and the Lookup object.
    if (options === undefined && !this.#closed && typeof loader === 'function') {
      const value = this.#engine.freshLocalValue(key, loader, this.#options);
      if (value !== NOT_FRESH) return Promise.resolve(value as T);
    }
    return this.lookup(key, loader, options).then((lookup) => lookup.value);
  };

  /** Like `cached`, but also tells how the value was served (status, tier, age). */
  readonly lookup = <T>(key: string, loader: Loader<T>, options?: CallOptions): Promise<Lookup<T>> => {
    // Bad input rejects like every other failure instead of throwing synchronously.
    try {
      if (this.#closed) throw new CacheClosedError();
      assertKey(key);
      if (typeof loader !== 'function') throw new InvalidArgumentError('loader', loader, 'a function');
      return this.#engine.lookup(key, loader, resolveCallPolicy(this.#options, options));
    } catch (error) {
      return Promise.reject(error);
    }
  };

  /**
   * `cached` for many keys at once. Fresh keys are served as usual; the others are read, and their leases
   * taken, in one round trip per script group (one on a single Redis, one per hash-tag group touched on a
   * Cluster). `loadMany` is called with only the keys this node now leads, and returns their values as a Map
   * or as an array in the order of the keys it was given; keys another node is loading are awaited as
   * `cached` awaits them. Every guarantee of `cached` holds per key: one load per key across the fleet, an
   * invalidation during the load wins, stale windows, tags, early refresh, deadlines.
   *
   * Resolves to the values in the order of `keys` (a key given twice is looked up once). If any key fails,
   * rejects with the error of the first failed key in that order, once every key has settled; `lookupMany`
   * tells each key's outcome.
   */
  readonly cachedMany = async <T>(
    keys: readonly string[],
    loadMany: BatchLoader<T>,
    options?: CallOptions,
  ): Promise<T[]> => {
    // Every key fresh in the local tier (the common case for a hot batch): no per-key flow at all.
    if (options === undefined && !this.#closed && Array.isArray(keys) && typeof loadMany === 'function') {
      const values = this.#freshLocalValues<T>(keys);
      if (values !== undefined) return values;
    }
    const outcomes = await this.lookupMany(keys, loadMany, options);
    return outcomes.map((outcome) => {
      if (outcome.status === 'rejected') throw outcome.reason;
      return outcome.value.value;
    });
  };

  /** The values of `keys` if every one is a fresh local hit not due for refresh, else undefined. */
  #freshLocalValues<T>(keys: readonly string[]): T[] | undefined {
    const values: T[] = [];
    for (const key of keys) {
      if (typeof key !== 'string' || key.length === 0) return undefined;
      const value = this.#engine.freshLocalOnly(key, false);
      if (value === NOT_FRESH) return undefined;
      values.push(value as T);
    }
    // Counted only once all are known to be hits: otherwise the full path counts them.
    for (const key of keys) this.#engine.freshLocalOnly(key, true);
    return values;
  }

  /**
   * Like `cachedMany`, but tells each key's outcome, in the order of `keys`: how its value was served
   * (status, tier, age), or why it failed. Rejects only for invalid arguments or a closed cache.
   */
  readonly lookupMany = <T>(
    keys: readonly string[],
    loadMany: BatchLoader<T>,
    options?: CallOptions,
  ): Promise<PromiseSettledResult<Lookup<T>>[]> => {
    try {
      if (this.#closed) throw new CacheClosedError();
      if (!Array.isArray(keys)) throw new InvalidArgumentError('keys', keys, 'an array of non-empty strings');
      keys.forEach((key: unknown, index) => {
        if (typeof key !== 'string' || key.length === 0) {
          throw new InvalidArgumentError(`keys[${index}]`, key, 'a non-empty string');
        }
      });
      if (typeof loadMany !== 'function') throw new InvalidArgumentError('loadMany', loadMany, 'a function');
      return this.#many.lookupMany(keys, loadMany, resolveCallPolicy(this.#options, options));
    } catch (error) {
      return Promise.reject(error);
    }
  };

  /** The fresh value for `key` from either tier, or undefined. Never loads, never takes a lease. */
  readonly get = async <T>(key: string): Promise<T | undefined> => {
    if (this.#closed) throw new CacheClosedError();
    assertKey(key);
    return (await this.#engine.peek(key)) as T | undefined;
  };

  /**
   * Stores a value on every tier. Redis orders writes by arrival: a `set` that reaches Redis after a load
   * committed replaces its value, and one that reaches it first revokes the load's lease, so the load is
   * stored nowhere. Every other node drops its copy. Rejects with `RedisUnavailableError` if Redis could not
   * be written; this node then drops its copy too (the write may still land later).
   */
  readonly set = async <T>(key: string, value: T, options?: SetOptions): Promise<void> => {
    if (this.#closed) throw new CacheClosedError();
    assertKey(key);
    await this.#writes.set(key, value, resolveCallPolicy(this.#options, options));
  };

  /**
   * Deletes keys from every tier on every node and revokes loads in flight for them: a load that started
   * before this call is never stored. Rejects with `RedisUnavailableError` if Redis could not be reached;
   * this node's local tier is cleared either way.
   */
  readonly invalidate = async (keys: string | readonly string[]): Promise<void> => {
    if (this.#closed) throw new CacheClosedError();
    const list = typeof keys === 'string' ? [keys] : keys;
    if (!Array.isArray(list)) throw new InvalidArgumentError('keys', keys, 'a string or an array of strings');
    list.forEach(assertKey);
    if (list.length === 0) return;
    const context = () => ({ cache: this.#options.prefix, keys: list });
    await traced(tracing.invalidate, context, () => this.#writes.invalidate(list));
  };

  /**
   * Invalidates every value carrying any of these tags, on every node, with the same rule as `invalidate`:
   * a load that started before this call is not stored.
   */
  readonly invalidateTag = async (tags: string | readonly string[]): Promise<void> => {
    if (this.#closed) throw new CacheClosedError();
    const list = typeof tags === 'string' ? [tags] : tags;
    if (!Array.isArray(list) || !list.every((tag) => typeof tag === 'string' && tag.length > 0)) {
      throw new InvalidArgumentError('tags', tags, 'a non-empty string or an array of them');
    }
    if (list.length === 0) return;
    const context = () => ({ cache: this.#options.prefix, tags: list });
    await traced(tracing.invalidate, context, () => this.#writes.invalidateTags(list));
  };

  /** Counters of every event since creation, plus bus garbage and the local tier's size. */
  readonly stats = (): CacheStats => {
    const result: Record<string, number> = {
      foreignMessages: this.#counts.get('foreignMessages') ?? 0,
      localSize: this.#local.size,
    };
    for (const event of EVENTS) result[event] = this.#counts.get(event) ?? 0;
    result.hit = (result.hit ?? 0) + this.#engine.localHits;
    return result as CacheStats;
  };

  /**
   * Stops timers, rejects every waiting call with `CacheClosedError`, aborts running loaders' signals and
   * closes the connections herdcache opened. A client passed in stays open. Later calls reject too.
   */
  readonly close = async (): Promise<void> => {
    if (this.#closed) return;
    this.#closed = true;
    this.#unregister();
    this.#subscription.close();
    this.#closing.abort(new CacheClosedError());
    this.#waiters.notifyAll({ kind: 'closed' });
    // Not waiting for the subscription: with Redis unreachable since start it would never come.
    await Promise.allSettled([this.#bus.close(), this.#shared.close()]);
  };

  #emit<E extends keyof CacheEvents>(event: E, ...args: CacheEvents[E]): void {
    this.#counts.set(event, (this.#counts.get(event) ?? 0) + 1);
    if (channels.event.hasSubscribers) channels.event.publish({ cache: this.#options.prefix, event, args });
    if (event === 'error') {
      // An unobserved 'error' must never throw out of the cache; and while the breaker is open, every call
      // that could not reach Redis is the outage `breakerOpen` announced, not news worth an event each.
      if (this.listenerCount('error') === 0 || isDuringKnownOutage(args[0] as Error)) return;
    }
    (this.emit as (event: E, ...args: CacheEvents[E]) => boolean)(event, ...args);
  }
}

/** Creates a cache. Throws `InvalidOptionError` for invalid options. */
export function createCache(options: CacheOptions = {}): Cache {
  return new Cache(options);
}
