import { randomBytes } from 'node:crypto';
import { CacheError, DecodeError, EncodeError, LoadTimeoutError, RemoteLoadError } from '../errors.js';
import type { CacheEvents } from '../events.js';
import { applyAdaptivePolicy, type CallPolicy, type ResolvedOptions } from '../options.js';
import type {
  Codec,
  Entry,
  EntryPolicy,
  Loader,
  LocalTier,
  Lookup,
  SharedRead,
  SharedTier,
} from '../types.js';
import { CoarseClock } from './clock.js';
import { readEnvelope, writeEnvelope } from './envelope.js';
import { encodeMessage, parseMessage } from './messages.js';
import {
  canServeOnError,
  canServeWhileRevalidating,
  isFresh,
  retention,
  shouldRefreshEarly,
  timeline,
  voidedByTag,
} from './policy.js';
import { SingleFlight } from './singleflight.js';
import type { ArmedWait, Waiters } from './waiters.js';

type Emit = <E extends keyof CacheEvents>(event: E, ...args: CacheEvents[E]) => void;

/** Returned by `freshLocalValue` when the fast path does not apply. */
export const NOT_FRESH: unique symbol = Symbol('herdcache.notFresh');

// -ln(u) > 20 has probability e^-20 (about 2e-9): further from expiry than this, XFetch never fires.
const XFETCH_HORIZON = 20;

/** What the get-or-load flow needs from the node it runs on. */
export interface NodeState {
  readonly id: string;
  readonly options: ResolvedOptions;
  readonly codec: Codec;
  readonly local: LocalTier;
  /** Redis behind deadlines and the breaker, or the in-process lease table without Redis. */
  readonly shared: SharedTier;
  /** The in-process lease table used while Redis is unreachable. */
  readonly fallback: SharedTier;
  readonly waiters: Waiters;
  /** Latest known invalidation time per tag. */
  readonly tagTimes: Map<string, number>;
  /** Bumped on every invalidation this node learns of: a read that started before must not fill the local tier. */
  epoch(): number;
  /** Size of an entry for the local tier's size bound. */
  sizeOf(key: string, encoded: string): number;
  readonly emit: Emit;
  /** Counts a fresh local hit; emits `hit` only when someone listens (it runs on every hit). */
  readonly localHit: (key: string, age: number) => void;
  /** Aborted by close(); every loader's signal follows it. */
  readonly closing: AbortSignal;
}

/** What to do when another node holds the lease. */
type Mode = { background: false } | { background: true; refreshOf?: string };

// Woken followers re-check slightly after the lease should have expired, not exactly at it.
const LEASE_EXPIRY_MARGIN = 25;

function token(): string {
  return randomBytes(12).toString('base64url');
}

function served<T>(
  entry: Entry,
  status: Lookup<T>['status'],
  tier: Lookup<T>['tier'],
  now: number,
): Lookup<T> {
  return { value: entry.value as T, status, tier, age: Math.max(0, now - entry.createdAt) };
}

/**
 * The get-or-load state machine: local tier, per-process single-flight, one shared-tier round trip that
 * reads and takes the lease, then leader (load, lease-checked commit) or follower (pushed wake-up, bounded
 * wait, takeover). Written against the ports only.
 */
export class GetOrLoad {
  readonly #node: NodeState;
  readonly #flights = new SingleFlight<Lookup<unknown>>();
  readonly #clock = new CoarseClock();
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

  /** Number of keys being resolved in this process right now. */
  get inFlight(): number {
    return this.#flights.size;
  }

  /** A local entry this node may serve from memory: not voided by a tag, not older than maxLocalAge. */
  localEntry(key: string, now: number): Entry | undefined {
    const node = this.#node;
    const entry = node.local.get(key);
    if (entry === undefined) return undefined;
    if (node.shared.distributed && now - entry.createdAt > node.options.maxLocalAge) return undefined;
    if (entry.tags.length > 0 && this.#voided(entry)) {
      node.local.delete(key);
      return undefined;
    }
    return entry;
  }

