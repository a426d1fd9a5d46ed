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
      // `ready` after a reconnect comes once ioredis has resubscribed; anything published in between is gone.
      if (connectedBefore && !this.#closed) onLost('subscriber reconnected');
      connectedBefore = true;
    });
    if (this.#subscriber.status === 'ready') connectedBefore = true;
    await this.#subscriber.subscribe(this.#channel);
  }

  async publish(message: string): Promise<void> {
    if (this.#publisher.status !== 'ready') throw new Error(`Redis connection is ${this.#publisher.status}`);
    await this.#publisher.publish(this.#channel, message);
  }

  reconnect(): void {
    if (this.#closed) return;
    this.#subscriber.disconnect(true);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await closeConnection(this.#subscriber);
  }
}
