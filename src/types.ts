/**
 * The ports between the get-or-load core and the adapters (memory, Redis). `core/` depends on these
 * interfaces only, never on ioredis, lru-cache or express.
 */

/**
 * Turns values into text for the shared tier and back. Both tiers use the same codec: every caller gets
 * `decode(encode(value))`, so `cached<T>` returns a `T` only if that round trip keeps the type.
 */
export interface Codec {
  /** Must throw for values it cannot represent faithfully: the cache then stores nothing (`EncodeError`). */
  encode(value: unknown): string;
  /** Throws for text it cannot read: the entry is then a miss (plus an `error` event) and is reloaded. */
  decode(text: string): unknown;
}

/** Per-entry policy: how long a value is fresh and how long it may still be served stale. */
export interface EntryPolicy {
  /** Milliseconds the value is fresh. From `setPolicy`, 0 means stale at once (kept for its stale windows). */
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

/** What `loadMany` receives besides the keys. */
export interface BatchLoaderContext<T> {
  /**
   * Aborted once every key of the batch has been given up on: each key's `hardTimeout` passed, or the cache
   * closed.
   */
  readonly signal: AbortSignal;
  /** The stale values this node holds for some of the keys (keys without one are absent). */
  readonly stale: ReadonlyMap<string, T>;
  /** True when no caller awaits any of the keys: stale-while-revalidate or early refreshes only. */
  readonly background: boolean;
  /**
   * Adaptive policy, like `LoaderContext.setPolicy`, for the values of `keys`.
   * @default every key of the batch
   */
  setPolicy(policy: EntryPolicy, keys?: readonly string[]): void;
}

/**
 * What `loadMany` returns: a Map from key to value, or an array holding one value per key in the order of
 * the keys it was given. A key the Map lacks (or every key, for an array of the wrong length) fails with
 * `BatchResultError`; the other keys are stored. A value of `undefined` is returned but not cached, as with
 * `cached`.
 */
export type BatchResult<T> = ReadonlyMap<string, T> | readonly T[];

/**
 * Loads the values of the keys this node holds the leases of (never keys that are fresh, or loaded by
 * another node or another call here). May be called more than once per `cachedMany` call: keys whose lease
 * comes later (after waiting for a node that gave up) are loaded in a later call.
 */
export type BatchLoader<T> = (
  keys: readonly string[],
  context: BatchLoaderContext<T>,
) => BatchResult<T> | Promise<BatchResult<T>>;

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
  /**
   * Milliseconds since the value was loaded, on this node's clock. A `hit` Redis judged fresh can be older
   * than its ttl by the time its reply is read (a busy process, a slow network): the age is measured when the
   * answer is made, and Redis's moment is placed on this node's clock conservatively (never too late).
   */
  readonly age: number;
}

/**
 * An entry in this node's local tier. Times are on this node's monotonic clock (see `Clock`), placed there
 * from Redis server time when the entry was read, so no other machine's clock is involved.
 */
export interface Entry<T = unknown> {
  readonly value: T;
  /** Unique per write (the lease token of the load that wrote it); identifies "the entry I saw" to Redis. */
  readonly id: string;
  /** When the value was produced. */
  readonly createdAt: number;
  readonly freshUntil: number;
  readonly staleUntil: number;
  readonly errorUntil: number;
  /** When this node asks for an early refresh (Infinity when early refresh is off). */
  readonly refreshAt: number;
  /** The load-time estimate carried by the entry; an early refresh starts this long (plus a margin) ahead. */
  readonly loadMs: number;
  readonly tags: readonly string[];
  /** Per tag, the invalidation stamp known when the load started: a later stamp voids the entry. */
  readonly tagStamps: readonly number[];
  /** When this node put it in its local tier (for `maxLocalAge`). */
  readonly filledAt: number;
}

/** What the shared tier should do with the stored entry when asked for the lease. */
export type AcquireMode =
  /** Take the lease if the entry is missing or stale, or fresh but due for an early refresh. */
  | 'read'
  /** Take the lease even from its holder (takeover after `waitTimeout`), unless the entry is fresh. */
  | 'force'
  /** Early refresh of the entry `id`: take the lease if that entry is still the one stored and nobody holds it. */
  | 'refresh'
  /** The entry `id` is unusable here (voided by a tag, undecodable): treat it as missing. */
  | 'replace'
  /** The backoff left by the failed load `id` was overtaken by a tag invalidation: take the lease if it stands. */
  | 'lift';

/** What `acquire` should do. */
export interface AcquireRequest {
  readonly token: string;
  readonly leaseTtl: number;
  readonly mode: AcquireMode;
  /** The entry meant by `refresh` and `replace`, the failed load's token for `lift`. */
  readonly id?: string;
  /**
   * Early refresh: a fresh entry with less than its load-time estimate plus this margin to live is due for
   * a refresh, and the first reader takes the lease for it. Undefined turns early refresh off.
   */
  readonly refreshMargin: number | undefined;
}

/** One key's part of a batched `acquire`. */
export interface KeyedAcquire {
  readonly key: string;
  readonly request: AcquireRequest;
}

