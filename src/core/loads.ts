import type { CallPolicy } from '../options.js';
import type { Entry, Loader, Lookup } from '../types.js';
import { Leader, type LoadStart } from './leader.js';
import { encodeMessage } from './messages.js';
import { fill, type NodeState, newToken, quietly, served } from './node.js';
import { canServeWhileRevalidating, isFresh } from './policy.js';
import type { Reading } from './reading.js';
import { SingleFlight } from './singleflight.js';

/** Why a lookup runs: a caller waits for it, or it refreshes in the background (`refreshOf`: early, of that entry). */
export type Mode = { background: false } | { background: true; refreshOf?: string };

/**
 * The loads this process runs, whichever path started them (caller, refresh, degraded revalidation): a
 * second path that wants to load a key joins the running load instead, so a key never has two loads in
 * one process, even while Redis comes and goes. Invalidations detach them like flights.
 */
export class Loads {
  readonly #node: NodeState;
  readonly #running: SingleFlight<Lookup<unknown>>;
  readonly #leader: Leader;

  constructor(node: NodeState) {
    this.#node = node;
    this.#running = new SingleFlight(node.generations);
    this.#leader = new Leader(node);
  }

  /** This caller holds the lease: load, or join the load this process is already running. */
  async lead<T>(
    key: string,
    token: string,
    loader: Loader<T>,
    policy: CallPolicy,
    mode: Mode,
    reading: Reading,
    stale: Entry | undefined,
    from: Lookup<unknown>['tier'],
    stamp: number,
    since: number,
    now: number,
    leaseSince: number,
  ): Promise<Lookup<unknown>> {
    const node = this.#node;
    const running = this.#running.get(key);
    if (running !== undefined) {
      // A load started while Redis was unreachable is still running here: give the lease back (waking
      // anyone who queued behind it) and use that load rather than start a second one.
      const notice = encodeMessage({ kind: 'released', node: node.id, key, token });
      void quietly(node, node.shared.abandon(key, token, 0, notice));
      return this.#joinOrServe(key, running, stale, mode.background, now);
    }
    const start: LoadStart = {
      background: mode.background,
      previousLoadMs: stale?.loadMs,
      staleSince: since,
      leaseSince,
    };
    const stored = reading.entry;
    if (stored !== undefined && isFresh(stored, now)) {
      // An early refresh: the value is still fresh, so it is served while the new one loads behind it.
      fill(node, key, stored, reading.encoded as string, stamp);
      const loading = this.#start(key, token, loader, policy, stored, node.shared, {
        ...start,
        background: true,
      });
      if (mode.background) return loading;
      loading.catch(() => {});
      node.emit('hit', { key, tier: 'shared', age: now - stored.createdAt });
      return served(stored, 'hit', 'shared', now);
    }
    const loading = this.#start(key, token, loader, policy, stale, node.shared, start);
    // Redis still holds a value inside stale-while-revalidate (this node had none): serve it now.
    if (!mode.background && stale !== undefined && canServeWhileRevalidating(stale, now)) {
      return this.serveWhileLoading(key, stale, loading, from, now);
    }
    return loading;
  }

  #start<T>(
    key: string,
    token: string,
    loader: Loader<T>,
    policy: CallPolicy,
    stale: Entry | undefined,
    tier: NodeState['shared'],
    start: LoadStart,
  ): Promise<Lookup<unknown>> {
    return this.#running.track(key, this.#leader.lead(key, token, loader, policy, stale, tier, start));
  }

  /** Redis is unreachable: serve what this node has, or load in this process under the in-process lease. */
  async degraded<T>(
    key: string,
    loader: Loader<T>,
    policy: CallPolicy,
    local: Entry | undefined,
    mode: Mode,
    since: number,
  ): Promise<Lookup<unknown>> {
    const node = this.#node;
    const fallback = node.fallback;
    const now = node.clock.now();
    if (local !== undefined && isFresh(local, now)) return served(local, 'hit', 'local', now);
    const running = this.#running.get(key);
    if (running !== undefined) return this.#joinOrServe(key, running, local, mode.background, now);
    const token = newToken();
    const revalidate = local !== undefined && canServeWhileRevalidating(local, now);
    const leaseSince = node.clock.now();
    const read = await fallback.acquire(key, {
      token,
      leaseTtl: node.options.leaseTtl,
      mode: revalidate ? 'read' : 'force',
      refreshMargin: undefined,
    });
    const start: LoadStart = {
      background: revalidate || mode.background,
      previousLoadMs: local?.loadMs,
      staleSince: since,
      leaseSince,
    };
    if (local !== undefined && revalidate) {
      const loading =
        read.role === 'leader' ? this.#start(key, token, loader, policy, local, fallback, start) : undefined;
      return this.serveWhileLoading(key, local, loading, 'local', now);
    }
    return this.#start(key, token, loader, policy, local, fallback, start);
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
      return this.serveWhileLoading(key, stale, undefined, 'local', now);
    }
    return running;
  }

  /** Answers with a value inside stale-while-revalidate while `loading` (if any) goes on in the background. */
  serveWhileLoading(
    key: string,
    stale: Entry,
    loading: Promise<unknown> | undefined,
    tier: Lookup<unknown>['tier'],
    now: number,
  ): Lookup<unknown> {
    // A failed background load was already reported by the leader (loadError event); nobody awaits it.
    loading?.catch(() => {});
    this.#node.emit('stale', { key, age: now - stale.createdAt, reason: 'revalidate' });
    return served(stale, 'stale', tier, now);
  }
}
