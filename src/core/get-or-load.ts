import { DecodeError, RemoteLoadError } from '../errors.js';
import type { CallPolicy } from '../options.js';
import type { Entry, Loader, Lookup, SharedRead } from '../types.js';
import { CoarseClock } from './clock.js';
import { Leader } from './leader.js';
import { parseMessage } from './messages.js';
import { decodeEntry, type NodeState, newToken, quietly, served, voidedLocally } from './node.js';
import { canServeOnError, canServeWhileRevalidating, earlyRefreshAt, isFresh } from './policy.js';
import { SingleFlight } from './singleflight.js';
import type { ArmedWait } from './waiters.js';

/** Returned by `freshLocalValue` when the fast path does not apply. */
export const NOT_FRESH: unique symbol = Symbol('herdcache.notFresh');

// -ln(u) > 20 has probability e^-20 (about 2e-9): further from expiry than this many load times (times
// beta), no refresh moment is drawn at all, which keeps the hot path free of it.
const XFETCH_HORIZON = 20;
// An entry whose early refresh was already started by this node.
const REFRESH_STARTED = Number.POSITIVE_INFINITY;

/** What to do when another node holds the lease. */
type Mode = { background: false } | { background: true; refreshOf?: string };

// Woken followers re-check slightly after the lease should have expired, not exactly at it.
const LEASE_EXPIRY_MARGIN = 25;

/**
 * The get-or-load state machine: local tier, per-process single-flight, one shared-tier round trip that
 * reads and takes the lease, then leader (load, lease-checked commit) or follower (pushed wake-up, bounded
 * wait, takeover). Written against the ports only.
 */
export class GetOrLoad {
  readonly #node: NodeState;
  /** Callers waiting for a value share these. */
  readonly #flights = new SingleFlight<Lookup<unknown>>();
  /**
   * Background refreshes, kept apart: a refresh may end without a new value (another node is refreshing),
   * and a caller that needs one must not be handed the old value it was trying to replace.
   */
  readonly #refreshes = new SingleFlight<Lookup<unknown>>();
  /**
   * Every load this process is running, by key, whichever path started it (caller, refresh, degraded
   * revalidation): a second path that wants to load the key joins it instead, so a key never has two loads
   * in one process, even while Redis comes and goes.
   */
  readonly #loads = new Map<string, Promise<Lookup<unknown>>>();
  readonly #clock = new CoarseClock();
  readonly #leader: Leader;
  /** This node's XFetch moment per entry, drawn the first time a hit comes near expiry. */
  readonly #refreshAt = new WeakMap<Entry, number>();
  /** Load times (times beta) ahead of expiry from which a refresh moment is drawn; 0 without early refresh. */
  readonly #horizon: number;
  /** Infinite without Redis: then nothing can be invalidated behind this node's back. */
  readonly #maxLocalAge: number;
  /** Fresh local hits so far, counted here because the hot path cannot afford an event per hit. */
  localHits = 0;
  /** Set by the cache while anyone listens to `hit`. */
  hitObserved = false;

  constructor(node: NodeState) {
    this.#node = node;
    this.#leader = new Leader(node);
    const early = node.options.earlyRefresh;
    this.#horizon = early === false ? 0 : XFETCH_HORIZON * early.beta;
    this.#maxLocalAge = node.shared.distributed ? node.options.maxLocalAge : Number.POSITIVE_INFINITY;
  }

