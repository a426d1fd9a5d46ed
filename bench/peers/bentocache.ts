import type { Peer } from './types.js';

/** bentocache, loaded lazily: it lives in its own package (bentocache-env) with its own ioredis 5. */
export const bentocache: Peer = {
  name: 'bentocache',
  setup: 'L1 memoryDriver + L2 redisDriver + redisBusDriver; getOrSet({ key, factory })',
  packages: ['bentocache', 'ioredis'],
  installedIn: new URL('./bentocache-env/', import.meta.url),
  async create(config) {
    const { createBentocache } = await import('./bentocache-env/adapter.js');
    return createBentocache(config);
  },
};
