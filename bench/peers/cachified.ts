import type { Payload, Peer } from './types.js';

/** @epic-web/cachified over Redis through cachified-redis-adapter and a node-redis client, as its README shows. */
export const cachifiedPeer: Peer = {
  name: 'cachified',
  setup: 'cachified({ cache: redisCacheAdapter(createClient()), key, ttl, getFreshValue })',
  packages: ['@epic-web/cachified', 'cachified-redis-adapter', 'redis'],
  async create(config) {
    // Imported here so a broken install fails this row only, and workers load one library each.
    const [{ cachified }, { redisCacheAdapter }, { createClient }] = await Promise.all([
      import('@epic-web/cachified'),
      import('cachified-redis-adapter'),
      import('redis'),
    ]);
    const client = createClient({ url: config.redisUrl });
    client.on('error', () => {});
    await client.connect();
    const cache = redisCacheAdapter(client);
    return {
      get: (key, load) => cachified<Payload>({ cache, key, ttl: config.ttl, getFreshValue: () => load(key) }),
      close: async () => {
        await client.quit();
      },
    };
  },
};