/** The outcome of one shared-tier read that takes the lease when the entry is missing, stale or due. */
export interface SharedRead {
  /** The stored text, or null when there is none (or it was of the wrong Redis type). */
  readonly raw: string | null;
  /**
   * `fresh`: nothing taken (the entry is fresh, or due but already being refreshed). `leader`: this caller
   * now holds the lease (the entry may still be fresh: then this is an early refresh). `follower`: another
   * caller holds it. `backoff`: the last load failed and nobody may load until the backoff ends.
   */
  readonly role: 'fresh' | 'leader' | 'follower' | 'backoff';
  /** Remaining lease (follower) or backoff time, in milliseconds. */
  readonly remaining: number;
  /** The server's clock when the script ran. */
  readonly serverNow: number;
  /** With `follower`: the holder's lease token, which its result message will carry. */
  readonly holder?: string;
  /** With `backoff`: the failure notice stored with it. */
  readonly failure?: string;
  /** Set when something unreadable sat under the key (e.g. a Redis type we never write); `raw` is null. */
  readonly problem?: string;
}

/** A value to store. The script dates it with the server's clock. */
export interface WriteRequest {
  /** The entry id: the lease token for a commit, a fresh id for `set`. */
  readonly id: string;
  /** Load time, tags and encoded value (see `writeTail`). */
  readonly tail: string;
  /** Milliseconds since the value was produced, taken off the server time to date it. */
  readonly elapsed: number;
  readonly ttl: number;
  readonly staleWhileRevalidate: number;
  readonly staleIfError: number;
}

/**
 * The shared tier: entries, leases, tag stamps and the atomic operations on them. Every write publishes its
 * notice in the same atomic step (the notices are built by the core: see `core/messages.ts`).
 */
export interface SharedTier {
  /** False for the in-process stand-in used without Redis. */
  readonly distributed: boolean;
  acquire(key: string, request: AcquireRequest): Promise<SharedRead>;
  /**
   * `acquire` for many distinct keys at once, answered in request order: one round trip per set of keys that
   * one script may touch (all keys on a single Redis; each hash-tag group on a Cluster), sent together.
   */
  acquireMany(requests: readonly KeyedAcquire[]): Promise<readonly SharedRead[]>;
  /**
   * Stores the value only while its id (the lease token) still holds the lease, releases it and publishes
   * `noticeHead` followed by the server time and, if it is at most `inlineLimit` characters, the stored text.
   */
  commit(
    key: string,
    write: WriteRequest,
    noticeHead: string,
    inlineLimit: number,
  ): Promise<{ stored: boolean; serverNow: number }>;
  /**
   * Gives the lease back (holding it as a backoff marker carrying `notice` for `backoff` ms, if > 0) and
   * publishes `notice`, only while `token` holds it. Returns whether it did.
   */
  abandon(key: string, token: string, backoff: number, notice: string): Promise<boolean>;
  /** Extends the lease while `token` still holds it. */
  renew(key: string, token: string, leaseTtl: number): Promise<boolean>;
  /**
   * The stored text under `key` by the cheapest read there is (a plain GET, or one MGET for the reads of
   * a tick: no script, no server time); null when nothing is stored, undefined when what is stored cannot
   * be read that way (a value of another Redis type: `read` reports it). A read sent with others cannot
   * tell another type from nothing, and gives null: the lease script that follows a miss reports it.
   */
  get(key: string): Promise<string | null | undefined>;
  /**
   * Which server clock stamps the entries of `key` (an integer below 1,024): keys of one domain live on one
   * server. A single Redis is one domain; a Cluster has one per hash-tag group.
   */
  clockDomain(key: string): number;
  /** Reads an entry and the server's time without touching the lease. */
  read(key: string): Promise<{ raw: string | null; serverNow: number; problem?: string }>;
  /** `set`: stores unconditionally (Redis's order of arrival decides), revokes any lease, publishes `notice`. */
  write(key: string, write: WriteRequest, notice: string): Promise<{ serverNow: number }>;
  /** Deletes entries and revokes their leases, then publishes `notice(key)` for each. */
  remove(keys: readonly string[], notice: (key: string) => string): Promise<void>;
  /**
   * Gives the tag a new invalidation stamp, later than any before, kept at least `lifetime` ms; publishes
   * `noticeHead` followed by the stamp. Returns the stamp.
   */
  invalidateTag(tag: string, noticeHead: string, lifetime: number): Promise<number>;
  /** The tags' current stamps (0: never invalidated; undefined: the record is unreadable). */
  tagStamps(tags: readonly string[]): Promise<readonly (number | undefined)[]>;
  /** Like `tagStamps`, and keeps each tag's record at least `lifetime` ms (an entry carrying it may live that long). */
  touchTags(tags: readonly string[], lifetime: number): Promise<readonly number[]>;
  close(): Promise<void>;
}

/** The message bus that carries `loaded`, `failed`, invalidations and heartbeats between nodes. */
export interface Bus {
  /** Starts delivery. `onLost` runs whenever messages may have been lost (disconnect, resubscribe). */
  subscribe(onMessage: (message: string) => void, onLost: (reason: string) => void): Promise<void>;
  /** Publishes where only this node's own subscription hears it (heartbeats: O(1) per node, not O(fleet)). */
  beat(message: string): Promise<void>;
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
