/**
 * The ports between the get-or-load core and the adapters (memory, Redis). `core/` depends on these
 * interfaces only, never on ioredis, lru-cache or express.
 */

/** Turns values into text for the shared tier and back. Both tiers use the same codec. */
export interface Codec {
  /** Must throw for values it cannot represent faithfully. */
  encode(value: unknown): string;
  decode(text: string): unknown;
}

/** Per-entry policy: how long a value is fresh and how long it may still be served stale. */
export interface EntryPolicy {
  /** Milliseconds the value is fresh. */
  ttl?: number;
  /** Milliseconds past `ttl` during which the stale value is served at once while one refresh runs. */
  staleWhileRevalidate?: number;
  /** Milliseconds past `ttl` during which the stale value is served when the loader fails. */
  staleIfError?: number;
  /** Tags for `invalidateTag`. */
  tags?: readonly string[];
}

/** What the loader receives. */
export interface LoaderContext<T> {
  /** The key being loaded. */
  readonly key: string;
  /** Aborted when `hardTimeout` passes or the cache closes; pass it to fetch, database drivers, etc. */
  readonly signal: AbortSignal;
  /** The stale value this node holds for the key, if any. */
  readonly stale: T | undefined;
  /** Whether `stale` holds a value (a cached `undefined` is impossible, a cached `null` is not). */
  readonly hasStale: boolean;
  /** True when no caller awaits this load: a stale-while-revalidate or early refresh. */
  readonly background: boolean;
  /** Adaptive policy: override ttl, stale windows or tags for the value this load returns. */
  setPolicy(policy: EntryPolicy): void;
}

/** Produces the value for a key on a miss. Runs once per key across the fleet. */
export type Loader<T> = (context: LoaderContext<T>) => T | Promise<T>;

/** How a value was served: enough for an HTTP layer to set `X-Cache` and `Age`. */
export interface Lookup<T> {
  readonly value: T;
  /**
   * `hit`: a fresh cached value. `stale`: an expired value served on purpose (revalidation, loader error,
   * soft timeout). `miss`: the value was loaded for this call, by this process or by another node it waited for.
   */
  readonly status: 'hit' | 'stale' | 'miss';
  /** Where the value came from: this process's memory, Redis, or a load. */
  readonly tier: 'local' | 'shared' | 'load';
  /** Milliseconds since the value was loaded. */
  readonly age: number;
}

/** A decoded cache entry with its timeline (absolute epoch milliseconds). */
export interface Entry<T = unknown> {
  readonly value: T;
  /** Unique per write; identifies "the entry I saw" to the shared tier. */
  readonly id: string;
  /** When the value was stored. */
  readonly createdAt: number;
  readonly freshUntil: number;
  readonly staleUntil: number;
  readonly errorUntil: number;
  /** How long the load took; the `delta` of XFetch early refresh. */
  readonly loadMs: number;
  readonly tags: readonly string[];
}

/** The outcome of one shared-tier read that takes the lease when the entry is missing or stale. */
export interface SharedRead {
  /** The stored envelope text, or null when there is none (or it was of the wrong Redis type). */
  readonly raw: string | null;
  /**
   * `fresh`: the entry is fresh, nothing taken. `leader`: this caller now holds the lease.
   * `follower`: another caller holds it. `backoff`: the last load failed and nobody may load until it ends.
   */
  readonly role: 'fresh' | 'leader' | 'follower' | 'backoff';
  /** Remaining lease (follower) or backoff time, in milliseconds. */
  readonly remaining: number;
  /** With `backoff`: the failure notice stored by the failed load. */
  readonly failure?: string;
  /** Set when something unreadable sat under the key (e.g. a Redis type we never write); `raw` is null. */
  readonly problem?: string;
}

/** What `acquire` should do. */
export interface AcquireRequest {
  readonly now: number;
  readonly token: string;
  readonly leaseTtl: number;
  /**
   * Early refresh: take the lease even though the entry is fresh, but only while the stored entry is still
   * the one with this id (someone else may have refreshed it already).
   */
  readonly refreshOf?: string;
  /** Take the lease even if another caller holds it (takeover after `waitTimeout`). */
  readonly force?: boolean;
}

/**
 * The shared tier: entries, leases and the atomic operations on them. Implementations publish the given
 * notice on the bus in the same atomic step as the write it announces.
 */
export interface SharedTier {
  /** False for the in-process stand-in used without Redis. */
  readonly distributed: boolean;
  acquire(key: string, request: AcquireRequest): Promise<SharedRead>;
  /** Stores `raw` only while `token` still holds the lease; releases it and publishes `notice`. */
  commit(key: string, token: string, raw: string, ttl: number, notice: string): Promise<boolean>;
  /** Gives the lease back after a failed load, optionally holding it as a backoff marker; publishes `notice`. */
  abandon(key: string, token: string, backoff: number, notice: string): Promise<void>;
  /** Extends the lease while `token` still holds it. */
  renew(key: string, token: string, leaseTtl: number): Promise<boolean>;
  /** Reads an entry without touching the lease. */
  read(key: string): Promise<string | null>;
  /**
   * Stores (unless the stored entry was created later: a late delivery must not overwrite newer data), revokes
   * any lease in flight, then publishes `notice`.
   */
  write(key: string, raw: string, ttl: number, notice: string): Promise<void>;
  /** Deletes entries and revokes their leases, then publishes `notice` for each. */
  remove(keys: readonly string[], notice: (key: string) => string): Promise<void>;
  /** Records a tag invalidation time and publishes `notice`. */
  invalidateTags(tags: readonly string[], at: number, notice: string): Promise<void>;
  /** Tag invalidation times, for entries read from the shared tier. */
  tagTimes(tags: readonly string[]): Promise<readonly (number | undefined)[]>;
  close(): Promise<void>;
}

/** The message bus that carries `loaded`, `failed`, invalidations and heartbeats between nodes. */
export interface Bus {
  /** Starts delivery. `onLost` runs whenever messages may have been lost (disconnect, resubscribe). */
  subscribe(onMessage: (message: string) => void, onLost: (reason: string) => void): Promise<void>;
  publish(message: string): Promise<void>;
  /** Drops and re-establishes the subscription (used when heartbeats stop arriving). */
  reconnect(): void;
  close(): Promise<void>;
}

/** The in-process tier. */
export interface LocalTier {
  get(key: string): Entry | undefined;
  /** `size` counts toward the tier's size bound, when it has one. */
  set(key: string, entry: Entry, size: number): void;
  delete(key: string): void;
  clear(): void;
  readonly size: number;
}
