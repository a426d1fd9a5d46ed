import type { Payload, Peer } from './types.js';

/** cacheable: in-memory primary plus @keyv/redis as secondary, getOrSet for stampede protection. */
export const cacheablePeer: Peer = {
  name: 'cacheable',
  setup: 'new Cacheable({ secondary: new KeyvRedis(url), ttl }).getOrSet(key, fn, { ttl })',
  packages: ['cacheable', '@keyv/redis'],
  async create(config) {
    const [{ default: KeyvRedis }, { Cacheable }] = await Promise.all([
      import('@keyv/redis'),
      import('cacheable'),
    ]);
    const cache = new Cacheable({ secondary: new KeyvRedis(config.redisUrl), ttl: config.ttl });
    return {
      get: async (key, load) => {
        const value = await cache.getOrSet<Payload>(key, () => load(key), { ttl: config.ttl });
        if (value === undefined) throw new Error('getOrSet returned undefined');
        return value;
      },
      close: async () => {
        await cache.disconnect();
      },
    };
  },
};