  #voided(entry: Entry): boolean {
    return entry.tags.some((tag) => voidedByTag(entry, this.#node.tagTimes.get(tag)));
  }

  /**
   * The hot path: a fresh, untagged local entry young enough to trust, returned without allocating.
   * Anything else returns NOT_FRESH and takes the full `lookup`.
   */
  freshLocalValue<T>(key: string, loader: Loader<T>, policy: CallPolicy): unknown {
    const node = this.#node;
    const entry = node.local.get(key);
    if (entry === undefined) return NOT_FRESH;
    const now = this.#clock.now();
    const left = entry.freshUntil - now;
    if (left <= 0 || entry.tags.length > 0) return NOT_FRESH;
    if (node.shared.distributed && now - entry.createdAt > node.options.maxLocalAge) return NOT_FRESH;
    if (left < entry.loadMs * XFETCH_HORIZON) this.#maybeRefreshEarly(key, entry, now, loader, policy);
    node.localHit(key, now - entry.createdAt);
    return entry.value;
  }

  /** The whole lookup, with how the value was served. */
  lookup<T>(key: string, loader: Loader<T>, policy: CallPolicy): Promise<Lookup<T>> {
    const now = Date.now();
    const entry = this.localEntry(key, now);
    if (entry !== undefined) {
      if (isFresh(entry, now)) {
        this.#maybeRefreshEarly(key, entry, now, loader, policy);
        this.#node.localHit(key, now - entry.createdAt);
        return Promise.resolve(served<T>(entry, 'hit', 'local', now));
      }
      if (canServeWhileRevalidating(entry, now)) {
        this.#refreshInBackground(key, loader, policy, entry, undefined);
        this.#node.emit('stale', { key, age: now - entry.createdAt, reason: 'revalidate' });
        return Promise.resolve(served<T>(entry, 'stale', 'local', now));
      }
    }
    return this.#flights.run(key, () =>
      this.#resolve(key, loader, policy, entry, { background: false }),
    ) as Promise<Lookup<T>>;
  }

  #maybeRefreshEarly<T>(key: string, entry: Entry, now: number, loader: Loader<T>, policy: CallPolicy): void {
    const early = this.#node.options.earlyRefresh;
    if (early === false || this.#flights.has(key)) return;
    // 1 - random() is in (0, 1], so its logarithm is finite.
    if (shouldRefreshEarly(entry, now, early.beta, 1 - Math.random())) {
      this.#refreshInBackground(key, loader, policy, entry, entry.id);
    }
  }

