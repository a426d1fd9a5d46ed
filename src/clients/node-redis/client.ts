import type {
  CommandArg,
  ConnectionEvents,
  ConnectionState,
  StandaloneClient,
  Subscriber,
} from '../../redis/client-port.js';
import { PortEvents } from './events.js';
import type { NodeRedisConnection } from './shape.js';
import { NodeRedisSubscriber } from './subscriber.js';

/** Ms a polite close gets before the connection is cut. */
export const QUIT_GRACE = 500;

/** Closes politely (waiting for replies in flight), and cuts the connection if Redis does not answer. */
export async function closeNodeRedis(client: NodeRedisConnection): Promise<void> {
  if (!client.isOpen) return;
  if (!client.isReady) {
    client.destroy();
    return;
  }
  const timer = setTimeout(() => client.isOpen && client.destroy(), QUIT_GRACE);
  try {
    await client.close();
  } catch {
    if (client.isOpen) client.destroy();
  } finally {
    clearTimeout(timer);
  }
}

/** The address of a node-redis client, for messages. */
export function addressOf(client: NodeRedisConnection): string {
  const socket = client.options?.socket;
  if (socket?.host !== undefined || socket?.port !== undefined) {
    return `${socket.host ?? 'localhost'}:${socket.port ?? 6379}`;
  }
  const url = client.options?.url;
  if (url) {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 6379}`;
  }
  return 'localhost:6379';
}

/** Script and command arguments as node-redis sends them: strings. */
export function commandArgs(head: string[], keys: readonly string[], args: readonly CommandArg[]): string[] {
  return [...head, String(keys.length), ...keys, ...args.map(String)];
}

/** A node-redis `createClient()` connection to one Redis. */
export class NodeRedisStandalone implements StandaloneClient {
  readonly kind = 'standalone';
  readonly #client: NodeRedisConnection;
  readonly #events: PortEvents;

  constructor(client: NodeRedisConnection) {
    this.#client = client;
    this.#events = new PortEvents(client.isReady);
    client.on('ready', () => this.#events.ready());
    client.on('error', (error: Error) => this.#events.failed(error, client.isReady));
    client.on('end', () => this.#events.down());
  }

  get state(): ConnectionState {
    if (this.#client.isReady) return 'ready';
    if (!this.#client.isOpen) return 'closed';
    return this.#events.lost ? 'reconnecting' : 'connecting';
  }

  get address(): string {
    return addressOf(this.#client);
  }

  on<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): void {
    this.#events.on(event, listener);
  }

  off<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): void {
    this.#events.off(event, listener);
  }

  quit(): Promise<void> {
    return closeNodeRedis(this.#client);
  }

  disconnect(): void {
    if (this.#client.isOpen) this.#client.destroy();
  }

  evalsha(sha: string, keys: readonly string[], args: readonly CommandArg[]): Promise<unknown> {
    return this.#client.sendCommand(commandArgs(['EVALSHA', sha], keys, args));
  }

  eval(source: string, keys: readonly string[], args: readonly CommandArg[]): Promise<unknown> {
    return this.#client.sendCommand(commandArgs(['EVAL', source], keys, args));
  }

  get(key: string): Promise<string | null> {
    return this.#client.sendCommand(['GET', key]) as Promise<string | null>;
  }

  mget(keys: readonly string[]): Promise<(string | null)[]> {
    return this.#client.sendCommand(['MGET', ...keys]) as Promise<(string | null)[]>;
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#client.sendCommand(['PUBLISH', channel, message]);
  }

  async info(section: string): Promise<string> {
    return String(await this.#client.sendCommand(['INFO', section]));
  }

  async subscriber(): Promise<Subscriber> {
    // Same address, credentials and reconnect strategy; a subscriber may wait for its connection.
    return new NodeRedisSubscriber(() => this.#client.duplicate({ disableOfflineQueue: false }), true);
  }
}
