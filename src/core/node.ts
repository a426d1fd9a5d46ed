import { randomBytes } from 'node:crypto';
import type { CacheEvents } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import type { Codec, Entry, LocalTier, Lookup, SharedTier } from '../types.js';
import type { Clock } from './clock.js';
import { readEnvelope, type StoredEntry } from './envelope.js';
import type { Generations } from './generations.js';
import type { TagBook } from './tag-book.js';
import type { Waiters } from './waiters.js';

/** The node's event emitter, as the core sees it. */
export type Emit = <E extends keyof CacheEvents>(event: E, ...args: CacheEvents[E]) => void;

/** What the get-or-load flow needs from the node it runs on. */
export interface NodeState {
  readonly id: string;
  readonly options: ResolvedOptions;
  readonly codec: Codec;
  readonly clock: Clock;
  readonly local: LocalTier;
  /** Redis behind deadlines and the breaker, or the in-process lease table without Redis. */
  readonly shared: SharedTier;
  /** The in-process lease table used while Redis is unreachable. */
  readonly fallback: SharedTier;
  readonly waiters: Waiters;
  /** Change stamps of keys and tags: a fill whose request predates a change is refused. */
  readonly generations: Generations;
  readonly tags: TagBook;
  /** Early refresh margin (see `EarlyRefreshOptions`); undefined when early refresh is off. */
  readonly refreshMargin: number | undefined;
  /** Size of an entry for the local tier's size bound, given its encoded value. */
  sizeOf(key: string, encoded: string): number;
  readonly emit: Emit;
  /** Emits `hit` for a local hit, uncounted (the engine counts those itself, on the hot path). */
  readonly emitLocalHit: (key: string, age: number) => void;
  /** Aborted by close(); every loader's signal follows it. */
  readonly closing: AbortSignal;
}

// Unique across processes by the random part, within one by the counter: a lease token is made on every
// shared-tier read, and a fresh random one each time cost a tenth of the read's CPU.
const TOKEN_PREFIX = randomBytes(9).toString('base64url');
let tokenCounter = 0;

/** A fresh lease token; also the id of the entry its holder writes. */
export function newToken(): string {
  tokenCounter += 1;
  return `${TOKEN_PREFIX}${tokenCounter.toString(36)}`;
}

/**
 * An answer made from an entry, remembering until when (local time) it may still be handed to a caller who
 * asks now. A private field rather than a side table: this is made on every shared hit.
 */
class Served<T> implements Lookup<T> {
  readonly value: T;
  readonly status: Lookup<T>['status'];
  readonly tier: Lookup<T>['tier'];
  readonly age: number;
  readonly #validUntil: number;

  constructor(entry: Entry, status: Lookup<T>['status'], tier: Lookup<T>['tier'], now: number) {
    this.value = entry.value as T;
    this.status = status;
    this.tier = tier;
    this.age = Math.max(0, now - entry.createdAt);
    this.#validUntil = status === 'stale' ? Math.max(entry.staleUntil, entry.errorUntil) : entry.freshUntil;
  }

  /** Until when `answer` may be handed out; answers not made from an entry (a miss, a load) always may. */
  static validUntil(answer: Lookup<unknown>): number {
    return answer instanceof Served ? answer.#validUntil : Number.POSITIVE_INFINITY;
  }
}

/** The answer for a served entry. */
export function served<T>(
  entry: Entry,
  status: Lookup<T>['status'],
  tier: Lookup<T>['tier'],
  now: number,
): Lookup<T> {
  return new Served<T>(entry, status, tier, now);
}

/**
 * Whether an answer may go to a caller that started at `startedAt`: one who joined a shared lookup after the
 * value it is bringing back expired must ask again (a load's own result is always fresh).
 */
export function validFor(answer: Lookup<unknown>, startedAt: number): boolean {
  return startedAt < Served.validUntil(answer);
}

/** When an early refresh of an entry fresh until `freshUntil` is due, on the same clock; Infinity when off. */
export function refreshMoment(
  createdAt: number,
  freshUntil: number,
  loadMs: number,
  margin: number | undefined,
): number {
  if (margin === undefined) return Number.POSITIVE_INFINITY;
  // Never more than half the ttl ahead: a loader slower than the ttl must not refresh back to back.
  return freshUntil - Math.min(loadMs + margin, (freshUntil - createdAt) / 2);
}

/**
 * A stored entry placed on this node's clock: `offset` is how far local time is ahead of the server's (see
 * `serverOffset`), `now` the local time it enters the local tier.
 */
export function toEntry(stored: StoredEntry, offset: number, now: number, margin: number | undefined): Entry {
  const createdAt = stored.createdAt + offset;
  const freshUntil = stored.freshUntil + offset;
  return {
    value: stored.value,
    id: stored.id,
    createdAt,
    freshUntil,
    staleUntil: stored.staleUntil + offset,
    errorUntil: stored.errorUntil + offset,
    refreshAt: refreshMoment(createdAt, freshUntil, stored.loadMs, margin),
    loadMs: stored.loadMs,
    tags: stored.tags,
    tagStamps: stored.tagStamps,
    filledAt: now,
  };
}

/** Decodes a stored entry; unreadable data is undefined (plus an `error` event). */
export function decodeStored(
  node: NodeState,
  key: string,
  raw: string,
  report = true,
): StoredEntry | undefined {
  try {
    return readEnvelope(key, raw, node.codec);
  } catch (error) {
    if (report) node.emit('error', error as Error);
    return undefined;
  }
}

/**
 * Puts an entry in the local tier unless something invalidated its key or one of its tags on this node
 * after `stamp` (taken when the request that produced it was sent): such an answer may predate the change.
 */
export function fill(node: NodeState, key: string, entry: Entry, encoded: string, stamp: number): boolean {
  const generations = node.generations;
  if (generations.keyChangedSince(key, stamp)) return false;
  for (const tag of entry.tags) if (generations.tagChangedSince(tag, stamp)) return false;
  if (entry.tags.length > 0 && node.tags.voids(entry.tags, entry.tagStamps) !== false) return false;
  node.local.set(key, entry, node.sizeOf(key, encoded));
  return true;
}

/**
 * Whether an entry obtained when the generations read `stamp` may still be served: nothing invalidated its
 * key or one of its tags on this node since. A stale value held across an await is checked again with this.
 */
export function stillValid(node: NodeState, key: string, entry: Entry, stamp: number): boolean {
  const generations = node.generations;
  if (generations.keyChangedSince(key, stamp)) return false;
  for (const tag of entry.tags) if (generations.tagChangedSince(tag, stamp)) return false;
  return true;
}

/** The entry if nothing invalidated it on this node since `stamp`, else undefined. */
export function validEntry(
  node: NodeState,
  key: string,
  entry: Entry | undefined,
  stamp: number,
): Entry | undefined {
  return entry !== undefined && stillValid(node, key, entry, stamp) ? entry : undefined;
}

/** Awaits a side operation whose failure the caller should not see; reports it as an `error` event. */
export async function quietly<T>(node: NodeState, operation: Promise<T>): Promise<T | undefined> {
  try {
    return await operation;
  } catch (error) {
    node.emit('error', error as Error);
    return undefined;
  }
}

/** The newer of two entries, either of which may be missing. */
export function newer(stored: Entry | undefined, local: Entry | undefined): Entry | undefined {
  if (stored === undefined) return local;
  if (local === undefined) return stored;
  return stored.createdAt >= local.createdAt ? stored : local;
}
