import type { Bus } from '../types.js';
import type { CommandClient, Subscriber } from './client-port.js';

/** Opens the subscriber connection. */
export type DialSubscriber = () => Promise<Subscriber>;

/**
 * The bus on classic Redis pub/sub (a single Redis), over a connection of its own (a subscribed connection
 * can do nothing else). Pub/sub is at-most-once: every disconnect is reported as "messages may have been
 * lost". A Redis Cluster uses `ShardedBus` instead.
 *
 * Heartbeats travel on a channel of this node's own: each node hears only its own beats, so their cost does
 * not grow with the fleet.
 */
export class RedisBus implements Bus {
  readonly #dial: DialSubscriber;
  readonly #publisher: CommandClient;
  readonly #channel: string;
  readonly #beatChannel: string;
  #subscriber: Subscriber | undefined;
  #handlers: { onMessage: (message: string) => void; onLost: (reason: string) => void } | undefined;
  #closed = false;

  /** @param dial opens subscriber connections, which the bus owns and closes. */
  constructor(dial: DialSubscriber, publisher: CommandClient, channel: string, beatChannel: string) {
    this.#dial = dial;
    this.#publisher = publisher;
    this.#channel = channel;
    this.#beatChannel = beatChannel;
  }

  async subscribe(onMessage: (message: string) => void, onLost: (reason: string) => void): Promise<void> {
    this.#handlers = { onMessage, onLost };
    await this.#connect();
  }

  /** Dials a subscriber and subscribes it; a bus closed meanwhile closes it at once. */
  async #connect(): Promise<void> {
    const subscriber = await this.#dial();
    if (this.#closed) {
      await subscriber.quit();
      throw new Error('The bus was closed');
    }
    this.#subscriber = subscriber;
    await this.#attach(subscriber);
  }

  #attach(subscriber: Subscriber): Promise<unknown> {
    const handlers = this.#handlers;
    if (!handlers) return Promise.resolve();
    const current = () => !this.#closed && this.#subscriber === subscriber;
    let connectedBefore = subscriber.state === 'ready';
    subscriber.on('message', (channel: string, message: string) => {
      if (current() && (channel === this.#channel || channel === this.#beatChannel))
        handlers.onMessage(message);
    });
    subscriber.on('close', () => {
      if (current() && connectedBefore) handlers.onLost('subscriber disconnected');
    });
    subscriber.on('ready', () => {
      if (!connectedBefore) {
        connectedBefore = true;
        return;
      }
      if (!current()) return;
      // ioredis announces `ready` before Redis has confirmed the resubscription. Until it has, a value read
      // from Redis can still be invalidated by a message we will never get: so we resubscribe ourselves
      // (ioredis's autoResubscribe is off; node-redis has resubscribed before `ready`, and answers at once)
      // and report the gap once it is confirmed, which flushes whatever the local tier picked up in between.
      // If the connection drops again first, the next `ready` tries again.
      subscriber.subscribe([this.#channel, this.#beatChannel]).then(
        () => {
          if (current()) handlers.onLost('subscriber reconnected');
        },
        () => {},
      );
    });
    return subscriber.subscribe([this.#channel, this.#beatChannel]);
  }

  async beat(message: string): Promise<void> {
    if (this.#publisher.state !== 'ready') throw new Error(`Redis connection is ${this.#publisher.state}`);
    await this.#publisher.publish(this.#beatChannel, message);
  }

  /** The subscription looks dead (heartbeats stopped coming back): cut the connection and let the client redial. */
  reconnect(): void {
    // A connection that is not ready is already being redialled, and resubscribes when it is.
    if (this.#closed || this.#subscriber?.state !== 'ready') return;
    this.#subscriber.drop();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#subscriber) await this.#subscriber.quit();
  }
}
