import { channels } from '../observability/channels.js';
import type { CallPolicy } from '../options.js';
import type { Entry, Loader } from '../types.js';
import type { NodeState } from './node.js';
import { isFresh } from './policy.js';

/** Returned by `freshLocalValue` when the fast path does not apply. */
export const NOT_FRESH: unique symbol = Symbol('herdcache.notFresh');

// Held in a constant: the local hit reads one property of it, not two.
const hitChannel = channels.hit;

/**
 * What a lookup can answer from this node's memory alone, without a promise: the local hit paths, and
 * their count. The get-or-load machine extends it with everything that needs the shared tier.
 */
export abstract class LocalReads {
  readonly #node: NodeState;
  /** Infinite without Redis: then nothing can be invalidated behind this node's back. */
  readonly #maxLocalAge: number;
  /** Fresh local hits so far, counted here because the hot path cannot afford an event per hit. */
  localHits = 0;
  /** Set by the cache while anyone listens to `hit`. */
  hitObserved = false;

  constructor(node: NodeState) {
    this.#node = node;
    this.#maxLocalAge = node.shared.distributed ? node.options.maxLocalAge : Number.POSITIVE_INFINITY;
  }

  /** Starts a background refresh of `entry`, due for early refresh (once per entry and node). */
  protected abstract refreshEarly<T>(key: string, entry: Entry, loader: Loader<T>, policy: CallPolicy): void;

  /** A local entry this node may serve from memory: young enough, and not voided by a tag. */
  localEntry(key: string, now: number): Entry | undefined {
    const node = this.#node;
    const entry = node.local.get(key);
    if (entry === undefined) return undefined;
    if (now - entry.filledAt > this.#maxLocalAge) return undefined;
    if (entry.tags.length > 0 && node.tags.voids(entry.tags, entry.tagStamps) !== false) {
      // Void, or a tag this node no longer knows: the shared tier decides.
      node.local.delete(key);
      return undefined;
    }
    return entry;
  }

  /**
   * The hot path: a fresh, untagged local entry young enough to trust, returned without allocating.
   * Anything else returns NOT_FRESH and takes the full `lookup`.
   */
  freshLocalValue<T>(key: string, loader: Loader<T>, policy: CallPolicy): unknown {
    const entry = this.#node.local.get(key);
    if (entry === undefined || entry.tags.length > 0) return NOT_FRESH;
    const now = this.#node.clock.now();
    if (now >= entry.freshUntil || now - entry.filledAt > this.#maxLocalAge) return NOT_FRESH;
    if (now >= entry.refreshAt) this.refreshEarly(key, entry, loader, policy);
    this.countLocalHit(key, now - entry.createdAt);
    return entry.value;
  }

  /**
   * A fresh, untagged local value that is not yet due for early refresh (counted as a local hit if `count`);
   * else NOT_FRESH. For callers with no single loader to refresh with (a batch): anything due goes the full way.
   */
  freshLocalOnly(key: string, count: boolean): unknown {
    const entry = this.#node.local.get(key);
    if (entry === undefined || entry.tags.length > 0) return NOT_FRESH;
    const now = this.#node.clock.now();
    if (now >= entry.refreshAt || now >= entry.freshUntil || now - entry.filledAt > this.#maxLocalAge) {
      return NOT_FRESH;
    }
    if (count) this.countLocalHit(key, now - entry.createdAt);
    return entry.value;
  }

  /**
   * A fresh local entry not yet due for early refresh, offered to `serve` synchronously: counted as a local
   * hit, as `lookup` counts one, only when `serve` takes it (returns true). False when there is none, or when
   * `serve` declines and the caller goes on to the full `lookup`. Lets a caller answer a hit without a promise; `context` is
   * handed to `serve`, so the caller needs no closure per call.
   */
  localHit<C>(key: string, serve: (value: unknown, age: number, context: C) => boolean, context: C): boolean {
    const now = this.#node.clock.now();
    const entry = this.localEntry(key, now);
    if (entry === undefined || !isFresh(entry, now) || now >= entry.refreshAt) return false;
    if (!serve(entry.value, Math.max(0, now - entry.createdAt), context)) return false;
    this.countLocalHit(key, now - entry.createdAt);
    return true;
  }

  protected countLocalHit(key: string, age: number): void {
    this.localHits += 1;
    if (this.hitObserved) this.#node.emitLocalHit(key, age);
    if (hitChannel.hasSubscribers) publishLocalHit(this.#node, key, age);
  }
}

/** Kept out of the local hit's own body, so that stays small enough for the compiler to inline. */
function publishLocalHit(node: NodeState, key: string, age: number): void {
  hitChannel.publish({ cache: node.options.prefix, key, age });
}
