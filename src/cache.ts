import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CircuitBreaker } from './core/breaker.js';
import { writeEnvelope } from './core/envelope.js';
import { GetOrLoad, NOT_FRESH } from './core/get-or-load.js';
import { GuardedTier } from './core/guarded-tier.js';
import { encodeMessage, parseMessage } from './core/messages.js';
import { retention, timeline } from './core/policy.js';
import { Waiters } from './core/waiters.js';
import { CacheClosedError, EncodeError, InvalidArgumentError, RedisUnavailableError } from './errors.js';
import type { CacheEvents } from './events.js';
import { LruLocalTier, NoLocalTier } from './memory/local-tier.js';
import { MemoryNetwork } from './memory/memory-network.js';
import {
  type CacheOptions,
  type CallOptions,
  type ResolvedOptions,
  resolveCallPolicy,
  resolveOptions,
  type SetOptions,
} from './options.js';
import { connectRedis } from './redis/connect.js';
import type { Bus, Entry, Loader, LocalTier, Lookup, SharedTier } from './types.js';

/** Counters since the cache was created, for dashboards and benchmarks. */
export type CacheStats = { readonly [E in keyof CacheEvents]: number } & {
  /** Messages on our channel that were not ours (foreign publishers, garbage); ignored. */
  readonly foreignMessages: number;
  /** Entries in the local tier now. */
  readonly localSize: number;
};

/**
 * Test seam: run several caches in one process as a fleet over an in-memory network instead of Redis.
 * @internal
 */
export interface Transport {
  readonly shared: SharedTier;
  readonly bus: Bus;
}

function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new InvalidArgumentError('key', key, 'a string');
}

/**
 * A two-tier read-through cache whose misses are loaded once across the whole fleet. Create it with
 * `createCache`. Methods are bound: `const { cached } = createCache()` works.
 */
