import type { ClusterClient, StandaloneClient } from '../../redis/client-port.js';
import { IoredisClusterClient, IoredisStandalone } from './adapter.js';
import type { IoredisCluster, IoredisConnection } from './shape.js';

/** The ioredis module as herdcache uses it (5 and 6 both export these). */
export interface IoredisModule {
  Redis: new (url: string, options: object) => IoredisConnection;
  Cluster: new (nodes: { host: string; port: number }[], options: object) => IoredisCluster;
}

/**
 * Options for connections herdcache opens itself: fail fast instead of queueing commands through a
 * reconnect, keep reconnecting in the background. A connection that leaves a command unanswered for ten
 * deadlines is cut and redialled: on a half-open network (a dropped NAT entry, a failed-over address) nothing
 * else would tell it is dead until TCP gives up, many minutes later, and the node would stay off Redis.
 */
function ownedConnection(redisTimeout: number): object {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    socketTimeout: Math.max(1_000, 10 * redisTimeout),
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 1_000),
  };
}

/**
 * The subscriber only ever sends SUBSCRIBE, which may wait for the connection. The bus resubscribes itself
 * after a reconnect, to know when the subscription is back.
 */
export function subscriberConnection(redisTimeout: number): object {
  return {
    ...ownedConnection(redisTimeout),
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    autoResubscribe: false,
  };
}

function nodeOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || 6379) };
}

/** Credentials and TLS of a cluster URL, which every connection to its nodes needs as well. */
function urlOptions(url: string): object {
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** Opens a connection of herdcache's own to the Redis at `url`. */
export function openIoredis(ioredis: IoredisModule, url: string, redisTimeout: number): StandaloneClient {
  return new IoredisStandalone(
    new ioredis.Redis(url, ownedConnection(redisTimeout)),
    subscriberConnection(redisTimeout),
  );
}

/** Opens a cluster client of herdcache's own, given the URLs of some of its nodes. */
export function openIoredisCluster(
  ioredis: IoredisModule,
  urls: readonly string[],
  redisTimeout: number,
): ClusterClient {
  const first = urls[0] as string;
  const cluster = new ioredis.Cluster(urls.map(nodeOf), {
    enableOfflineQueue: false,
    redisOptions: { ...ownedConnection(redisTimeout), ...urlOptions(first) },
    clusterRetryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 1_000),
  });
  return new IoredisClusterClient(cluster, {
    ...subscriberConnection(redisTimeout),
    ...urlOptions(first),
  });
}

/** The port over a client the app made (and keeps: herdcache never closes it). */
export function borrowIoredis(
  client: IoredisConnection | IoredisCluster,
  redisTimeout: number,
): StandaloneClient | ClusterClient {
  if ((client as { isCluster?: boolean }).isCluster === true) {
    const cluster = client as IoredisCluster;
    return new IoredisClusterClient(cluster, {
      ...cluster.options.redisOptions,
      ...subscriberConnection(redisTimeout),
    });
  }
  return new IoredisStandalone(client as IoredisConnection, subscriberConnection(redisTimeout));
}
