import type { ClusterClient, StandaloneClient } from '../../redis/client-port.js';
import { NodeRedisStandalone } from './client.js';
import { NodeRedisClusterClient } from './cluster.js';
import type { NodeRedisCluster, NodeRedisConnection } from './shape.js';

/** The `redis` module as herdcache uses it. */
export interface NodeRedisModule {
  createClient(options: object): NodeRedisConnection;
  createCluster(options: object): NodeRedisCluster;
}

/**
 * Options for connections herdcache opens itself: fail fast instead of queueing commands through a
 * reconnect, keep reconnecting in the background (the same backoff as with ioredis).
 */
function ownedOptions(tls = false): object {
  return {
    disableOfflineQueue: true,
    socket: {
      ...(tls ? { tls: true } : {}),
      connectTimeout: 2_000,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1_000),
    },
  };
}

/** Opens a connection of herdcache's own to the Redis at `url`. */
export function openNodeRedis(redis: NodeRedisModule, url: string): StandaloneClient {
  const client = redis.createClient({ url, ...ownedOptions() });
  const port = new NodeRedisStandalone(client);
  // Failures are reported through `error` events; node-redis keeps redialling.
  client.connect().catch(() => {});
  return port;
}

/** Opens a cluster client of herdcache's own, given the URLs of some of its nodes. */
export function openNodeRedisCluster(redis: NodeRedisModule, urls: readonly string[]): ClusterClient {
  const cluster = redis.createCluster({
    rootNodes: urls.map((url) => ({ url })),
    // The credentials and TLS of the first URL go to every node, as with ioredis.
    defaults: { ...ownedOptions(urls[0]?.startsWith('rediss:')), ...credentials(urls[0] as string) },
  });
  return new NodeRedisClusterClient(cluster, true);
}

function credentials(url: string): object {
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
  };
}

/** The port over a node-redis client or cluster the app made (and keeps: herdcache never closes it). */
export function borrowNodeRedis(
  client: NodeRedisConnection | NodeRedisCluster,
  cluster: boolean,
): StandaloneClient | ClusterClient {
  return cluster
    ? new NodeRedisClusterClient(client as NodeRedisCluster, false)
    : new NodeRedisStandalone(client as NodeRedisConnection);
}