export class Cache extends EventEmitter<CacheEvents> {
  readonly #options: ResolvedOptions;
  readonly #id = randomBytes(8).toString('base64url');
  readonly #local: LocalTier;
  readonly #shared: SharedTier;
  readonly #fallback: SharedTier;
  readonly #bus: Bus;
  readonly #waiters = new Waiters();
  readonly #tagTimes = new Map<string, number>();
  readonly #engine: GetOrLoad;
  readonly #closing = new AbortController();
  readonly #counts = new Map<string, number>();
  readonly #subscribed: Promise<void>;
  #epoch = 0;
  #closed = false;
  readonly #breaker: CircuitBreaker | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  /** When our own last heartbeat came back through the subscription. */
  #beatSeenAt = 0;
  /** When Redis acknowledged a heartbeat that our subscription has not delivered yet. */
  #beatUnseenSince: number | undefined;
  /** Counts the gaps in the subscription handled so far (see `#onMessagesLost`). */
  #gaps = 0;

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
    this.#local = o.local === false ? new NoLocalTier() : new LruLocalTier(o.local);
    // Without Redis (or while it is unreachable) an in-process lease table keeps the same flow working.
    const inProcess = new MemoryNetwork(false);
    this.#fallback = inProcess.tier();
    let shared: SharedTier;
    if (transport) {
      shared = transport.shared;
      this.#bus = transport.bus;
    } else if (o.redis !== undefined) {
      const parts = connectRedis(o.redis, o.prefix, o.redisTimeout, (error) => this.#emit('error', error));
      shared = parts.tier;
      this.#bus = parts.bus;
    } else {
      shared = this.#fallback;
      this.#bus = inProcess.bus();
    }
    this.#breaker = shared.distributed
      ? new CircuitBreaker(o.breaker.failureThreshold, o.breaker.cooldown, (open, failures) =>
          open ? this.#emit('breakerOpen', { failures }) : this.#emit('breakerClose'),
        )
      : undefined;
    this.#shared = this.#breaker ? new GuardedTier(shared, this.#breaker, o.redisTimeout) : shared;
    const sizeOf = o.local === false ? undefined : o.local.sizeOf;
    this.#engine = new GetOrLoad({
      id: this.#id,
      options: o,
      codec: o.codec,
      local: this.#local,
      shared: this.#shared,
      fallback: this.#fallback,
      waiters: this.#waiters,
      tagTimes: this.#tagTimes,
      epoch: () => this.#epoch,
      sizeOf: sizeOf ? (key, encoded) => sizeOf(encoded, key) : (_key, encoded) => encoded.length,
      emit: (event, ...args) => this.#emit(event, ...args),
      emitLocalHit: (key, age) => this.emit('hit', { key, tier: 'local', age }),
      closing: this.#closing.signal,
    });
    this.#subscribed = this.#bus
      .subscribe(
        (message) => this.#onMessage(message),
        (reason) => this.#onMessagesLost(reason),
      )
      .catch((error: unknown) => {
        // Closing before the subscription came up rejects it; that is not news.
        if (!this.#closed) this.#emit('error', error as Error);
      });
    if (this.#shared.distributed && o.heartbeatInterval > 0) this.#startHeartbeat(o.heartbeatInterval);
  }

  /**
   * Resolves once the pub/sub subscription is established (useful in tests and at boot). Rejects with
   * `RedisUnavailableError` if that takes longer than `timeout` ms; the cache works meanwhile (without
   * pushed wake-ups) and keeps trying.
   */
  ready(timeout = 10_000): Promise<void> {
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
  }

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

  /** The fresh value for `key` from either tier, or undefined. Never loads, never takes a lease. */
  readonly get = async <T>(key: string): Promise<T | undefined> => {
    if (this.#closed) throw new CacheClosedError();
    assertKey(key);
    return (await this.#engine.peek(key)) as T | undefined;
  };

  /**
   * Stores a value on every tier. It wins over any load in flight for the key (whose write is then
   * rejected) and drops the key from every node's local tier. Rejects with `RedisUnavailableError` if Redis
   * could not be written; this node's local tier has the value either way.
   */
  readonly set = async <T>(key: string, value: T, options?: SetOptions): Promise<void> => {
    if (this.#closed) throw new CacheClosedError();
    assertKey(key);
    const policy = resolveCallPolicy(this.#options, options);
    let encoded: string;
    try {
      encoded = this.#options.codec.encode(value);
    } catch (cause) {
      throw new EncodeError(key, cause);
    }
    const now = Date.now();
    const decoded = this.#options.codec.decode(encoded);
    const entry: Entry = {
      value: decoded,
      id: randomBytes(12).toString('base64url'),
      createdAt: now,
      ...timeline(policy, decoded === null, now, this.#options.jitter, Math.random()),
      loadMs: 0,
      tags: policy.tags,
    };
    const raw = writeEnvelope(entry, encoded);
    const notice = encodeMessage({ kind: 'invalidated', node: this.#id, key });
    this.#epoch += 1;
    await this.#fallback.write(key, raw, retention(entry, now), notice);
    this.#local.set(key, entry, encoded.length);
    if (this.#shared.distributed) {
      await this.#onRedis(() => this.#shared.write(key, raw, retention(entry, now), notice));
    }
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
    this.#epoch += 1;
    for (const key of list) this.#local.delete(key);
    const notice = (key: string) => encodeMessage({ kind: 'invalidated', node: this.#id, key });
    await this.#fallback.remove(list, notice);
    this.#emit('invalidate', { keys: list, origin: 'local' });
    if (this.#shared.distributed) await this.#onRedis(() => this.#shared.remove(list, notice));
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
    const at = Date.now();
    this.#epoch += 1;
    for (const tag of list) this.#tagTimes.set(tag, Math.max(at, this.#tagTimes.get(tag) ?? 0));
    this.#emit('invalidateTag', { tags: list, origin: 'local' });
    if (!this.#shared.distributed) return;
    const notice = list.map((tag) => encodeMessage({ kind: 'tag', node: this.#id, tag, at }));
    // One script per tag (each announces its own tag), sent together rather than one after another.
    await this.#onRedis(async () => {
      await Promise.all(
        list.map((tag, index) => this.#shared.invalidateTags([tag], at, notice[index] as string)),
      );
    });
  };

  /** Counters of every event since creation, plus bus garbage and the local tier's size. */
  stats(): CacheStats {
    const counts = Object.fromEntries(this.#counts) as Record<string, number>;
    const events: (keyof CacheEvents)[] = [
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
    const result: Record<string, number> = {
      foreignMessages: counts.foreignMessages ?? 0,
      localSize: this.#local.size,
    };
    for (const event of events) result[event] = counts[event] ?? 0;
    result.hit = (result.hit ?? 0) + this.#engine.localHits;
    return result as CacheStats;
  }

  /**
   * Stops timers, aborts running loaders' signals and closes the connections herdcache opened. A client
   * passed in stays open. Later calls reject with `CacheClosedError`.
   */
  readonly close = async (): Promise<void> => {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#closing.abort(new CacheClosedError());
    // Not waiting for the subscription: with Redis unreachable since start it would never come.
    await Promise.allSettled([this.#bus.close(), this.#shared.close()]);
  };

  async #onRedis(operation: () => Promise<void>): Promise<void> {
    try {
      await operation();
    } catch (error) {
      this.#emit('error', error as Error);
      throw error instanceof RedisUnavailableError
        ? error
        : new RedisUnavailableError(`Redis write failed: ${(error as Error).message}`, { cause: error });
    }
  }

  #emit<E extends keyof CacheEvents>(event: E, ...args: CacheEvents[E]): void {
    this.#counts.set(event, (this.#counts.get(event) ?? 0) + 1);
    // An unobserved 'error' must never throw out of the cache.
    if (event === 'error' && this.listenerCount('error') === 0) return;
    (this.emit as (event: E, ...args: CacheEvents[E]) => boolean)(event, ...args);
  }

  #onMessage(text: string): void {
    const message = parseMessage(text);
    if (message === undefined) {
      this.#counts.set('foreignMessages', (this.#counts.get('foreignMessages') ?? 0) + 1);
      return;
    }
    const remote = message.node !== this.#id;
    switch (message.kind) {
      case 'heartbeat':
        if (!remote) {
          this.#beatSeenAt = Date.now();
          this.#beatUnseenSince = undefined;
        }
        return;
      case 'tag':
        if (remote) {
          this.#tagTimes.set(message.tag, Math.max(message.at, this.#tagTimes.get(message.tag) ?? 0));
          this.#epoch += 1;
          this.#emit('invalidateTag', { tags: [message.tag], origin: 'remote' });
        }
        return;
      case 'invalidated':
        if (remote) {
          this.#epoch += 1;
          this.#local.delete(message.key);
          this.#emit('invalidate', { keys: [message.key], origin: 'remote' });
        }
        this.#waiters.notify(message.key, { kind: 'invalidated' });
        return;
      case 'loaded':
        // Another node stored a newer value; the next read here picks it up from Redis.
        if (remote) this.#local.delete(message.key);
        this.#waiters.notify(
          message.key,
          message.raw === undefined ? { kind: 'loaded' } : { kind: 'loaded', raw: message.raw },
        );
        return;
      case 'failed':
        this.#waiters.notify(message.key, { kind: 'failed', name: message.name, message: message.message });
        return;
      case 'empty':
        this.#waiters.notify(message.key, { kind: 'empty' });
    }
  }

  /** Pub/sub is at-most-once: after any gap, invalidations may be missing, so nothing local is trusted. */
  #onMessagesLost(reason: string): void {
    if (this.#closed) return;
    this.#epoch += 1;
    this.#local.clear();
    // A beat acknowledged before the gap may have been lost in it: that says nothing about the new subscription.
    this.#gaps += 1;
    this.#beatUnseenSince = undefined;
    this.#emit('localFlush', { reason });
    // Followers may have missed their leader's message: let them ask Redis again now.
    this.#waiters.notifyAll({ kind: 'timeout' });
  }

  /**
   * Publishes a heartbeat every `interval` and expects it back on our own subscription. Redis delivers a
   * message to subscribers before it acknowledges the PUBLISH, so a beat that was acknowledged but has not
   * arrived an interval later means the subscription is dead even if its socket looks open: a silently dead
   * subscriber is detected within about three intervals.
   */
  #startHeartbeat(interval: number): void {
    const beat = encodeMessage({ kind: 'heartbeat', node: this.#id });
    let inFlight = false;
    this.#heartbeat = setInterval(() => {
      if (this.#beatUnseenSince !== undefined && Date.now() - this.#beatUnseenSince > interval) {
        this.#onMessagesLost('heartbeat missed');
        this.#bus.reconnect();
        return;
      }
      // One beat at a time, and none while the breaker keeps requests off Redis: beats must not pile up
      // behind a stalled connection, nor keep a Redis known to be down busy.
      if (inFlight || this.#breaker?.isOpen) return;
      inFlight = true;
      const sentAt = Date.now();
      const gaps = this.#gaps;
      this.#bus.publish(beat).then(
        () => {
          inFlight = false;
          // Judged only if no flush came in between (a gap already handled) and it has not arrived yet.
          if (this.#gaps === gaps && this.#beatSeenAt < sentAt) this.#beatUnseenSince ??= Date.now();
        },
        // Redis is unreachable: the request path notices that on its own; nothing to repair yet.
        () => {
          inFlight = false;
        },
      );
    }, interval);
    this.#heartbeat.unref();
  }
}

/** Creates a cache. Throws `InvalidOptionError` for invalid options. */
export function createCache(options: CacheOptions = {}): Cache {
  return new Cache(options);
}
