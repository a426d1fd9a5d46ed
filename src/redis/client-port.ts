/**
 * The client port: everything herdcache asks of a Redis client, and nothing more. The shared tier and both
 * buses talk to these interfaces only; an adapter per client library (src/clients/) implements them, so
 * which library (ioredis 5 or 6, node-redis) and which topology (one Redis, a Cluster) is decided in one
 * place, and the cache's behaviour (deadlines, outage reporting, lost-message handling) is the same with each.
 */

/**
 * Where a connection stands. `connecting`: its first connection is being set up (a command may wait for it,
 * briefly); `ready`: commands go out now; `reconnecting`: it was lost (or refused) and is being redialled
 * (commands fail at once); `closed`: closed for good.
 */
export type ConnectionState = 'connecting' | 'ready' | 'reconnecting' | 'closed';

/** An argument of a script or command. */
export type CommandArg = string | number;

/** What a connection reports. `close` means the connection was lost or ended; `ready` that it is (back) up. */
export interface ConnectionEvents {
  ready: () => void;
  close: () => void;
  error: (error: Error) => void;
}

/** A connection's state and events. */
export interface Connection {
  readonly state: ConnectionState;
  /** `host:port` (or a description) for messages. */
  readonly address: string;
  on<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): void;
  off<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): void;
  /** QUITs politely; cuts the connection if Redis does not answer promptly. Settles, never rejects. */
  quit(): Promise<void>;
  /** Cuts the connection now, without waiting for the peer. */
  disconnect(): void;
}

/**
 * The command connection: to one Redis, or to a Cluster (commands routed by their first key). Commands are
 * never queued while the connection is down: they fail at once.
 */
export interface CommandClient extends Connection {
  /** EVALSHA; rejects with an error whose message starts with `NOSCRIPT` when the server lacks the script. */
  evalsha(sha: string, keys: readonly string[], args: readonly CommandArg[]): Promise<unknown>;
  /** EVAL of a script's source (after NOSCRIPT). */
  eval(source: string, keys: readonly string[], args: readonly CommandArg[]): Promise<unknown>;
  /** GET; rejects with a `WRONGTYPE` error for a key of another type. */
  get(key: string): Promise<string | null>;
  /**
   * MGET of keys that share one slot; a key of another type reads as null (MGET, unlike GET, does not
   * refuse it).
   */
  mget(keys: readonly string[]): Promise<(string | null)[]>;
  /** Classic PUBLISH (heartbeats of the classic bus). */
  publish(channel: string, message: string): Promise<void>;
  /** INFO `section` (to tell a Cluster node given as a single Redis). */
  info(section: string): Promise<string>;
}

/** A command connection to one Redis (not a Cluster). */
export interface StandaloneClient extends CommandClient {
  readonly kind: 'standalone';
  /**
   * Opens a subscriber connection of herdcache's own with this connection's address and credentials, which
   * redials by itself after a loss (without resubscribing: the bus does that, to know when it is done).
   */
  subscriber(): Promise<Subscriber>;
}

/** A command connection to a Redis Cluster. */
export interface ClusterClient extends CommandClient {
  readonly kind: 'cluster';
  /**
   * The cluster's current view of who serves each slot, refreshed from the cluster: `masterOf(slot)` is the
   * `host:port` of the master serving `slot`, undefined while unknown.
   */
  slotMasters(): Promise<(slot: number) => string | undefined>;
  /**
   * Opens a subscriber connection to one master (`host:port`), with the cluster's credentials and TLS. It
   * never redials: a lost shard connection means the topology may have changed, and the bus rebuilds.
   */
  shardSubscriber(address: string): Promise<Subscriber>;
}

/** The `redis` option, resolved to an adapter. */
export type RedisClient = StandaloneClient | ClusterClient;

/** What a subscriber connection reports, beyond its state. */
export interface SubscriberEvents extends ConnectionEvents {
  /** A message on a classic (SUBSCRIBE) or sharded (SSUBSCRIBE) channel. */
  message: (channel: string, message: string) => void;
  /** A sharded channel's slot moved away from this connection: its subscription is gone. */
  moved: () => void;
}

/** A connection that only subscribes (a subscribed connection can do nothing else but PING). */
export interface Subscriber extends Omit<Connection, 'on' | 'off'> {
  on<E extends keyof SubscriberEvents>(event: E, listener: SubscriberEvents[E]): void;
  off<E extends keyof SubscriberEvents>(event: E, listener: SubscriberEvents[E]): void;
  /** SUBSCRIBE; resolves once Redis confirmed every channel. */
  subscribe(channels: readonly string[]): Promise<void>;
  /** SSUBSCRIBE to one channel; resolves once Redis confirmed it. */
  ssubscribe(channel: string): Promise<void>;
  /** PING on the subscribed connection: answered in order with its messages. */
  ping(message: string): Promise<void>;
  /**
   * Drops the socket at once so that the client redials (a connection that looks dead): not a polite close,
   * which would wait for a dead peer to close its side.
   */
  drop(): void;
}
