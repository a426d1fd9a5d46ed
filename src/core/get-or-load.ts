import { CacheClosedError } from '../errors.js';
import { isTraced, tracing } from '../observability/channels.js';
import { afterWait, tracedWait } from '../observability/trace-wait.js';
import type { CallPolicy } from '../options.js';
import type { AcquireMode, Entry, Loader, Lookup, SharedRead, SharedTier } from '../types.js';
import { idOf } from './envelope.js';
import { follow, timedOut } from './follower.js';
import { Loads, type Mode } from './loads.js';
import { LocalReads } from './local-reads.js';
import { parseMessage, remoteFailure } from './messages.js';
import { fill, type NodeState, newer, newToken, quietly, served, validEntry, validFor } from './node.js';
import { canServeOnError, canServeWhileRevalidating, isFresh } from './policy.js';
import { readStored } from './reading.js';
import { SharedReads } from './shared-reads.js';
import { SingleFlight } from './singleflight.js';

/**
 * Where a lookup asks its first lease question (a batch collecting many keys' questions into one round trip).
 * A lookup given one skips the plain read: the batched question reads and takes the lease at once.
 */
export type FirstAcquire = Pick<SharedTier, 'acquire'>;

// Woken followers re-check slightly after the lease should have expired, not exactly at it.
const LEASE_EXPIRY_MARGIN = 25;

/**
 * The get-or-load state machine: local tier, per-process single-flight, one shared-tier round trip that
 * reads and takes the lease, then leader (load, lease-checked commit) or follower (pushed wake-up, bounded
 * wait, takeover). Written against the ports only.
 */
export class GetOrLoad extends LocalReads {
  readonly #node: NodeState;
  /** Callers waiting for a value share these. */
  readonly #flights: SingleFlight<Lookup<unknown>>;
  /**
   * Background refreshes, kept apart: a refresh may end without a new value (another node is refreshing),
   * and a caller that needs one must not be handed the old value it was trying to replace.
   */
  readonly #refreshes: SingleFlight<Lookup<unknown>>;
  readonly #loads: Loads;
  /** Entries whose early refresh this node already asked for: once per entry and node. */
  readonly #refreshAsked = new WeakSet<Entry>();
  /**
   * Keys another node is refreshing while this one serves them stale, until when (local time): asking the
   * shared tier again before its result is announced would only hear "follower" again.
   */
  readonly #refreshedElsewhere = new Map<string, number>();
  /** Reads of the shared entry that take no lease. */
  readonly #sharedReads: SharedReads;

  constructor(node: NodeState) {
    super(node);
    this.#node = node;
    this.#flights = new SingleFlight(node.generations);
    this.#refreshes = new SingleFlight(node.generations);
    this.#loads = new Loads(node);
    this.#sharedReads = new SharedReads(node);
  }

