import type { ConnectionState, Subscriber, SubscriberEvents } from '../../redis/client-port.js';
import { addressOf, closeNodeRedis } from './client.js';
import { PortEvents } from './events.js';
import type { NodeRedisConnection } from './shape.js';

/**
 * A node-redis subscriber connection. node-redis offers no way to drop a socket and redial (its `destroy`
 * closes the client for good), so `drop()` replaces the client with a fresh one from `dial`: the port's
 * listeners stay, the events of the old client are ignored, and the bus resubscribes on the new `ready` as
 * after any reconnect.
 */
export class NodeRedisSubscriber implements Subscriber {
  readonly #dial: () => NodeRedisConnection;
  readonly #redials: boolean;
  readonly #events = new PortEvents<SubscriberEvents>(false);
  readonly #listener = (message: string, channel: string) => this.#events.emit('message', channel, message);
  #client: NodeRedisConnection;
  #closed = false;

  /** @param redials whether the client redials by itself (a shard subscriber does not: the bus rebuilds). */
  constructor(dial: () => NodeRedisConnection, redials: boolean) {
    this.#dial = dial;
    this.#redials = redials;
    this.#client = this.#open();
  }

  #open(): NodeRedisConnection {
    const client = this.#dial();
    const current = () => this.#client === client && !this.#closed;
    client.on('ready', () => current() && this.#events.ready());
    client.on('error', (error: Error) => {
      if (current()) this.#events.failed(error, client.isReady);
      else if (client.isOpen && !this.#redials) client.destroy();
    });
    client.on('end', () => current() && this.#events.down());
    // The server unsubscribed a sharded channel whose slot moved away.
    client.on('sharded-channel-moved', () => current() && this.#events.emit('moved'));
    // Errors are reported through `error` events; the promise only says the client gave up.
    client.connect().catch(() => {});
    return client;
  }

  get state(): ConnectionState {
    if (this.#closed) return 'closed';
    if (this.#client.isReady) return 'ready';
    if (!this.#client.isOpen) return this.#redials ? 'reconnecting' : 'closed';
    return this.#events.lost ? 'reconnecting' : 'connecting';
  }

  get address(): string {
    return addressOf(this.#client);
  }

  on<E extends keyof SubscriberEvents>(event: E, listener: SubscriberEvents[E]): void {
    this.#events.on(event, listener);
  }

  off<E extends keyof SubscriberEvents>(event: E, listener: SubscriberEvents[E]): void {
    this.#events.off(event, listener);
  }

  subscribe(channels: readonly string[]): Promise<void> {
    // Channels already subscribed (node-redis resubscribes before `ready`) resolve at once.
    return this.#client.subscribe([...channels], this.#listener);
  }

  ssubscribe(channel: string): Promise<void> {
    return this.#client.sSubscribe(channel, this.#listener);
  }

  async ping(message: string): Promise<void> {
    await this.#client.sendCommand(['PING', message]);
  }

  drop(): void {
    const old = this.#client;
    this.#client = this.#open();
    if (old.isOpen) old.destroy();
    this.#events.down();
  }

  async quit(): Promise<void> {
    this.#closed = true;
    await closeNodeRedis(this.#client);
  }

  disconnect(): void {
    this.#closed = true;
    if (this.#client.isOpen) this.#client.destroy();
  }
}
