import { channels } from '../observability/channels.js';
import type { Bus } from '../types.js';
import { every } from './clock.js';
import type { GetOrLoad } from './get-or-load.js';
import { encodeMessage, parseMessage } from './messages.js';
import type { NodeState } from './node.js';

/**
 * This node's side of the bus: applies what other nodes announce, wakes followers, and treats every gap in
 * the subscription as "messages were lost" (pub/sub is at-most-once), flushing what could have gone stale.
 */
export class Subscription {
  readonly #node: NodeState;
  readonly #bus: Bus;
  readonly #engine: GetOrLoad;
  readonly #onForeign: () => void;
  #closed = false;
  #stopHeartbeat: (() => void) | undefined;
  /** When our own last heartbeat came back through the subscription. */
  #beatSeenAt = Number.NEGATIVE_INFINITY;
  /** When Redis acknowledged a heartbeat that our subscription has not delivered yet. */
  #beatUnseenSince: number | undefined;
  /** Counts the gaps in the subscription handled so far (see `lost`). */
  #gaps = 0;

  constructor(node: NodeState, bus: Bus, engine: GetOrLoad, onForeign: () => void) {
    this.#node = node;
    this.#bus = bus;
    this.#engine = engine;
    this.#onForeign = onForeign;
  }

  /** Subscribes; resolves once the subscription is confirmed. */
  async start(): Promise<void> {
    await this.#bus.subscribe(
      (message) => this.#onMessage(message),
      (reason) => this.lost(reason),
    );
    // Whatever was read before the subscription existed may have been invalidated unheard. Not so without
    // Redis: the in-process stand-in carries only this cache's own notices, so nothing went unheard, and
    // bumping every generation would keep callers from joining the loads already under way.
    if (!this.#closed && this.#node.shared.distributed) {
      this.#flush('subscribed', this.#node.local.size > 0);
    }
  }

  /** Pub/sub is at-most-once: after any gap, invalidations may be missing, so nothing local is trusted. */
  lost(reason: string): void {
    if (this.#closed) return;
    // A beat acknowledged before the gap may have been lost in it: that says nothing about the new subscription.
    this.#gaps += 1;
    this.#beatUnseenSince = undefined;
    this.#flush(reason, true);
    // Followers may have missed their leader's message: let them ask Redis again now.
    this.#node.waiters.notifyAll({ kind: 'lost' });
  }

  #flush(reason: string, announce: boolean): void {
    const node = this.#node;
    node.generations.bumpAll();
    node.local.clear();
    node.tags.clear();
    if (announce) node.emit('localFlush', { reason });
  }

  close(): void {
    this.#closed = true;
    this.#stopHeartbeat?.();
  }

  #onMessage(text: string): void {
    const message = parseMessage(text);
    if (channels.bus.hasSubscribers) {
      const bytes = Buffer.byteLength(text);
      channels.bus.publish({ cache: this.#node.options.prefix, kind: message?.kind ?? 'foreign', bytes });
    }
    if (message === undefined) {
      this.#onForeign();
      return;
    }
    const node = this.#node;
    const remote = message.node !== node.id;
    switch (message.kind) {
      case 'heartbeat':
        if (!remote) {
          this.#beatSeenAt = node.clock.now();
          this.#beatUnseenSince = undefined;
        }
        return;
      case 'tag':
        node.tags.learn(message.tag, message.stamp);
        if (remote) node.emit('invalidateTag', { tags: [message.tag], origin: 'remote' });
        return;
      case 'invalidated':
        if (remote) {
          node.generations.bumpKey(message.key);
          node.local.delete(message.key);
          node.emit('invalidate', { keys: [message.key], origin: 'remote' });
        }
        node.waiters.notify(message.key, { kind: 'invalidated' });
        return;
      case 'loaded':
        if (remote) this.#engine.onRemoteLoad(message.key);
        node.waiters.notify(
          message.key,
          message.raw === undefined
            ? { kind: 'loaded', token: message.token, serverNow: message.serverNow }
            : { kind: 'loaded', token: message.token, serverNow: message.serverNow, raw: message.raw },
        );
        return;
      case 'failed':
        node.waiters.notify(message.key, {
          kind: 'failed',
          token: message.token,
          name: message.name,
          message: message.message,
          tags: message.tags,
          stamps: message.stamps,
        });
        return;
      case 'empty':
      case 'released':
        node.waiters.notify(message.key, { kind: message.kind, token: message.token });
    }
  }

  /**
   * Publishes a heartbeat every `interval` on this node's own channel and expects it back on our
   * subscription (nobody else hears it, so beats cost O(1) per node whatever the fleet's size). Redis delivers a
   * message to subscribers before it acknowledges the PUBLISH, so a beat that was acknowledged but has not
   * arrived an interval later means the subscription is dead even if its socket looks open: a silently dead
   * subscriber is detected within about three intervals.
   */
  startHeartbeat(interval: number, paused: () => boolean): void {
    const node = this.#node;
    const beat = encodeMessage({ kind: 'heartbeat', node: node.id });
    let inFlight = false;
    this.#stopHeartbeat = every(node.clock, interval, () => {
      if (this.#beatUnseenSince !== undefined && node.clock.now() - this.#beatUnseenSince > interval) {
        this.lost('heartbeat missed');
        this.#bus.reconnect();
        return;
      }
      // One beat at a time, and none while the breaker keeps requests off Redis: beats must not pile up
      // behind a stalled connection, nor keep a Redis known to be down busy.
      if (inFlight || paused()) return;
      inFlight = true;
      const sentAt = node.clock.now();
      const gaps = this.#gaps;
      this.#bus.beat(beat).then(
        () => {
          inFlight = false;
          // Judged only if no flush came in between (a gap already handled) and it has not arrived yet.
          if (this.#gaps === gaps && this.#beatSeenAt < sentAt) this.#beatUnseenSince ??= node.clock.now();
        },
        // Redis is unreachable: the request path notices that on its own; nothing to repair yet.
        () => {
          inFlight = false;
        },
      );
    });
  }
}
