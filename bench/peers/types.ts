import type { RedisClusterConfig } from '../../src/index.js';

/**
 * A Redis to connect to as plain data (a URL, or `{ cluster: [urls] }`), so it crosses the IPC channel to
 * a worker; every such value is also a `RedisConnection` herdcache accepts. Clients cannot be sent.
 */
export type PlainRedisConnection = string | RedisClusterConfig;

/** What every benchmarked loader returns: when it finished, so a caller can tell how old its answer is. */
export interface Payload {
  readonly key: string;
  /** Date.now() just before the loader returned. */
  readonly loadedAt: number;
}

/** The expensive call a cache protects (a database query, an HTTP call). */
export type Load = (key: string) => Promise<Payload>;

/** One library, configured for stampede protection the way its own documentation recommends. */
export interface PeerCache {
  /** Get-or-load: the cached value for `key`, or `load(key)`'s result. */
  get(key: string, load: Load): Promise<Payload>;
  /** The library's own counters, when it has them (reported in the JSON lines). */
  stats?(): Readonly<Record<string, number>>;
  close(): Promise<void>;
}

/** What a peer is created with, in a worker process. */
export interface PeerConfig {
  /** The standalone Redis of the run (the loader-call counters live there too). */
  readonly redisUrl: string;
  /**
   * Where herdcache keeps its entries when not on `redisUrl` (e.g. a Redis Cluster). Only herdcache's rows
   * read it: the other peers are not benchmarked on a cluster, and ignore it.
   */
  readonly cacheRedis?: PlainRedisConnection;
  /** Unique per run and library: rows never see each other's data. */
  readonly namespace: string;
  /** Fresh time in milliseconds. */
  readonly ttl: number;
}

export interface Peer {
  /** Row label. */
  readonly name: string;
  /** One line for the README: how the library is set up. */
  readonly setup: string;
  /** The npm packages behind the row, whose installed versions the report prints. */
  readonly packages: readonly string[];
  /** Where those packages are installed, when not in the root node_modules. */
  readonly installedIn?: URL;
  create(config: PeerConfig): Promise<PeerCache>;
}
