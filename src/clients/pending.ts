import type {
  ClusterClient,
  CommandArg,
  ConnectionEvents,
  ConnectionState,
  RedisClient,
  StandaloneClient,
  Subscriber,
} from '../redis/client-port.js';

type AnyListener = ConnectionEvents[keyof ConnectionEvents];

/**
 * A client that is still being opened: for a URL, the client library is loaded with a dynamic `import()`
 * (the only way to load an optional peer from both the ESM and the CommonJS build), so the connection exists
 * a moment after the cache does. Until then it is `connecting` (a command waits for it as for any connection
 * being set up), and listeners are kept to be attached to it. If it cannot be opened (no client library
 * installed) it is `closed` and tells its `close` listeners, so nobody waits for it.
 */
class PendingClient {
  readonly #opening: Promise<RedisClient>;
  #client: RedisClient | undefined;
  #failed = false;
  #closed = false;
  readonly #listeners: [keyof ConnectionEvents, AnyListener][] = [];

  constructor(opening: Promise<RedisClient>) {
    this.#opening = opening;
    opening.then(
      (client) => {
        this.#client = client;
        for (const [event, listener] of this.#listeners.splice(0)) client.on(event, listener);
        if (this.#closed) client.disconnect();
      },
      () => {
        this.#failed = true;
        for (const [event, listener] of this.#listeners.splice(0)) {
          if (event === 'close') (listener as () => void)();
        }
      },
    );
  }

  get state(): ConnectionState {
    if (this.#client) return this.#client.state;
    return this.#failed || this.#closed ? 'closed' : 'connecting';
  }

  get address(): string {
    return this.#client?.address ?? 'redis';
  }

  on<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): void {
    if (this.#client) this.#client.on(event, listener);
    else if (!this.#failed) this.#listeners.push([event, listener]);
  }

  off<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): void {
    if (this.#client) {
      this.#client.off(event, listener);
      return;
    }
    const at = this.#listeners.findIndex(([e, l]) => e === event && l === listener);
    if (at >= 0) this.#listeners.splice(at, 1);
  }

  protected opened(): Promise<RedisClient> {
    return this.#opening;
  }

  async quit(): Promise<void> {
    this.#closed = true;
    const client = await this.#opening.catch(() => undefined);
    await client?.quit();
  }

  disconnect(): void {
    this.#closed = true;
    this.#client?.disconnect();
  }

  // Once open, commands go straight to the client: no extra promise on the hit path.
  evalsha(sha: string, keys: readonly string[], args: readonly CommandArg[]): Promise<unknown> {
    return this.#client
      ? this.#client.evalsha(sha, keys, args)
      : this.#opening.then((client) => client.evalsha(sha, keys, args));
  }

  eval(source: string, keys: readonly string[], args: readonly CommandArg[]): Promise<unknown> {
    return this.#client
      ? this.#client.eval(source, keys, args)
      : this.#opening.then((client) => client.eval(source, keys, args));
  }

  get(key: string): Promise<string | null> {
    return this.#client ? this.#client.get(key) : this.#opening.then((client) => client.get(key));
  }

  mget(keys: readonly string[]): Promise<(string | null)[]> {
    return this.#client ? this.#client.mget(keys) : this.#opening.then((client) => client.mget(keys));
  }

  async publish(channel: string, message: string): Promise<void> {
    return (await this.#opening).publish(channel, message);
  }

  async info(section: string): Promise<string> {
    return (await this.#opening).info(section);
  }
}

class PendingStandalone extends PendingClient implements StandaloneClient {
  readonly kind = 'standalone';

  async subscriber(): Promise<Subscriber> {
    return ((await this.opened()) as StandaloneClient).subscriber();
  }
}

class PendingCluster extends PendingClient implements ClusterClient {
  readonly kind = 'cluster';

  async slotMasters(): Promise<(slot: number) => string | undefined> {
    return ((await this.opened()) as ClusterClient).slotMasters();
  }

  async shardSubscriber(address: string): Promise<Subscriber> {
    return ((await this.opened()) as ClusterClient).shardSubscriber(address);
  }
}

/** A one-Redis client available once `opening` resolves. */
export function pendingStandalone(opening: Promise<StandaloneClient>): StandaloneClient {
  return new PendingStandalone(opening);
}

/** A cluster client available once `opening` resolves. */
export function pendingCluster(opening: Promise<ClusterClient>): ClusterClient {
  return new PendingCluster(opening);
}
