import type { CacheOptions } from '../../src/index.js';
import type { Payload, Peer, PeerConfig } from './types.js';

function herdcachePeer(name: string, setup: string, extra: (config: PeerConfig) => CacheOptions): Peer {
  return {
    name,
    setup,
    packages: ['ioredis', 'lru-cache'],
    async create(config) {
      const { createCache } = await import('../../src/index.js');
      const cache = createCache({
        redis: config.cacheRedis ?? config.redisUrl,
        prefix: `${config.namespace}:`,
        ttl: config.ttl,
        ...extra(config),
      });
      // Failures reach the benchmark through rejected gets; Redis trouble shows in stats().error.
      cache.on('error', () => {});
      await cache.ready();
      return {
        get: (key, load) => cache.cached<Payload>(key, () => load(key)),
        stats: () => cache.stats(),
        close: () => cache.close(),
      };
    },
  };
}

/** herdcache with its defaults: followers wait for the fleet's single load. */
export const herdcache = herdcachePeer('herdcache', 'createCache({ redis, ttl }), defaults', () => ({}));

/** herdcache without early refresh: the baseline of the freshness scenario (callers wait once per expiry). */
export const herdcacheNoEarlyRefresh = herdcachePeer(
  'herdcache (no early refresh)',
  'createCache({ redis, ttl, earlyRefresh: false })',
  () => ({ earlyRefresh: false }),
);

/** herdcache serving the stale value while one background refresh runs. */
export const herdcacheSwr = herdcachePeer(
  'herdcache (swr)',
  'createCache({ redis, ttl, staleWhileRevalidate: ttl })',
  (config) => ({ staleWhileRevalidate: config.ttl }),
);
