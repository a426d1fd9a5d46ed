import { CacheClosedError, CacheError, EncodeError } from '../errors.js';
import { traced, tracing } from '../observability/channels.js';
import { applyAdaptivePolicy, type CallPolicy } from '../options.js';
import type { Entry, EntryPolicy, Loader, Lookup, SharedTier } from '../types.js';
import { every } from './clock.js';
import { runWithDeadline, settleByDeadline } from './deadline.js';
import { writeTail } from './envelope.js';
import { encodeMessage, messageHead } from './messages.js';
import { fill, type NodeState, quietly, refreshMoment, served, stillValid } from './node.js';
import { canServeOnError, nextLoadEstimate, ttlFor } from './policy.js';
import { learnTags } from './reading.js';

/**
 * A tag record outlives every entry that carries the tag by this much, and an invalidation is kept at least
 * this long: far longer than any message takes to arrive, so a node that learns of an invalidation late still
 * finds its stamp.
 */
export const TAG_RECORD_MARGIN = 10 * 60_000;

/** How a load was started. */
export interface LoadStart {
  /** True when no caller awaits it (stale-while-revalidate, early refresh). */
  readonly background: boolean;
  /** The load-time estimate of the entry it replaces, if any. */
  readonly previousLoadMs?: number | undefined;
  /** The generation stamp when the stale entry handed to the load was obtained. */
  readonly staleSince: number;
  /** When (this node's clock) the request that took the lease was sent: the lease is no older than that. */
  readonly leaseSince: number;
}

/**
 * The leader's side of a load: run the loader under its deadlines while keeping the lease alive, then store
 * through the lease-checked commit, or give the lease back (with a fail-safe backoff) on failure.
 */
export class Leader {
  readonly #node: NodeState;
  /** Controllers of the loaders running now, aborted together on close (one listener, not one per load). */
  readonly #running = new Set<AbortController>();
  /** Rejects once the cache closes: a caller never waits on a loader past close(). */
  readonly #closed: Promise<never>;

