/**
 * The `node:diagnostics_channel` channels herdcache publishes on, so that any tracer or metrics library can
 * observe it without a dependency of ours (`herdcache/otel` and `herdcache/prometheus` are two such
 * subscribers). Channels are global by name: one subscriber sees every cache in the process, and each
 * message names the cache it comes from (its `prefix`).
 *
 * Nothing is built or published while a channel has no subscriber: each emit point costs one
 * `hasSubscribers` check. A fresh local hit publishes nothing but the `herdcache:hit` message, and only while
 * that channel has a subscriber.
 */
import diagnostics from 'node:diagnostics_channel';
import type { CacheEvents } from '../events.js';
import type { Lookup } from '../types.js';

/** The channel names: stable, part of the public API. */
export const CHANNELS = {
  /** TracingChannel: a `cached`/`lookup` call that the local tier could not answer with a fresh value. */
  lookup: 'herdcache:lookup',
  /** TracingChannel: a load this process runs as the key's leader (loader, encoding, commit). */
  load: 'herdcache:load',
  /** TracingChannel: a follower waiting for the lease holder's result (pushed notice or timeout). */
  wait: 'herdcache:wait',
  /** TracingChannel: the leader's lease-checked write of a loaded value. */
  commit: 'herdcache:commit',
  /** TracingChannel: `invalidate` or `invalidateTag`. */
  invalidate: 'herdcache:invalidate',
  /** Channel: a fresh local hit (published only while subscribed). */
  hit: 'herdcache:hit',
  /** Channel: a message received on the bus. */
  bus: 'herdcache:bus',
  /** Channel: every `Cache` event except local hits (those are counted, see `localHitCount`). */
  event: 'herdcache:event',
} as const;

/** What every message carries: which cache it is about. */
export interface CacheContext {
  /** The cache's `prefix`: caches with the same prefix share one fleet and one name in metrics. */
  readonly cache: string;
}

/**
 * Context of `herdcache:lookup`. `key` is the caller's key as given: it may hold user data, so hash or
 * redact it before it leaves the process (`herdcache/otel` hashes it by default).
 */
export interface LookupContext extends CacheContext {
  readonly key: string;
  /** Set by the TracingChannel when the lookup resolves: how the value was served. */
  result?: Lookup<unknown>;
  /** Set by the TracingChannel when the lookup rejects. */
  error?: unknown;
}

/** Context of `herdcache:load`. */
export interface LoadContext extends CacheContext {
  readonly key: string;
  /** True when no caller awaits the load (stale-while-revalidate, early refresh). */
  readonly background: boolean;
  result?: Lookup<unknown>;
  error?: unknown;
}

/**
 * How a follower's wait ended: a notice pushed by the lease holder (`loaded`, `failed`, `empty`,
 * `released`), an invalidation, a subscription gap (`lost`), close, or no notice in time (`timeout`).
 */
export type WakeKind =
  | 'loaded'
  | 'failed'
  | 'empty'
  | 'released'
  | 'invalidated'
  | 'lost'
  | 'closed'
  | 'timeout';

/** Context of `herdcache:wait`. The `wake` fields are set before the wait's end is published. */
export interface WaitContext extends CacheContext {
  readonly key: string;
  /** The longest this wait may take, in ms. */
  readonly timeout: number;
  /** The holder's lease time left when the wait began, in ms. */
  readonly leaseRemaining: number;
  /** How the wait ended. */
  wake?: WakeKind;
  /** Milliseconds waited. */
  waited?: number;
  /**
   * With `wake: 'loaded'`: milliseconds from the holder's commit (Redis server time, placed on this node's
   * clock) to this follower waking up; accurate to about one round trip.
   */
  wakeLatency?: number;
  result?: unknown;
  error?: unknown;
}

/** Context of `herdcache:commit`. */
export interface CommitContext extends CacheContext {
  readonly key: string;
  /** Characters written (encoded value and its envelope tail). */
  readonly bytes: number;
  /** Set when the commit resolves: `stored` is false when the lease was lost (revoked or taken over). */
  result?: { readonly stored: boolean };
  error?: unknown;
}

/** Context of `herdcache:invalidate`: either `keys` or `tags`. */
export interface InvalidateContext extends CacheContext {
  readonly keys?: readonly string[];
  readonly tags?: readonly string[];
  result?: unknown;
  error?: unknown;
}

/** Message of `herdcache:hit`: a fresh local hit. */
export interface LocalHitMessage extends CacheContext {
  readonly key: string;
  /** Milliseconds since the value was loaded. */
  readonly age: number;
}

/** Message of `herdcache:bus`: one message received on the pub/sub bus. */
export interface BusMessage extends CacheContext {
  /** The notice's kind (`loaded`, `invalidated`, `heartbeat`, ...) or `foreign` for one not ours. */
  readonly kind: string;
  /** Its size in bytes (UTF-8). */
  readonly bytes: number;
}

/** Message of `herdcache:event`: a `Cache` event and its arguments. */
export type EventMessage = {
  [E in keyof CacheEvents]: CacheContext & { readonly event: E; readonly args: CacheEvents[E] };
}[keyof CacheEvents];

/** The TracingChannels, created once. */
export const tracing = {
  lookup: diagnostics.tracingChannel<unknown, LookupContext>(CHANNELS.lookup),
  load: diagnostics.tracingChannel<unknown, LoadContext>(CHANNELS.load),
  wait: diagnostics.tracingChannel<unknown, WaitContext>(CHANNELS.wait),
  commit: diagnostics.tracingChannel<unknown, CommitContext>(CHANNELS.commit),
  invalidate: diagnostics.tracingChannel<unknown, InvalidateContext>(CHANNELS.invalidate),
};

/** The plain channels, created once. */
export const channels = {
  hit: diagnostics.channel(CHANNELS.hit),
  bus: diagnostics.channel(CHANNELS.bus),
  event: diagnostics.channel(CHANNELS.event),
};

type AnyTracingChannel = diagnostics.TracingChannel<unknown, object>;

/**
 * Whether anyone listens to any part of a TracingChannel (its own `hasSubscribers` is missing before
 * Node 20.13).
 */
export function isTraced(channel: AnyTracingChannel): boolean {
  return (
    channel.start.hasSubscribers ||
    channel.end.hasSubscribers ||
    channel.asyncStart.hasSubscribers ||
    channel.asyncEnd.hasSubscribers ||
    channel.error.hasSubscribers
  );
}

/**
 * Runs `run` as a traced operation when the channel has subscribers, else just runs it. `context` is only
 * built when needed.
 */
export function traced<C extends object, T>(
  channel: diagnostics.TracingChannel<unknown, C>,
  context: () => C,
  run: () => Promise<T>,
): Promise<T> {
  if (!isTraced(channel as AnyTracingChannel)) return run();
  return channel.tracePromise(run, context());
}
