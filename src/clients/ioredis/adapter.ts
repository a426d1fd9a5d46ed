import type {
  ClusterClient,
  CommandArg,
  ConnectionEvents,
  ConnectionState,
  StandaloneClient,
  Subscriber,
  SubscriberEvents,
} from '../../redis/client-port.js';
import type { IoredisCluster, IoredisCommands, IoredisConnection } from './shape.js';

/** Ms a polite QUIT gets before the connection is cut. */
const QUIT_GRACE = 500;

function stateOf(status: string): ConnectionState {
  switch (status) {
    case 'ready':
      return 'ready';
    case 'wait':
    case 'connecting':
    case 'connect':
      return 'connecting';
    case 'end':
      return 'closed';
    default:
      // `reconnecting`, `close`, `disconnecting`: lost, and being redialled.
      return 'reconnecting';
  }
}

/**
 * disconnect() alone ends the socket and waits for the peer to close its side, up to ioredis's
 * disconnectTimeout (2 s): a paused or dead Redis never does, and close() would hang that long.
 */
function cut(client: IoredisCommands): void {
  client.disconnect();
  (client as Partial<IoredisConnection>).stream?.destroy();
}

/** QUIT politely, and cut the connection if Redis does not answer. */
async function quit(client: IoredisCommands): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  const timer = setTimeout(() => cut(client), QUIT_GRACE);
  try {
    await client.quit();
  } catch {
    cut(client);
  } finally {
    clearTimeout(timer);
  }
}

/** ioredis names its events as the port does: listeners pass straight through. */
abstract class IoredisBase<C extends IoredisCommands> {
  protected readonly client: C;

  constructor(client: C) {
    this.client = client;
  }

  get state(): ConnectionState {
    return stateOf(this.client.status);
  }

  on<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): void {
    this.client.on(event as 'error', listener as (error: Error) => void);
  }

  off<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): void {
    this.client.off(event, listener);
  }

  quit(): Promise<void> {
    return quit(this.client);
  }

  disconnect(): void {
    cut(this.client);
  }

  evalsha(sha: string, keys: readonly string[], args: readonly CommandArg[]): Promise<unknown> {
    return this.client.evalsha(sha, keys.length, ...keys, ...args);
  }

  eval(source: string, keys: readonly string[], args: readonly CommandArg[]): Promise<unknown> {
    return this.client.eval(source, keys.length, ...keys, ...args);
  }

  get(key: string): Promise<string | null> {
    return this.client.get(key);
  }

  mget(keys: readonly string[]): Promise<(string | null)[]> {
    return this.client.mget(...keys);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(channel, message);
  }
}

/** A subscriber connection (classic, or to one cluster master). */
class IoredisSubscriber implements Subscriber {
  readonly #client: IoredisConnection;

  constructor(client: IoredisConnection) {
    this.#client = client;
  }

  get state(): ConnectionState {
    return stateOf(this.#client.status);
  }

  get address(): string {
    return `${this.#client.options.host ?? 'localhost'}:${this.#client.options.port ?? 6379}`;
  }

  on<E extends keyof SubscriberEvents>(event: E, listener: SubscriberEvents[E]): void {
    // A sharded message arrives as `smessage`; the port has one `message` event for both kinds.
    if (event === 'message') {
      this.#client.on('message', listener as (channel: string, message: string) => void);
      this.#client.on('smessage', listener as (channel: string, message: string) => void);
      return;
    }
    this.#client.on(event as 'error', listener as (error: Error) => void);
  }

  off<E extends keyof SubscriberEvents>(event: E, listener: SubscriberEvents[E]): void {
    if (event === 'message') this.#client.off('smessage', listener);
    this.#client.off(event, listener);
  }

  async subscribe(channels: readonly string[]): Promise<void> {
    await this.#client.subscribe(...channels);
  }

  async ssubscribe(channel: string): Promise<void> {
    await this.#client.ssubscribe(channel);
  }

  async ping(message: string): Promise<void> {
    await this.#client.ping(message);
  }

  drop(): void {
    // Destroy, not disconnect(true): that ends the socket politely and waits for the peer to close its side,
    // which a dead peer never does, for ioredis's disconnectTimeout (2 s) before it redials.
    this.#client.stream?.destroy();
  }

  quit(): Promise<void> {
    return quit(this.#client);
  }

  disconnect(): void {
    this.#client.disconnect();
  }
}

/** ioredis `Redis`: one Redis. */
export class IoredisStandalone extends IoredisBase<IoredisConnection> implements StandaloneClient {
  readonly kind = 'standalone';
  readonly #subscriberOptions: object;

  /** @param subscriberOptions overrides for the subscriber connection duplicated from this one. */
  constructor(client: IoredisConnection, subscriberOptions: object) {
    super(client);
    this.#subscriberOptions = subscriberOptions;
  }

  get address(): string {
    return `${this.client.options.host ?? 'localhost'}:${this.client.options.port ?? 6379}`;
  }

  info(section: string): Promise<string> {
    return this.client.info(section);
  }

  async subscriber(): Promise<Subscriber> {
    return new IoredisSubscriber(this.client.duplicate(this.#subscriberOptions));
  }
}

/** ioredis `Cluster`. */
export class IoredisClusterClient extends IoredisBase<IoredisCluster> implements ClusterClient {
  readonly kind = 'cluster';
  readonly address = 'cluster';
  readonly #subscriberOptions: object;

  /** @param subscriberOptions options of the per-master subscriber connections (credentials, TLS). */
  constructor(cluster: IoredisCluster, subscriberOptions: object) {
    super(cluster);
    this.#subscriberOptions = subscriberOptions;
  }

  async info(section: string): Promise<string> {
    const node = this.client.nodes('master')[0];
    return node ? node.info(section) : '';
  }

  async slotMasters(): Promise<(slot: number) => string | undefined> {
    await new Promise<void>((resolve, reject) =>
      this.client.refreshSlotsCache((error) => (error ? reject(error) : resolve())),
    );
    return (slot) => this.client.slots[slot]?.[0];
  }

  async shardSubscriber(address: string): Promise<Subscriber> {
    const node = this.client.nodes('master')[0];
    if (!node) throw new Error('the cluster has no master connection yet');
    const split = address.lastIndexOf(':');
    // Duplicated from a node of the cluster, so it is of the app's own ioredis (5 or 6), with its options.
    const shard = node.duplicate({
      ...this.#subscriberOptions,
      host: address.slice(0, split),
      port: Number(address.slice(split + 1)),
      lazyConnect: false,
      readOnly: false,
      // No reconnecting on its own: the slot may have moved; the bus rebuilds from the new topology.
      retryStrategy: () => null,
    });
    return new IoredisSubscriber(shard);
  }
}
