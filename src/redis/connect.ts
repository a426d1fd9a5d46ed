import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis';
import { ConfigurationError } from '../errors.js';
import type { Bus } from '../types.js';
import { KeySpace } from './keys.js';
import { OutageReporter } from './outage.js';
import { RedisBus } from './redis-bus.js';
import { RedisTier } from './redis-tier.js';
import { ShardedBus } from './sharded-bus.js';

/** How to reach a Redis Cluster: the URLs of some of its nodes (herdcache discovers the rest). */
export interface RedisClusterConfig {
  /** `redis://` or `rediss://` URLs of one or more cluster nodes. */
  readonly cluster: readonly string[];
}

/** What the `redis` option accepts. */
export type RedisConnection = Redis | Cluster | string | RedisClusterConfig;

/**
 * Options for connections herdcache opens itself: fail fast instead of queueing commands through a
 * reconnect, keep reconnecting in the background. A connection that leaves a command unanswered for ten
 * deadlines is cut and redialled: on a half-open network (a dropped NAT entry, a failed-over address) nothing
 * else would tell it is dead until TCP gives up, many minutes later, and the node would stay off Redis.
 */
function ownedConnection(redisTimeout: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    socketTimeout: Math.max(1_000, 10 * redisTimeout),
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1_000),
  };
}

/**
 * The subscriber only ever sends SUBSCRIBE, which may wait for the connection. RedisBus resubscribes itself
 * after a reconnect, to know when the subscription is back.
 */
function subscriberConnection(redisTimeout: number): RedisOptions {
  return {
    ...ownedConnection(redisTimeout),
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    autoResubscribe: false,
  };
}

/** What `connectRedis` hands the cache. */
export interface RedisParts {
  readonly tier: RedisTier;
  readonly bus: Bus;
}

function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

function nodeOf(url: string): ClusterNode {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || 6379) };
}

/** Credentials and TLS of a cluster URL, which every connection to its nodes needs as well. */
function urlOptions(url: string): RedisOptions {
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * A URL or client that turns out to be one node of a cluster would work for the keys of its own slots only:
 * say so once, and keep herdcache off that Redis rather than half-working.
 */
function refuseClusterNode(client: Redis, tier: RedisTier, onError: (error: Error) => void): void {
  const check = () => {
    client.info('cluster').then(
      (info) => {
        if (!/cluster_enabled:1/.test(info)) return;
        const where = `${client.options.host ?? 'localhost'}:${client.options.port ?? 6379}`;
        const error = new ConfigurationError(
          `${where} is a Redis Cluster node: pass \`redis: { cluster: ['redis://${where}'] }\` or an ioredis Cluster. herdcache stays off this Redis (single-process mode) until then.`,
        );
        tier.refuse(error.message);
        onError(error);
      },
      () => {},
    );
  };
  if (client.status === 'ready') check();
  else client.once('ready', check);
}

/** Opens (for a URL or node list) or borrows (for a client) the connections herdcache needs. */
export function connectRedis(
  redis: RedisConnection,
  prefix: string,
  nodeId: string,
  connectWait: number,
  onError: (error: Error) => void,
): RedisParts {
  // Connection errors come one per reconnect attempt: an outage is reported once, then reminded of.
  const outage = new OutageReporter(onError);
  if (typeof redis === 'string') {
    const keys = new KeySpace(prefix);
    const client = new Redis(redis, ownedConnection(connectWait));
    outage.watch(client, 'connection');
    const tier = new RedisTier(client, keys, true, connectWait);
    refuseClusterNode(client, tier, onError);
    const bus = classicBus(
      keys,
      nodeId,
      client,
      outage,
      async () => new Redis(redis, subscriberConnection(connectWait)),
    );
    return { tier, bus };
  }
  if ('cluster' in redis && Array.isArray(redis.cluster)) {
    const first = redis.cluster[0] as string;
    const cluster = new Cluster(redis.cluster.map(nodeOf), {
      enableOfflineQueue: false,
      redisOptions: { ...ownedConnection(connectWait), ...urlOptions(first) },
      clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1_000),
    });
    outage.watch(cluster, 'cluster connection');
    const subscriberOptions = { ...subscriberConnection(connectWait), ...urlOptions(first) };
    return clusterParts(cluster, true, prefix, subscriberOptions, connectWait, outage);
  }
  const borrowed = redis as Redis | Cluster;
  if (isCluster(borrowed)) {
    const subscriberOptions = { ...borrowed.options.redisOptions, ...subscriberConnection(connectWait) };
    return clusterParts(borrowed, false, prefix, subscriberOptions, connectWait, outage);
  }
  const keys = new KeySpace(prefix);
  const tier = new RedisTier(borrowed, keys, false, connectWait);
  refuseClusterNode(borrowed, tier, onError);
  const bus = classicBus(keys, nodeId, borrowed, outage, async () =>
    borrowed.duplicate(subscriberConnection(connectWait)),
  );
  return { tier, bus };
}

/** Classic pub/sub on one channel, through a subscriber connection of our own (even for a borrowed client). */
function classicBus(
  keys: KeySpace,
  nodeId: string,
  publisher: Redis,
  outage: OutageReporter,
  dial: () => Promise<Redis>,
): RedisBus {
  return new RedisBus(
    async () => {
      const subscriber = await dial();
      outage.watch(subscriber, 'subscriber connection');
      return subscriber;
    },
    publisher,
    keys.channel,
    keys.beatChannel(nodeId),
  );
}

/** A Redis Cluster: keys and notices by slot group, sharded pub/sub. */
function clusterParts(
  cluster: Cluster,
  owned: boolean,
  prefix: string,
  subscriberOptions: RedisOptions,
  connectWait: number,
  outage: OutageReporter,
): RedisParts {
  const keys = new KeySpace(prefix, 'sharded');
  return {
    tier: new RedisTier(cluster, keys, owned, connectWait),
    bus: new ShardedBus(cluster, keys, subscriberOptions, outage),
  };
}