  constructor(node: NodeState) {
    this.#node = node;
    this.#closed = new Promise<never>((_, reject) => {
      node.closing.addEventListener(
        'abort',
        () => {
          for (const controller of this.#running) controller.abort(node.closing.reason);
          reject(new CacheClosedError());
        },
        { once: true },
      );
    });
    this.#closed.catch(() => {});
  }

  /** Leader: run the loader under deadlines, then store through a lease-checked commit. */
  async lead<T>(
    key: string,
    leaseToken: string,
    loader: Loader<T>,
    policy: CallPolicy,
    stale: Entry | undefined,
    tier: SharedTier,
    start: LoadStart,
  ): Promise<Lookup<unknown>> {
    const node = this.#node;
    if (node.closing.aborted) throw new CacheClosedError();
    const stopRenewing = tier.distributed
      ? this.#keepLease(key, leaseToken, tier, start.leaseSince)
      : undefined;
    // The stamps this load records for its tags must be known before the loader reads its source.
    await learnTags(node, policy.tags, tier);
    const stamp = node.generations.stamp();
    // Announced with a failure, so that a node that knows of a later invalidation can tell it was overtaken.
    const startStamps = policy.tags.map((tag) => node.tags.known(tag) ?? -1);
    const controller = new AbortController();
    this.#running.add(controller);
    let adaptive: EntryPolicy = {};
    const context = {
      key,
      signal: controller.signal,
      stale: stale?.value as T | undefined,
      hasStale: stale !== undefined,
      background: start.background,
      setPolicy(policy: EntryPolicy) {
        adaptive = { ...adaptive, ...policy };
      },
    };
    const startedAt = node.clock.now();
    const done = () => {
      stopRenewing?.();
      this.#running.delete(controller);
    };

    const loadContext = () => ({ cache: node.options.prefix, key, background: start.background });
    const load = traced(tracing.load, loadContext, async (): Promise<Lookup<unknown>> => {
      let value: T;
      try {
        value = await runWithDeadline(node.clock, key, () => loader(context), policy.hardTimeout, controller);
      } catch (error) {
        done();
        const fallback = this.#fallbackOf(key, stale, start);
        return this.#failed(key, leaseToken, error, fallback, tier, policy.tags, startStamps);
      }
      const finishedAt = node.clock.now();
      done();
      if (value === undefined) {
        await quietly(
          node,
          tier.abandon(
            key,
            leaseToken,
            0,
            encodeMessage({ kind: 'empty', node: node.id, key, token: leaseToken }),
          ),
        );
        node.emit('load', {
          key,
          duration: finishedAt - startedAt,
          stored: false,
          background: start.background,
        });
        return { value: undefined, status: 'miss', tier: 'load', age: 0 };
      }
      let encoded: string;
      let decoded: unknown;
      let effective: CallPolicy;
      try {
        encoded = node.codec.encode(value);
        effective = applyAdaptivePolicy(policy, adaptive);
        decoded = node.codec.decode(encoded);
      } catch (cause) {
        const error = cause instanceof CacheError ? cause : new EncodeError(key, cause);
        return this.#failed(key, leaseToken, error, undefined, tier, policy.tags, startStamps);
      }
      const loadMs = nextLoadEstimate(start.previousLoadMs, finishedAt - startedAt);
      const stored = await this.#commit(key, leaseToken, tier, {
        value: decoded,
        encoded,
        policy: effective,
        loadMs,
        stamp,
        finishedAt,
      });
      node.emit('load', { key, duration: finishedAt - startedAt, stored, background: start.background });
      return {
        value: decoded,
        status: 'miss',
        tier: 'load',
        age: Math.max(0, node.clock.now() - finishedAt),
      };
    });

    const guarded = Promise.race([load, this.#closed]);
    if (
      policy.softTimeout > 0 &&
      stale !== undefined &&
      canServeOnError(stale, node.clock.now()) &&
      !start.background
    ) {
      // Past the soft deadline the callers get the stale value; the load keeps running and is stored.
      return settleByDeadline<Lookup<unknown>>(node.clock, guarded, policy.softTimeout, () => {
        // Invalidated while the load ran: nothing stands in for it, the callers wait for the load.
        if (this.#fallbackOf(key, stale, start) === undefined) return undefined;
        const now = node.clock.now();
        node.emit('stale', { key, age: now - stale.createdAt, reason: 'soft-timeout' });
        return served(stale, 'stale', 'local', now);
      });
    }
    return guarded;
  }

  /** The stale entry, if it may still stand in for the load: not invalidated here since it was obtained. */
  #fallbackOf(key: string, stale: Entry | undefined, start: LoadStart): Entry | undefined {
    return stale !== undefined && stillValid(this.#node, key, stale, start.staleSince) ? stale : undefined;
  }

  /**
   * Renews the lease every third of its life; reports (and stops) once it is lost. The schedule counts from
   * when the lease was asked for, not from when the loader starts: the steps in between (reading tag stamps,
   * a busy event loop) must not eat into the lease.
   */
  #keepLease(key: string, leaseToken: string, tier: SharedTier, leaseSince: number): () => void {
    const node = this.#node;
    const period = Math.max(1, Math.floor(node.options.leaseTtl / 3));
    let stopped = false;
    let lost = false;
    let stopEvery: (() => void) | undefined;
    const stop = () => {
      stopped = true;
      cancelFirst();
      stopEvery?.();
    };
    const renew = () => {
      tier.renew(key, leaseToken, node.options.leaseTtl).then(
        (held) => {
          // Reported (once) even if the load ended meanwhile: the lease was gone while it ran.
          if (!held && !lost) {
            lost = true;
            stop();
            node.emit('leaseLost', { key });
          }
        },
        (error: unknown) => node.emit('error', error as Error),
      );
    };
    const cancelFirst = node.clock.schedule(
      () => {
        if (stopped) return;
        renew();
        stopEvery = every(node.clock, period, renew);
      },
      Math.max(0, leaseSince + period - node.clock.now()),
    );
    return stop;
  }

  /**
   * The tag stamps the value is stored with: for each tag, the stamp known when the load started. Undefined
   * when a tag was invalidated since (the value is overtaken) or that cannot be ruled out.
   */
  async #stampsFor(tags: readonly string[], stamp: number, lifetime: number, tier: SharedTier) {
    const node = this.#node;
    const recorded: number[] = [];
    for (const tag of tags) {
      if (node.generations.tagChangedSince(tag, stamp)) return undefined;
      recorded.push(node.tags.known(tag) ?? -1);
    }
    // Keeps each tag record alive as long as this entry may be, and says whether an invalidation landed that
    // this node has not heard of yet.
    const current = await quietly(node, tier.touchTags(tags, lifetime));
    if (current === undefined) return undefined;
    let overtaken = false;
    current.forEach((now, index) => {
      const known = recorded[index] as number;
      // A tag unknown at the start is safe only if it was never invalidated at all.
      if (known === -1 ? now !== 0 : now > known) overtaken = true;
      if (known === -1 && now === 0) recorded[index] = 0;
      node.tags.learn(tags[index] as string, now);
    });
    return overtaken ? undefined : recorded;
  }

  async #commit(
    key: string,
    leaseToken: string,
    tier: SharedTier,
    load: {
      value: unknown;
      encoded: string;
      policy: CallPolicy;
      loadMs: number;
      stamp: number;
      finishedAt: number;
    },
  ): Promise<boolean> {
    const node = this.#node;
    const { policy } = load;
    const ttl = ttlFor(policy, load.value === null, node.options.jitter, Math.random());
    const keep = ttl + Math.max(policy.staleWhileRevalidate, policy.staleIfError);
    let stamps: readonly number[] = [];
    if (policy.tags.length > 0) {
      const recorded = await this.#stampsFor(policy.tags, load.stamp, keep + TAG_RECORD_MARGIN, tier);
      if (recorded === undefined) {
        // Overtaken by a tag invalidation: stored nowhere. Followers elsewhere ask again (and load anew).
        await this.#release(key, leaseToken, tier);
        return false;
      }
      stamps = recorded;
    }
    const tail = writeTail(load.loadMs, policy.tags, stamps, load.encoded);
    const sentAt = node.clock.now();
    const elapsed = Math.max(0, Math.round(sentAt - load.finishedAt));
    const write = {
      id: leaseToken,
      tail,
      elapsed,
      ttl,
      staleWhileRevalidate: policy.staleWhileRevalidate,
      staleIfError: policy.staleIfError,
    };
    // This node's copy is dated from when the loader finished, on this node's clock: never later than Redis's.
    const createdAt = sentAt - elapsed;
    const freshUntil = createdAt + ttl;
    const entry: Entry = {
      value: load.value,
      id: leaseToken,
      createdAt,
      freshUntil,
      staleUntil: freshUntil + policy.staleWhileRevalidate,
      errorUntil: freshUntil + policy.staleIfError,
      refreshAt: refreshMoment(createdAt, freshUntil, load.loadMs, node.refreshMargin),
      loadMs: load.loadMs,
      tags: policy.tags,
      tagStamps: stamps,
      filledAt: sentAt,
    };
    let stored: boolean;
    try {
      const head = messageHead('loaded', node.id, leaseToken, key);
      const commitContext = () => ({ cache: node.options.prefix, key, bytes: tail.length });
      const commit = () => tier.commit(key, write, head, node.options.inlineValueLimit);
      stored = (await traced(tracing.commit, commitContext, commit)).stored;
    } catch (error) {
      // Redis failed mid-write (out of memory, say): the value still serves this node, bounded by
      // maxLocalAge. Giving the lease back may still work (DEL and PUBLISH are allowed when writes are not),
      // so followers ask again at once instead of waiting out the lease.
      node.emit('error', error as Error);
      fill(node, key, entry, load.encoded, load.stamp);
      await this.#release(key, leaseToken, tier);
      return false;
    }
    if (stored) fill(node, key, entry, load.encoded, load.stamp);
    return stored;
  }

  /** Gives the lease back unused; its followers ask again at once. */
  async #release(key: string, leaseToken: string, tier: SharedTier): Promise<void> {
    const node = this.#node;
    const notice = encodeMessage({ kind: 'released', node: node.id, key, token: leaseToken });
    await quietly(node, tier.abandon(key, leaseToken, 0, notice));
  }

  async #failed(
    key: string,
    leaseToken: string,
    error: unknown,
    stale: Entry | undefined,
    tier: SharedTier,
    tags: readonly string[],
    stamps: readonly number[],
  ): Promise<Lookup<unknown>> {
    const node = this.#node;
    node.emit('loadError', { key, error });
    const now = node.clock.now();
    const useStale = stale !== undefined && canServeOnError(stale, now);
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    const notice = encodeMessage({
      kind: 'failed',
      node: node.id,
      key,
      token: leaseToken,
      name,
      message,
      tags,
      stamps,
    });
    await quietly(node, tier.abandon(key, leaseToken, useStale ? node.options.failSafeBackoff : 0, notice));
    if (useStale) {
      node.emit('stale', { key, age: now - stale.createdAt, reason: 'error' });
      return served(stale, 'stale', 'local', now);
    }
    throw error;
  }
}