  /** The whole lookup, with how the value was served. */
  lookup<T>(key: string, loader: Loader<T>, policy: CallPolicy, first?: FirstAcquire): Promise<Lookup<T>> {
    const now = this.#node.clock.now();
    const entry = this.localEntry(key, now);
    if (entry !== undefined) {
      if (isFresh(entry, now)) {
        if (now >= entry.refreshAt) this.refreshEarly(key, entry, loader, policy, first);
        this.countLocalHit(key, now - entry.createdAt);
        return Promise.resolve(served<T>(entry, 'hit', 'local', now));
      }
    }
    if (!isTraced(tracing.lookup)) return this.#beyondFresh(key, loader, policy, entry, now, first);
    const context = { cache: this.#node.options.prefix, key };
    return tracing.lookup.tracePromise(
      () => this.#beyondFresh(key, loader, policy, entry, now, first),
      context,
    );
  }

  /** A lookup the local tier cannot answer with a fresh value. */
  #beyondFresh<T>(
    key: string,
    loader: Loader<T>,
    policy: CallPolicy,
    entry: Entry | undefined,
    now: number,
    first: FirstAcquire | undefined,
  ): Promise<Lookup<T>> {
    if (entry !== undefined) {
      if (canServeWhileRevalidating(entry, now)) {
        this.#refreshInBackground(key, loader, policy, entry, { background: true }, first);
        this.#node.emit('stale', { key, age: now - entry.createdAt, reason: 'revalidate' });
        return Promise.resolve(served<T>(entry, 'stale', 'local', now));
      }
    }
    const resolve = (via?: FirstAcquire) => () =>
      this.#resolve(key, loader, policy, entry, { background: false }, via);
    return this.#flights.run(key, resolve(first)).then((answer) =>
      // A caller that joined a lookup after the value it brings back expired asks again, once.
      validFor(answer, now) ? answer : this.#flights.run(key, resolve()),
    ) as Promise<Lookup<T>>;
  }

  /** The fresh value from either tier, or undefined: no load, no lease. A shared read fills the local tier. */
  async peek(key: string): Promise<unknown> {
    const node = this.#node;
    const local = this.localEntry(key, node.clock.now());
    if (local !== undefined && isFresh(local, node.clock.now())) return local.value;
    if (!node.shared.distributed) return undefined;
    const stamp = node.generations.stamp();
    const reading = await quietly(node, this.#sharedReads.read(key, true));
    if (reading?.entry === undefined || !isFresh(reading.entry, node.clock.now())) return undefined;
    fill(node, key, reading.entry, reading.encoded, stamp);
    return reading.entry.value;
  }

  /** Another node stored a value for `key`: a stale copy here (served while it refreshed) is replaced. */
  onRemoteLoad(key: string): void {
    this.#refreshedElsewhere.delete(key);
    const entry = this.#node.local.get(key);
    if (entry !== undefined && !isFresh(entry, this.#node.clock.now())) this.#node.local.delete(key);
  }

  protected refreshEarly<T>(
    key: string,
    entry: Entry,
    loader: Loader<T>,
    policy: CallPolicy,
    first?: FirstAcquire,
  ): void {
    // Once per entry and node: if another node is already refreshing, its value arrives before expiry.
    if (this.#refreshAsked.has(entry)) return;
    this.#refreshAsked.add(entry);
    this.#refreshInBackground(key, loader, policy, entry, { background: true, refreshOf: entry.id }, first);
  }

  #refreshInBackground<T>(
    key: string,
    loader: Loader<T>,
    policy: CallPolicy,
    entry: Entry,
    mode: Mode,
    first?: FirstAcquire,
  ): void {
    if (this.#flights.has(key) || this.#refreshes.has(key)) return;
    const elsewhere = this.#refreshedElsewhere.get(key);
    if (elsewhere !== undefined) {
      if (elsewhere > this.#node.clock.now()) return;
      this.#refreshedElsewhere.delete(key);
    }
    // A failed refresh was reported (loadError) where it failed; nobody awaits this promise.
    this.#refreshes.run(key, () => this.#resolve(key, loader, policy, entry, mode, first)).catch(() => {});
  }

  /** Redis failed the call: report it and go on without Redis. */
  #degrade<T>(
    error: unknown,
    key: string,
    loader: Loader<T>,
    policy: CallPolicy,
    local: Entry | undefined,
    mode: Mode,
    since: number,
  ): Promise<Lookup<unknown>> {
    const node = this.#node;
    node.emit('error', error as Error);
    return this.#loads.degraded(key, loader, policy, validEntry(node, key, local, since), mode, since);
  }

  async #resolve<T>(
    key: string,
    loader: Loader<T>,
    policy: CallPolicy,
    local: Entry | undefined,
    mode: Mode,
    first?: FirstAcquire,
  ): Promise<Lookup<unknown>> {
    const node = this.#node;
    if (!mode.background) node.emit('miss', { key });
    // What this node knew when `local` was read: a stale value held across an await is checked against it.
    const since = node.generations.stamp();
    // A caller's first question is a plain read; the lease script runs only if that finds no fresh entry.
    if (!mode.background && node.shared.distributed && first === undefined) {
      try {
        const hit = await this.#sharedReads.freshHit(key, since);
        if (hit !== undefined) return hit;
      } catch (error) {
        return this.#degrade(error, key, loader, policy, local, mode, since);
      }
    }
    // Armed before the first question about the lease, so a message published in between is not missed.
    const armed = node.waiters.arm(key);
    let waited = false;
    const startedAt = node.clock.now();
    const giveUpAt = startedAt + node.options.waitTimeout;
    const hardAt = policy.hardTimeout > 0 ? startedAt + policy.hardTimeout : Number.POSITIVE_INFINITY;
    let request: { mode: AcquireMode; id?: string } = mode.background
      ? mode.refreshOf === undefined
        ? { mode: 'read' }
        : { mode: 'refresh', id: mode.refreshOf }
      : { mode: 'read' };
    let asker: FirstAcquire = first ?? node.shared;
    try {
      for (;;) {
        if (node.closing.aborted) throw new CacheClosedError();
        const token = newToken();
        const stamp = node.generations.stamp();
        armed.reset();
        let read: SharedRead;
        const sentAt = node.clock.now();
        try {
          read = await asker.acquire(key, {
            token,
            leaseTtl: node.options.leaseTtl,
            refreshMargin: node.refreshMargin,
            ...request,
          });
          asker = node.shared;
        } catch (error) {
          return this.#degrade(error, key, loader, policy, local, mode, since);
        }
        const offset = this.#sharedReads.learn(key, sentAt, read.serverNow);
        // The entry being replaced was reported when it was found unusable: it is no news now.
        const replacing = request.mode === 'replace' && read.raw !== null && idOf(read.raw) === request.id;
        const reading = await readStored(node, key, replacing ? null : read.raw, read.problem, offset);
        const stored = reading.entry;
        const now = node.clock.now();
        const stale = validEntry(this.#node, key, newer(stored, local), since);
        const from = stored !== undefined && stale === stored ? 'shared' : 'local';
        switch (read.role) {
          case 'fresh':
            if (stored === undefined) {
              if (reading.unusable !== undefined) {
                // Fresh to Redis but unusable here (voided by a tag, undecodable): replace that very entry.
                request = { mode: 'replace', id: reading.unusable };
                continue;
              }
              return { value: undefined, status: 'miss', tier: 'shared', age: 0 };
            }
            fill(node, key, stored, reading.encoded as string, stamp);
            if (!mode.background) node.emit('hit', { key, tier: 'shared', age: now - stored.createdAt });
            return waited
              ? afterWait(served(stored, 'hit', 'shared', now))
              : served(stored, 'hit', 'shared', now);
          case 'leader':
            return await this.#loads.lead(
              key,
              token,
              loader,
              policy,
              mode,
              reading,
              stale,
              from,
              stamp,
              since,
              now,
              sentAt,
            );
          case 'backoff': {
            const failure = parseMessage(read.failure ?? '');
            // The failure behind the backoff came from a load a tag invalidation overtook: load anew.
            if (failure?.kind === 'failed' && failure.tags.length > 0) {
              if (node.tags.voids(failure.tags, failure.stamps) !== false) {
                request = { mode: 'lift', id: failure.token };
                continue;
              }
            }
            if (stale !== undefined && canServeOnError(stale, now)) {
              node.emit('stale', { key, age: now - stale.createdAt, reason: 'backoff' });
              return served(stale, 'stale', from, now);
            }
            // The backoff exists to protect a failing origin; without a stale value there is nothing to serve.
            throw remoteFailure(key, read.failure ?? '');
          }
          case 'follower': {
            if (stale !== undefined && canServeWhileRevalidating(stale, now)) {
              this.#refreshedElsewhere.set(key, now + read.remaining);
              node.emit('stale', { key, age: now - stale.createdAt, reason: 'revalidate' });
              return served(stale, 'stale', from, now);
            }
            if (mode.background) {
              this.#refreshedElsewhere.set(key, now + read.remaining);
              return stale === undefined
                ? { value: undefined, status: 'miss', tier: 'shared', age: 0 }
                : served(stale, 'stale', from, now);
            }
            if (now >= hardAt) return timedOut(this.#node, key, policy, stale, now);
            if (now >= giveUpAt) {
              node.emit('takeover', { key });
              request = { mode: 'force' };
              continue;
            }
            // A follower holding a usable stale value waits no longer than the leader's own callers would.
            const softLeft =
              policy.softTimeout > 0 && stale !== undefined && canServeOnError(stale, now)
                ? startedAt + policy.softTimeout - now
                : Number.POSITIVE_INFINITY;
            if (stale !== undefined && softLeft <= 0) {
              node.emit('stale', { key, age: now - stale.createdAt, reason: 'soft-timeout' });
              return served(stale, 'stale', from, now);
            }
            node.emit('wait', { key });
            const wait = Math.min(
              giveUpAt - now,
              hardAt - now,
              read.remaining + LEASE_EXPIRY_MARGIN,
              softLeft,
            );
            const waiting = { cache: node.options.prefix, key, timeout: wait, offset, clock: node.clock };
            const outcome = await tracedWait(waiting, read.remaining, armed, (watched) =>
              follow(this.#node, key, watched, wait, stale, { holder: read.holder, stamp, offset, since }),
            );
            waited = true;
            if (outcome !== undefined) return afterWait(outcome);
            request = { mode: 'read' };
          }
        }
      }
    } finally {
      armed.disarm();
    }
  }
}