  #refreshInBackground<T>(
    key: string,
    loader: Loader<T>,
    policy: CallPolicy,
    entry: Entry,
    refreshOf: string | undefined,
  ): void {
    if (this.#flights.has(key)) return;
    const mode: Mode = refreshOf === undefined ? { background: true } : { background: true, refreshOf };
    this.#flights
      .run(key, () => this.#resolve(key, loader, policy, entry, mode))
      .catch((error: unknown) => this.#node.emit('loadError', { key, error }));
  }

  async #resolve<T>(
    key: string,
    loader: Loader<T>,
    policy: CallPolicy,
    local: Entry | undefined,
    mode: Mode,
  ): Promise<Lookup<unknown>> {
    const node = this.#node;
    if (!mode.background) node.emit('miss', { key });
    // Armed before the first question to the shared tier, so a `loaded` published in between is not missed.
    const armed = mode.background ? undefined : node.waiters.arm(key);
    const startedAt = Date.now();
    const giveUpAt = startedAt + node.options.waitTimeout;
    let force = false;
    let refreshOf = mode.background ? mode.refreshOf : undefined;
    try {
      for (;;) {
        const leaseToken = token();
        const epoch = node.epoch();
        let read: SharedRead;
        try {
          read = await node.shared.acquire(key, {
            now: Date.now(),
            token: leaseToken,
            leaseTtl: node.options.leaseTtl,
            refreshOf,
            force,
          });
        } catch (error) {
          node.emit('error', error as Error);
          return this.#degraded(key, loader, policy, local);
        }
        const stored = await this.#decodeRead(key, read);
        const now = Date.now();
        const stale = pickStale(stored, local);
        switch (read.role) {
          case 'fresh':
            if (stored === undefined) {
              // Fresh to Redis but unusable here (voided by a tag, undecodable): replace that very entry.
              refreshOf = read.raw?.split(' ', 2)[1] ?? '';
              continue;
            }
            this.#fill(key, stored, read.raw, epoch);
            node.emit('hit', { key, tier: 'shared', age: now - stored.createdAt });
            return served(stored, 'hit', 'shared', now);
          case 'leader': {
            const leading = this.#lead(key, leaseToken, loader, policy, stale, node.shared, {
              background: mode.background,
              scheduleFrom: refreshOf !== undefined && mode.background ? stale?.freshUntil : undefined,
            });
            // Redis still holds a value inside stale-while-revalidate (this node had none): serve it now.
            if (!mode.background && stale !== undefined && canServeWhileRevalidating(stale, now)) {
              return this.#serveWhileLoading(key, stale, leading, stored === stale ? 'shared' : 'local', now);
            }
            return await leading;
          }
          case 'backoff': {
            if (stale !== undefined && canServeOnError(stale, now)) {
              node.emit('stale', { key, age: now - stale.createdAt, reason: 'backoff' });
              return served(stale, 'stale', stored === stale ? 'shared' : 'local', now);
            }
            // The backoff exists to protect a failing origin; without a stale value there is nothing to serve.
            throw remoteFailure(key, read.failure ?? '');
          }
          case 'follower': {
            if (stale !== undefined && canServeWhileRevalidating(stale, now)) {
              node.emit('stale', { key, age: now - stale.createdAt, reason: 'revalidate' });
              return served(stale, 'stale', stored === stale ? 'shared' : 'local', now);
            }
            if (mode.background || armed === undefined) {
              return stale === undefined
                ? { value: undefined, status: 'miss', tier: 'shared', age: 0 }
                : served(stale, 'stale', 'local', now);
            }
            const remaining = giveUpAt - now;
            if (remaining <= 0) {
              node.emit('takeover', { key });
              force = true;
              continue;
            }
            // A follower holding a usable stale value waits no longer than the leader's own callers would.
            const softLeft =
              policy.softTimeout > 0 && stale !== undefined && canServeOnError(stale, now)
                ? startedAt + policy.softTimeout - now
                : Number.POSITIVE_INFINITY;
            if (stale !== undefined && softLeft <= 0) {
              node.emit('stale', { key, age: now - stale.createdAt, reason: 'soft-timeout' });
              return served(stale, 'stale', stored === stale ? 'shared' : 'local', now);
            }
            node.emit('wait', { key });
            const outcome = await this.#follow(
              key,
              armed,
              Math.min(remaining, read.remaining + LEASE_EXPIRY_MARGIN, softLeft),
              stale,
            );
            if (outcome !== undefined) return outcome;
          }
        }
      }
    } finally {
      armed?.disarm();
    }
  }

  /** Waits for the leader's message. Returns the outcome, or undefined to ask the shared tier again. */
  async #follow(
    key: string,
    armed: ArmedWait,
    ms: number,
    stale: Entry | undefined,
  ): Promise<Lookup<unknown> | undefined> {
    const node = this.#node;
    const epoch = node.epoch();
    const wake = await armed.wait(ms);
    const now = Date.now();
    switch (wake.kind) {
      case 'loaded': {
        if (wake.raw === undefined) return undefined;
        const entry = await this.#decode(key, wake.raw);
        if (entry === undefined) return undefined;
        this.#fill(key, entry, wake.raw, epoch);
        return served(entry, 'miss', 'shared', now);
      }
      case 'failed':
        if (stale !== undefined && canServeOnError(stale, now)) {
          node.emit('stale', { key, age: now - stale.createdAt, reason: 'error' });
          return served(stale, 'stale', 'local', now);
        }
        throw new RemoteLoadError(key, wake.name, wake.message);
      case 'empty':
        return { value: undefined, status: 'miss', tier: 'shared', age: 0 };
      default:
        // Invalidated (the lease was revoked) or timed out (the lease may have expired): ask again.
        return undefined;
    }
  }

  /** Redis is unreachable: serve what this node has, or load in this process under the in-process lease. */
  async #degraded<T>(
    key: string,
    loader: Loader<T>,
    policy: CallPolicy,
    local: Entry | undefined,
  ): Promise<Lookup<unknown>> {
    const fallback = this.#node.fallback;
    const now = Date.now();
    if (local !== undefined && isFresh(local, now)) return served(local, 'hit', 'local', now);
    const leaseToken = token();
    const revalidate = local !== undefined && canServeWhileRevalidating(local, now);
    const read = await fallback.acquire(key, {
      now,
      token: leaseToken,
      leaseTtl: this.#node.options.leaseTtl,
      force: !revalidate,
    });
    if (local !== undefined && revalidate) {
      const leading =
        read.role === 'leader'
          ? this.#lead(key, leaseToken, loader, policy, local, fallback, { background: true })
          : undefined;
      return this.#serveWhileLoading(key, local, leading, 'local', now);
    }
    return this.#lead(key, leaseToken, loader, policy, local, fallback, { background: false });
  }

  /** Answers with a value inside stale-while-revalidate while `loading` (if any) goes on in the background. */
  #serveWhileLoading(
    key: string,
    stale: Entry,
    loading: Promise<unknown> | undefined,
    tier: Lookup<unknown>['tier'],
    now: number,
  ): Lookup<unknown> {
    // A failed background load was already reported by #failed (loadError event); nobody awaits it.
    loading?.catch(() => {});
    this.#node.emit('stale', { key, age: now - stale.createdAt, reason: 'revalidate' });
    return served(stale, 'stale', tier, now);
  }

  /** Leader: run the loader under deadlines, then store through a lease-checked commit. */
  async #lead<T>(
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
        await this.#quietly(
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
    if (entry.tags.length > 0 && (await this.#voidedInShared(entry))) {
      await this.#quietly(
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
      // Redis failed mid-write: the value still serves this node, bounded by maxLocalAge.
      node.emit('error', error as Error);
      if (node.epoch() === epoch) node.local.set(key, entry, node.sizeOf(key, encoded));
      return false;
    }
    if (!stored) return false;
    // A tag invalidation may have landed between the check and the commit: undo our own write then.
    if (entry.tags.length > 0 && (await this.#voidedInShared(entry))) {
      await this.#quietly(
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
    await this.#quietly(
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

  async #quietly(operation: Promise<unknown>): Promise<void> {
    try {
      await operation;
    } catch (error) {
      this.#node.emit('error', error as Error);
    }
  }

  async #decodeRead(key: string, read: SharedRead): Promise<Entry | undefined> {
    if (read.problem !== undefined) this.#node.emit('error', new DecodeError(key, read.problem));
    return read.raw === null ? undefined : this.#decode(key, read.raw);
  }

  /** Decodes a stored entry; unreadable or tag-voided data is a miss (plus an `error` event when unreadable). */
  async #decode(key: string, raw: string): Promise<Entry | undefined> {
    let entry: Entry;
    try {
      entry = readEnvelope(key, raw, this.#node.codec);
    } catch (error) {
      this.#node.emit('error', error as Error);
      return undefined;
    }
    if (entry.tags.length > 0 && (this.#voided(entry) || (await this.#voidedInShared(entry))))
      return undefined;
    return entry;
  }

  /** Asks the shared tier for the tags' invalidation times (another node may have invalidated them). */
  async #voidedInShared(entry: Entry): Promise<boolean> {
    const node = this.#node;
    let times: readonly (number | undefined)[];
    try {
      times = await node.shared.tagTimes(entry.tags);
    } catch (error) {
      node.emit('error', error as Error);
      return false;
    }
    entry.tags.forEach((tag, index) => {
      const at = times[index];
      if (at !== undefined && at > (node.tagTimes.get(tag) ?? 0)) node.tagTimes.set(tag, at);
    });
    return this.#voided(entry);
  }

  #fill(key: string, entry: Entry, raw: string | null, epoch: number): void {
    const node = this.#node;
    if (node.epoch() !== epoch) return;
    node.local.set(key, entry, node.sizeOf(key, raw ?? ''));
  }
}