  /** A local entry this node may serve from memory: not voided by a tag, not older than maxLocalAge. */
  localEntry(key: string, now: number): Entry | undefined {
    const node = this.#node;
    const entry = node.local.get(key);
    if (entry === undefined) return undefined;
    if (now - entry.createdAt > this.#maxLocalAge) return undefined;
    if (entry.tags.length > 0 && voidedLocally(node, entry)) {
      node.local.delete(key);
      return undefined;
    }
    return entry;
  }

  /** The fresh value from either tier, or undefined: no load, no lease. A shared read fills the local tier. */
  async peek(key: string): Promise<unknown> {
    const node = this.#node;
    const now = Date.now();
    const local = this.localEntry(key, now);
    if (local !== undefined && isFresh(local, now)) return local.value;
    if (!node.shared.distributed) return undefined;
    const epoch = node.epoch();
    let raw: string | null;
    try {
      raw = await node.shared.read(key);
    } catch (error) {
      node.emit('error', error as Error);
      return undefined;
    }
    const entry = raw === null ? undefined : await decodeEntry(node, key, raw);
    if (entry === undefined || !isFresh(entry, Date.now())) return undefined;
    this.#fill(key, entry, raw, epoch);
    return entry.value;
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
    if (now - entry.createdAt > this.#maxLocalAge) return NOT_FRESH;
    if (left < entry.loadMs * this.#horizon) this.#maybeRefreshEarly(key, entry, now, loader, policy);
    this.#countLocalHit(key, now - entry.createdAt);
    return entry.value;
  }

  #countLocalHit(key: string, age: number): void {
    this.localHits += 1;
    if (this.hitObserved) this.#node.emitLocalHit(key, age);
  }

  /** The whole lookup, with how the value was served. */
  lookup<T>(key: string, loader: Loader<T>, policy: CallPolicy): Promise<Lookup<T>> {
    const now = Date.now();
    const entry = this.localEntry(key, now);
    if (entry !== undefined) {
      if (isFresh(entry, now)) {
        this.#maybeRefreshEarly(key, entry, now, loader, policy);
        this.#countLocalHit(key, now - entry.createdAt);
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
    if (early === false) return;
    let at = this.#refreshAt.get(entry);
    if (at === undefined) {
      // 1 - random() is in (0, 1], so its logarithm is finite.
      at = earlyRefreshAt(entry, early.beta, 1 - Math.random());
      this.#refreshAt.set(entry, at);
    }
    if (now < at || this.#flights.has(key) || this.#refreshes.has(key)) return;
    // One attempt per entry and node: if another node is already refreshing, its `loaded` message replaces
    // this entry; if the attempt fails, the entry simply expires as usual.
    this.#refreshAt.set(entry, REFRESH_STARTED);
    this.#refreshInBackground(key, loader, policy, entry, entry.id);
  }

  #refreshInBackground<T>(
    key: string,
    loader: Loader<T>,
    policy: CallPolicy,
    entry: Entry,
    refreshOf: string | undefined,
  ): void {
    if (this.#flights.has(key) || this.#refreshes.has(key)) return;
    const mode: Mode = refreshOf === undefined ? { background: true } : { background: true, refreshOf };
    this.#refreshes
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
        const leaseToken = newToken();
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
            const running = this.#loads.get(key);
            if (running !== undefined) {
              // A load started while Redis was unreachable is still running here: give the lease back
              // (quietly: nobody is waiting for it yet) and use that load rather than start a second one.
              void quietly(node, node.shared.renew(key, leaseToken, 1));
              return this.#joinOrServe(key, running, stale, mode.background, now);
            }
            const leading = this.#track(
              key,
              this.#leader.lead(key, leaseToken, loader, policy, stale, node.shared, {
                background: mode.background,
                scheduleFrom: refreshOf !== undefined && mode.background ? stale?.freshUntil : undefined,
              }),
            );
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
        const entry = await decodeEntry(this.#node, key, wake.raw);
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
    const running = this.#loads.get(key);
    if (running !== undefined) return this.#joinOrServe(key, running, local, false, now);
    const leaseToken = newToken();
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
          ? this.#track(
              key,
              this.#leader.lead(key, leaseToken, loader, policy, local, fallback, { background: true }),
            )
          : undefined;
      return this.#serveWhileLoading(key, local, leading, 'local', now);
    }
    return this.#track(
      key,
      this.#leader.lead(key, leaseToken, loader, policy, local, fallback, { background: false }),
    );
  }

  /** Records a load started through the leader in #loads until it settles. */
  #track(key: string, loading: Promise<Lookup<unknown>>): Promise<Lookup<unknown>> {
    const settled = () => {
      if (this.#loads.get(key) === loading) this.#loads.delete(key);
    };
    loading.then(settled, settled);
    this.#loads.set(key, loading);
    return loading;
  }

  /** A load of the key is already running in this process: serve stale if allowed, else wait for it. */
  #joinOrServe(
    key: string,
    running: Promise<Lookup<unknown>>,
    stale: Entry | undefined,
    background: boolean,
    now: number,
  ): Lookup<unknown> | Promise<Lookup<unknown>> {
    if (stale !== undefined && (background || canServeWhileRevalidating(stale, now))) {
      return this.#serveWhileLoading(key, stale, undefined, 'local', now);
    }
    return running;
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

  async #decodeRead(key: string, read: SharedRead): Promise<Entry | undefined> {
    if (read.problem !== undefined) this.#node.emit('error', new DecodeError(key, read.problem));
    return read.raw === null ? undefined : decodeEntry(this.#node, key, read.raw);
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
