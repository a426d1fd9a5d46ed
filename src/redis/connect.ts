import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis';
import { ConfigurationError } from '../errors.js';
import { KeySpace } from './keys.js';
import { RedisBus } from './redis-bus.js';
import { RedisTier } from './redis-tier.js';

/** How to reach a Redis Cluster: the URLs of some of its nodes (herdcache discovers the rest). */
export interface RedisClusterConfig {
  /** `redis://` or `rediss://` URLs of one or more cluster nodes. */
  readonly cluster: readonly string[];
}

/** What the `redis` option accepts. */
export type RedisConnection = Redis | Cluster | string | RedisClusterConfig;

/** A cluster subscriber that cannot reach its node this many times in a row moves to another node. */
const SUBSCRIBER_ATTEMPTS_PER_NODE = 3;

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
  readonly bus: RedisBus;
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
 * Subscriber connections to a cluster's nodes in turn: each gives up after a few failed attempts, and the
 * bus then dials the next node, from the cluster's current view (waiting for its first one if need be).
 */
function clusterSubscribers(cluster: Cluster, options: RedisOptions): () => Promise<Redis> {
  let turn = 0;
  return async () => {
    if (cluster.nodes('all').length === 0) await new Promise((resolve) => cluster.once('ready', resolve));
    const nodes = cluster.nodes('all');
    const node = nodes[turn++ % nodes.length] as Redis;
    return new Redis({
      ...options,
      host: node.options.host,
      port: node.options.port,
      retryStrategy: (attempt) =>
        attempt > SUBSCRIBER_ATTEMPTS_PER_NODE ? null : Math.min(50 * 2 ** attempt, 1_000),
    });
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
  const keys = new KeySpace(prefix);
  let client: Redis | Cluster;
  let owned: Redis | Cluster | undefined;
  let dial: () => Promise<Redis>;
  if (typeof redis === 'string') {
    client = owned = new Redis(redis, ownedConnection(connectWait));
    dial = async () => new Redis(redis, subscriberConnection(connectWait));
  } else if ('cluster' in redis && Array.isArray(redis.cluster)) {
    const first = redis.cluster[0] as string;
    const nodeOptions = { ...ownedConnection(connectWait), ...urlOptions(first) };
    const cluster = new Cluster(redis.cluster.map(nodeOf), {
      enableOfflineQueue: false,
      redisOptions: nodeOptions,
      clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1_000),
    });
    client = owned = cluster;
    dial = clusterSubscribers(cluster, { ...subscriberConnection(connectWait), ...urlOptions(first) });
  } else {
    const borrowed = redis as Redis | Cluster;
    client = borrowed;
    dial = isCluster(borrowed)
      ? clusterSubscribers(borrowed, {
          ...borrowed.options.redisOptions,
          ...subscriberConnection(connectWait),
        })
      : async () => borrowed.duplicate(subscriberConnection(connectWait));
  }
  if (owned) owned.on('error', onError);
  const tier = new RedisTier(client, keys, owned !== undefined, connectWait);
  if (!isCluster(client)) refuseClusterNode(client, tier, onError);
  const bus = new RedisBus(
    async () => {
      // The subscriber is always ours, even when the command connection is the user's.
      const subscriber = await dial();
      subscriber.on('error', onError);
      return subscriber;
    },
    client,
    keys.channel,
    keys.beatChannel(nodeId),
  );
  return { tier, bus };
}
