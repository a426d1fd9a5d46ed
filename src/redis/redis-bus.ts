import type { Redis } from 'ioredis';
import type { Bus } from '../types.js';
import { closeConnection } from './redis-tier.js';

/**
 * The bus on Redis pub/sub, over a connection of its own (a subscribed connection can do nothing else).
 * Pub/sub is at-most-once: every disconnect is reported as "messages may have been lost".
 */
export class RedisBus implements Bus {
  readonly #subscriber: Redis;
  readonly #publisher: Redis;
  readonly #channel: string;
  #closed = false;

  /** @param subscriber always owned by the bus, which closes it. */
  constructor(subscriber: Redis, publisher: Redis, channel: string) {
    this.#subscriber = subscriber;
    this.#publisher = publisher;
    this.#channel = channel;
  }

  async subscribe(onMessage: (message: string) => void, onLost: (reason: string) => void): Promise<void> {
    let connectedBefore = false;
    this.#subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.#channel) onMessage(message);
    });
    this.#subscriber.on('close', () => {
      if (!this.#closed && connectedBefore) onLost('subscriber disconnected');
    });
    this.#subscriber.on('ready', () => {
      if (!connectedBefore) {
        connectedBefore = true;
        return;
      }
      if (this.#closed) return;
      // ioredis announces `ready` before Redis has confirmed the resubscription. Until it has, a value read
      // from Redis can still be invalidated by a message we will never get: so we resubscribe ourselves
      // (autoResubscribe is off) and report the gap once it is confirmed, which flushes whatever the local
      // tier picked up in between. If the connection drops again first, the next `ready` tries again.
      this.#subscriber.subscribe(this.#channel).then(
        () => {
          if (!this.#closed) onLost('subscriber reconnected');
        },
        () => {},
      );
    });
    if (this.#subscriber.status === 'ready') connectedBefore = true;
    await this.#subscriber.subscribe(this.#channel);
  }

  async publish(message: string): Promise<void> {
    if (this.#publisher.status !== 'ready') throw new Error(`Redis connection is ${this.#publisher.status}`);
    await this.#publisher.publish(this.#channel, message);
  }

  /** The subscription looks dead (heartbeats stopped coming back): cut the connection and let ioredis redial. */
  reconnect(): void {
    // A connection that is not ready is already being redialled, and resubscribes when it is.
    if (this.#closed || this.#subscriber.status !== 'ready') return;
    // Destroy, not disconnect(true): that ends the socket politely and waits for the peer to close its side,
    // which a dead peer never does, for ioredis's disconnectTimeout (2 s) before it redials.
    this.#subscriber.stream.destroy();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await closeConnection(this.#subscriber);
  }
}