function pickStale(stored: Entry | undefined, local: Entry | undefined): Entry | undefined {
  if (stored === undefined) return local;
  if (local === undefined) return stored;
  return stored.createdAt >= local.createdAt ? stored : local;
}

/** The error a backoff stands for, rebuilt from the `failed` notice stored with it. */
function remoteFailure(key: string, notice: string): RemoteLoadError {
  const message = parseMessage(notice);
  return message?.kind === 'failed'
    ? new RemoteLoadError(key, message.name, message.message)
    : new RemoteLoadError(key, 'Error', 'the loader failed on another node');
}

/** Runs the loader; past `hardTimeout` aborts its signal and rejects with `LoadTimeoutError`. */
function runWithDeadline<T>(
  key: string,
  run: () => T | Promise<T>,
  hardTimeout: number,
  controller: AbortController,
): Promise<T> {
  const loading = Promise.resolve().then(run);
  if (hardTimeout <= 0) return loading;
  return settleByDeadline(loading, hardTimeout, () => {
    const error = new LoadTimeoutError(key, hardTimeout);
    controller.abort(error);
    throw error;
  });
}

/** Settles like `work`, unless `ms` pass first: then like `onDeadline()` (its value, or what it throws). */
function settleByDeadline<T>(work: Promise<T>, ms: number, onDeadline: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        resolve(onDeadline());
      } catch (error) {
        reject(error);
      }
    }, ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
