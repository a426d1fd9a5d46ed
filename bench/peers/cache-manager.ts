import type { Payload, Peer } from './types.js';

/** cache-manager 7 with the two stores of its README: CacheableMemory in process, then @keyv/redis. */
export const cacheManager: Peer = {
  name: 'cache-manager',
  setup: 'createCache({ stores: [Keyv(CacheableMemory), Keyv(KeyvRedis)] }).wrap(key, fn, ttl)',
  packages: ['cache-manager', 'keyv', '@keyv/redis', 'cacheable'],
  async create(config) {
    const [{ default: KeyvRedis }, { createCache }, { CacheableMemory }, { Keyv }] = await Promise.all([
      import('@keyv/redis'),
      import('cache-manager'),
      import('cacheable'),
      import('keyv'),
    ]);
    const memory = new Keyv({ store: new CacheableMemory({ ttl: config.ttl, lruSize: 10_000 }) });
    const redis = new Keyv({ store: new KeyvRedis(config.redisUrl) });
    const cache = createCache({ stores: [memory, redis], ttl: config.ttl });
    return {
      get: (key, load) => cache.wrap<Payload>(key, () => load(key), config.ttl),
      close: async () => {
        await cache.disconnect();
      },
    };
  },
};
