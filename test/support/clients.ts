/**
 * The Redis client adapters the contract and fleet suites run against: each makes a client the way an app
 * would (connected, with the library's defaults) and hands it to herdcache as the `redis` option.
 */
import { Redis as Ioredis6, Cluster as Ioredis6Cluster } from 'ioredis';
import { Redis as Ioredis5, Cluster as Ioredis5Cluster } from 'ioredis5';
import { createClient, createCluster } from 'redis';
import type { RedisConnection } from '../../src/index.js';

/** A client library (and major) herdcache supports. */
export type ClientName = 'ioredis' | 'ioredis5' | 'node-redis';

/** Every supported client, for `describe.each`. */
export const CLIENTS: readonly ClientName[] = ['ioredis', 'ioredis5', 'node-redis'];

/** A client the test owns, and how to close it. */
export interface MadeClient {
  readonly redis: RedisConnection;
  close(): Promise<void>;
}

function node(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

/** A client of `name` for the Redis at `url`. */
export async function makeClient(name: ClientName, url: string): Promise<MadeClient> {
  if (name === 'node-redis') {
    const client = createClient({ url });
    client.on('error', () => {});
    await client.connect();
    return { redis: client, close: () => client.close() };
  }
  const client = name === 'ioredis' ? new Ioredis6(url) : new Ioredis5(url);
  client.on('error', () => {});
  return { redis: client, close: async () => void (await client.quit()) };
}

/** A cluster client of `name` for the Redis Cluster with nodes at `urls`. */
export async function makeClusterClient(name: ClientName, urls: readonly string[]): Promise<MadeClient> {
  if (name === 'node-redis') {
    const cluster = createCluster({ rootNodes: urls.map((url) => ({ url })) });
    cluster.on('error', () => {});
    await cluster.connect();
    return { redis: cluster, close: () => cluster.close() };
  }
  const cluster =
    name === 'ioredis' ? new Ioredis6Cluster(urls.map(node)) : new Ioredis5Cluster(urls.map(node));
  cluster.on('error', () => {});
  return { redis: cluster, close: async () => void (await cluster.quit()) };
}
