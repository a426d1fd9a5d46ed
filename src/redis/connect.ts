import type { IoredisClientLike } from '../clients/ioredis/shape.js';
import type { NodeRedisClientLike } from '../clients/node-redis/shape.js';
import { type ClientLibrary, LIBRARIES, resolveClient } from '../clients/resolve.js';
import { ConfigurationError, messageOf } from '../errors.js';
import type { Bus } from '../types.js';
import type { StandaloneClient } from './client-port.js';
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

/**
 * What the `redis` option accepts: a `redis://` or `rediss://` URL, `{ cluster: [urls] }`, or a client the
 * app made: an ioredis 5 or 6 `Redis` or `Cluster`, or a node-redis v5 `createClient()` or `createCluster()`.
 */
export type RedisConnection = string | RedisClusterConfig | IoredisClientLike | NodeRedisClientLike;

export type { IoredisClientLike, NodeRedisClientLike };

/** What `connectRedis` hands the cache. */
export interface RedisParts {
  readonly tier: RedisTier;
  readonly bus: Bus;
}

/**
 * A URL or client that turns out to be one node of a cluster would work for the keys of its own slots only:
 * say so once, and keep herdcache off that Redis rather than half-working.
 */
function refuseClusterNode(client: StandaloneClient, tier: RedisTier, onError: (error: Error) => void): void {
  const check = () => {
    client.off('ready', check);
    client.info('cluster').then(
      (info) => {
        if (!/cluster_enabled:1/.test(info)) return;
        const where = client.address;
        const error = new ConfigurationError(
          `${where} is a Redis Cluster node: pass \`redis: { cluster: ['redis://${where}'] }\` or a cluster client (ioredis \`Cluster\`, node-redis \`createCluster\`). herdcache stays off this Redis (single-process mode) until then.`,
        );
        tier.refuse(error.message);
        onError(error);
      },
      () => {},
    );
  };
  if (client.state === 'ready') check();
  else client.on('ready', check);
}

/**
 * Opens (for a URL or node list) or borrows (for a client) the connections herdcache needs.
 *
 * @param libraries which client libraries may open a connection for a URL, in order of preference.
 */
export function connectRedis(
  redis: RedisConnection,
  prefix: string,
  nodeId: string,
  connectWait: number,
  onError: (error: Error) => void,
  libraries: readonly ClientLibrary[] = LIBRARIES,
): RedisParts {
  // Connection errors come one per reconnect attempt: an outage is reported once, then reminded of.
  const outage = new OutageReporter(onError);
  const { client, owned, opening } = resolveClient(redis, connectWait, libraries);
  if (owned) outage.watch(client, client.kind === 'cluster' ? 'cluster connection' : 'connection');
  if (client.kind === 'cluster') {
    const keys = new KeySpace(prefix, 'sharded');
    const tier = new RedisTier(client, keys, owned, connectWait);
    // No client library: the bus reports it (its subscription fails with the same error), the tier refuses.
    opening?.catch((error: unknown) => tier.refuse(messageOf(error)));
    return { tier, bus: new ShardedBus(client, keys, outage) };
  }
  const keys = new KeySpace(prefix);
  const tier = new RedisTier(client, keys, owned, connectWait);
  opening?.catch((error: unknown) => tier.refuse(messageOf(error)));
  refuseClusterNode(client, tier, onError);
  // Classic pub/sub on one channel, through a subscriber connection of our own (even for a borrowed client).
  const bus = new RedisBus(
    async () => {
      const subscriber = await client.subscriber();
      outage.watch(subscriber, 'subscriber connection');
      return subscriber;
    },
    client,
    keys.channel,
    keys.beatChannel(nodeId),
  );
  return { tier, bus };
}
