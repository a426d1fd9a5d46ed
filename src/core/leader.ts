import { CacheError, EncodeError } from '../errors.js';
import { applyAdaptivePolicy, type CallPolicy } from '../options.js';
import type { Entry, EntryPolicy, Loader, Lookup, SharedTier } from '../types.js';
import { runWithDeadline, settleByDeadline } from './deadline.js';
import { writeEnvelope } from './envelope.js';
import { encodeMessage } from './messages.js';
import { type NodeState, quietly, served, voidedInShared } from './node.js';
import { canServeOnError, retention, timeline } from './policy.js';

/**
 * The leader's side of a load: run the loader under its deadlines while keeping the lease alive, then store
 * through the lease-checked commit, or give the lease back (with a fail-safe backoff) on failure.
 */
export class Leader {
  readonly #node: NodeState;
  /** Controllers of the loaders running now, aborted together on close (one listener, not one per load). */
  readonly #running = new Set<AbortController>();

  constructor(node: NodeState) {
    this.#node = node;
    node.closing.addEventListener(
      'abort',
      () => {
        for (const controller of this.#running) controller.abort(node.closing.reason);
      },
      { once: true },
    );
  }

  /** Leader: run the loader under deadlines, then store through a lease-checked commit. */
  async lead<T>(
    key: string,
    leaseToken: string,
    loader: Loader<T>,
    policy: CallPolicy,
    stale: Entry | undefined,
    tier: SharedTier,
    { background, scheduleFrom }: { background: boolean; scheduleFrom?: number | undefined },
  ): Promise<Lookup<unknown>> {
    const node = this.#node;
    const controller = new AbortController();
    this.#running.add(controller);
    let adaptive: EntryPolicy = {};
    const context = {
      key,
      signal: controller.signal,
      stale: stale?.value as T | undefined,
      hasStale: stale !== undefined,
      background,
      setPolicy(policy: EntryPolicy) {
        adaptive = { ...adaptive, ...policy };
      },
    };
    const renewal = tier.distributed ? this.#keepLease(key, leaseToken, tier) : undefined;
    const startedAt = Date.now();
    const done = () => {
      clearInterval(renewal);
      this.#running.delete(controller);
    };

    const load = (async (): Promise<Lookup<unknown>> => {
      let value: T;
      try {
        value = await runWithDeadline(key, () => loader(context), policy.hardTimeout, controller);
      } catch (error) {
        done();
        return this.#failed(key, leaseToken, error, stale, tier);
      }
      done();
      if (value === undefined) {
        await quietly(
          node,
          tier.abandon(key, leaseToken, 0, encodeMessage({ kind: 'empty', node: node.id, key })),
        );
        node.emit('load', { key, duration: Date.now() - startedAt, stored: false, background });
        return { value: undefined, status: 'miss', tier: 'load', age: 0 };
      }
      let encoded: string;
      let entry: Entry;
      try {
        encoded = node.codec.encode(value);
        const effective = applyAdaptivePolicy(policy, adaptive);
        const now = Date.now();
        const decoded = node.codec.decode(encoded);
        entry = {
          value: decoded,
          id: leaseToken,
          createdAt: now,
          ...timeline(effective, decoded === null, now, node.options.jitter, Math.random(), scheduleFrom),
          loadMs: Math.max(1, now - startedAt),
          tags: effective.tags,
        };
      } catch (cause) {
        const error = cause instanceof CacheError ? cause : new EncodeError(key, cause);
        return this.#failed(key, leaseToken, error, undefined, tier);
      }
      const stored = await this.#commit(key, leaseToken, entry, encoded, tier);
      node.emit('load', { key, duration: entry.loadMs, stored, background });
      return { value: entry.value, status: 'miss', tier: 'load', age: 0 };
    })();

    if (policy.softTimeout > 0 && stale !== undefined && canServeOnError(stale, Date.now()) && !background) {
      // Past the soft deadline the callers get the stale value; the load keeps running and is stored.
      return settleByDeadline(load, policy.softTimeout, () => {
        const now = Date.now();
        node.emit('stale', { key, age: now - stale.createdAt, reason: 'soft-timeout' });
        return served(stale, 'stale', 'local', now);
      });
    }
    return load;
  }

  /** Renews the lease every third of its life; reports (and stops) once it is lost. */
  #keepLease(key: string, leaseToken: string, tier: SharedTier): NodeJS.Timeout {
    const node = this.#node;
    const timer: NodeJS.Timeout = setInterval(
      () => {
        tier.renew(key, leaseToken, node.options.leaseTtl).then(
          (held) => {
            if (!held) {
              clearInterval(timer);
              node.emit('leaseLost', { key });
            }
          },
          (error: unknown) => node.emit('error', error as Error),
        );
      },
      Math.max(1, Math.floor(node.options.leaseTtl / 3)),
    );
    timer.unref();
    return timer;
  }

  async #commit(
    key: string,
    leaseToken: string,
    entry: Entry,
    encoded: string,
    tier: SharedTier,
  ): Promise<boolean> {
    const node = this.#node;
    const epoch = node.epoch();
    const raw = writeEnvelope(entry, encoded);
    const now = Date.now();
    if (entry.tags.length > 0 && (await voidedInShared(node, entry))) {
      await quietly(
        node,
        tier.abandon(key, leaseToken, 0, encodeMessage({ kind: 'invalidated', node: node.id, key })),
      );
      return false;
    }
    const notice = encodeMessage({
      kind: 'loaded',
      node: node.id,
      key,
      ...(raw.length <= node.options.inlineValueLimit ? { raw } : {}),
    });
    let stored: boolean;
    try {
      stored = await tier.commit(key, leaseToken, raw, retention(entry, now), notice);
    } catch (error) {
      // Redis failed mid-write (out of memory, say): the value still serves this node, bounded by
      // maxLocalAge. Releasing the lease and announcing the value may still work (DEL and PUBLISH are allowed
      // when writes are not), so followers get it now instead of waiting out the lease.
      node.emit('error', error as Error);
      if (node.epoch() === epoch) node.local.set(key, entry, node.sizeOf(key, encoded));
      await quietly(node, tier.abandon(key, leaseToken, 0, notice));
      return false;
    }
    if (!stored) return false;
    // A tag invalidation may have landed between the check and the commit: undo our own write then.
    if (entry.tags.length > 0 && (await voidedInShared(node, entry))) {
      await quietly(
        node,
        tier.remove([key], (k) => encodeMessage({ kind: 'invalidated', node: node.id, key: k })),
      );
      return false;
    }
    if (node.epoch() === epoch) node.local.set(key, entry, node.sizeOf(key, encoded));
    return true;
  }

  async #failed(
    key: string,
    leaseToken: string,
    error: unknown,
    stale: Entry | undefined,
    tier: SharedTier,
  ): Promise<Lookup<unknown>> {
    const node = this.#node;
    node.emit('loadError', { key, error });
    const now = Date.now();
    const useStale = stale !== undefined && canServeOnError(stale, now);
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    await quietly(
      node,
      tier.abandon(
        key,
        leaseToken,
        useStale ? node.options.failSafeBackoff : 0,
        encodeMessage({ kind: 'failed', node: node.id, key, name, message }),
      ),
    );
    if (useStale) {
      node.emit('stale', { key, age: now - stale.createdAt, reason: 'error' });
      return served(stale, 'stale', 'local', now);
    }
    throw error;
  }
}
