import type { Load, Payload, Peer } from './types.js';

/** async-cache-dedupe with its Redis storage (an ioredis client, as its README asks). */
export const asyncCacheDedupe: Peer = {
  name: 'async-cache-dedupe',
  setup:
    "createCache({ ttl: seconds, storage: { type: 'redis', options: { client: ioredis } } }).define(...)",
  packages: ['async-cache-dedupe', 'ioredis'],
  async create(config) {
    const [{ createCache }, { Redis }] = await Promise.all([import('async-cache-dedupe'), import('ioredis')]);
    const client = new Redis(config.redisUrl);
    client.on('error', () => {});
    // Its ttl is in whole seconds.
    const ttl = Math.max(1, Math.round(config.ttl / 1000));
    // define() fixes one function per name; the benchmark's loader is the same on every call, so the
    // defined function calls the one most recently passed in.
    let current: Load | undefined;
    const cache = createCache({ ttl, storage: { type: 'redis', options: { client } } }).define(
      'load',
      (key: string): Promise<Payload> => current!(key),
    );
    return {
      get: (key, load) => {
        current = load;
        return cache.load(key);
      },
      close: async () => {
        await client.quit();
      },
    };
  },
};
