import { Redis, type RedisOptions } from 'ioredis';
import { KeySpace } from './keys.js';
import { RedisBus } from './redis-bus.js';
import { RedisTier } from './redis-tier.js';

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
  /** The connections herdcache opened, which it closes. */
  readonly connections: readonly Redis[];
}

/** Opens (for a URL) or borrows (for a client) the connections herdcache needs. */
export function connectRedis(
  redis: Redis | string,
  prefix: string,
  connectWait: number,
  onError: (error: Error) => void,
): RedisParts {
  const keys = new KeySpace(prefix);
  const owned = typeof redis === 'string';
  const client = typeof redis === 'string' ? new Redis(redis, ownedConnection(connectWait)) : redis;
  // The subscriber is always ours, even when the command connection is the user's.
  const subscriber =
    typeof redis === 'string'
      ? new Redis(redis, subscriberConnection(connectWait))
      : redis.duplicate(subscriberConnection(connectWait));
  subscriber.on('error', onError);
  if (owned) client.on('error', onError);
  return {
    tier: new RedisTier(client, keys, owned, connectWait),
    bus: new RedisBus(subscriber, client, keys.channel),
    connections: owned ? [client, subscriber] : [subscriber],
  };
}
