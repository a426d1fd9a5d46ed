import type {
  ClusterClient,
  CommandArg,
  ConnectionEvents,
  ConnectionState,
  Subscriber,
} from '../../redis/client-port.js';
import { commandArgs, QUIT_GRACE } from './client.js';
import { PortEvents } from './events.js';
import type { NodeRedisCluster } from './shape.js';
import { NodeRedisSubscriber } from './subscriber.js';

/** How long to wait between attempts to connect a cluster herdcache opened, doubling up to the cap. */
const RETRY = { first: 50, max: 1_000 } as const;

/** One row of CLUSTER SLOTS: first slot, last slot, then [host, port, id, ...] of the master and replicas. */
type SlotRange = [number, number, [string, number, ...unknown[]], ...unknown[]];

/**
 * A node-redis `createCluster()` client. node-redis gives up on `connect()` when no root node answers; for
 * a cluster herdcache opened itself, the adapter keeps trying (with backoff, on unref'd timers), as ioredis
 * does, so a cache started before its Redis comes up joins it.
 */
export class NodeRedisClusterClient implements ClusterClient {
  readonly kind = 'cluster';
  readonly address = 'cluster';
  readonly #cluster: NodeRedisCluster;
  readonly #events: PortEvents;
  #connected: boolean;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  /** @param connect whether to connect it (a cluster herdcache opened); else it is the app's, connected by the app. */
  constructor(cluster: NodeRedisCluster, connect: boolean) {
    this.#cluster = cluster;
    this.#connected = !connect && cluster.isOpen;
    this.#events = new PortEvents(this.#connected);
    cluster.on('connect', () => {
      this.#connected = true;
      this.#events.ready();
    });
    cluster.on('disconnect', () => {
      this.#connected = false;
      this.#events.down();
    });
    // Connection failures of the cluster's nodes: one `error` each (the outage reporter coalesces them).
    cluster.on('error', (error: Error) => this.#events.emit('error', error));
    cluster.on('node-error', (error: Error) => this.#events.emit('error', error));
    if (connect) this.#connect(RETRY.first);
  }

  #connect(delay: number): void {
    this.#cluster.connect().catch((error: unknown) => {
      if (this.#closed) return;
      this.#events.emit('error', error instanceof Error ? error : new Error(String(error)));
      this.#retry = setTimeout(() => this.#connect(Math.min(delay * 2, RETRY.max)), delay);
      this.#retry.unref();
    });
  }

  get state(): ConnectionState {
    if (this.#closed) return 'closed';
    if (this.#connected && this.#cluster.isOpen) return 'ready';
    return this.#events.lost ? 'reconnecting' : 'connecting';
  }

  on<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): void {
    this.#events.on(event, listener);
  }

  off<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): void {
    this.#events.off(event, listener);
  }

  async quit(): Promise<void> {
    this.#stop();
    if (!this.#cluster.isOpen) return;
    const timer = setTimeout(() => this.#cluster.isOpen && this.#cluster.destroy(), QUIT_GRACE);
    try {
      await this.#cluster.close();
    } catch {
      if (this.#cluster.isOpen) this.#cluster.destroy();
    } finally {
      clearTimeout(timer);
    }
  }

  disconnect(): void {
    this.#stop();
    if (this.#cluster.isOpen) this.#cluster.destroy();
  }

  #stop(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
  }

  evalsha(sha: string, keys: readonly string[], args: readonly CommandArg[]): Promise<unknown> {
    return this.#cluster.sendCommand(keys[0], false, commandArgs(['EVALSHA', sha], keys, args));
  }

  eval(source: string, keys: readonly string[], args: readonly CommandArg[]): Promise<unknown> {
    return this.#cluster.sendCommand(keys[0], false, commandArgs(['EVAL', source], keys, args));
  }

  get(key: string): Promise<string | null> {
    return this.#cluster.sendCommand(key, true, ['GET', key]) as Promise<string | null>;
  }

  mget(keys: readonly string[]): Promise<(string | null)[]> {
    return this.#cluster.sendCommand(keys[0], true, ['MGET', ...keys]) as Promise<(string | null)[]>;
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#cluster.sendCommand(channel, false, ['PUBLISH', channel, message]);
  }

  async info(section: string): Promise<string> {
    return String(await this.#cluster.sendCommand(undefined, true, ['INFO', section]));
  }

  /** Asks the cluster itself (CLUSTER SLOTS), so a rebuild after a failover sees the new masters. */
  async slotMasters(): Promise<(slot: number) => string | undefined> {
    const ranges = (await this.#cluster.sendCommand(undefined, true, ['CLUSTER', 'SLOTS'])) as SlotRange[];
    return (slot) => {
      const range = ranges.find(([first, last]) => slot >= first && slot <= last);
      return range ? this.#mapped(`${range[2][0]}:${range[2][1]}`) : undefined;
    };
  }

  /** The address to dial for a node as the cluster announces it (the app's `nodeAddressMap`, if any). */
  #mapped(address: string): string {
    const map = this.#cluster._options?.nodeAddressMap;
    const found =
      typeof map === 'function'
        ? (map as (address: string) => { host: string; port: number } | undefined)(address)
        : (map as Record<string, { host: string; port: number }> | undefined)?.[address];
    return found ? `${found.host}:${found.port}` : address;
  }

  async shardSubscriber(address: string): Promise<Subscriber> {
    const master = this.#cluster.masters[0];
    if (!master) throw new Error('the cluster has not reported its masters yet');
    // Duplicated from a node's client: the cluster's credentials and TLS, another address.
    const node = await this.#cluster.nodeClient(master);
    const split = address.lastIndexOf(':');
    const socket = {
      ...node.options?.socket,
      host: address.slice(0, split),
      port: Number(address.slice(split + 1)),
      // No reconnecting on its own: the slot may have moved; the bus rebuilds from the new topology.
      reconnectStrategy: false,
    };
    return new NodeRedisSubscriber(() => node.duplicate({ socket, disableOfflineQueue: false }), false);
  }
}
