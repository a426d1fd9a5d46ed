// This file lives beside bentocache's own package.json so that 'bentocache' and its ioredis 5 resolve
// from bentocache-env/node_modules (see the README there).
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis';
import type { PeerCache, PeerConfig } from '../types.js';

/** L1 memory + L2 Redis + Redis bus, as bentocache's multi-tier guide sets it up. */
export async function createBentocache(config: PeerConfig): Promise<PeerCache> {
  const url = new URL(config.redisUrl);
  const connection = { host: url.hostname, port: Number(url.port || 6379) };
  const bento = new BentoCache({
    default: 'multitier',
    prefix: config.namespace,
    ttl: config.ttl,
    stores: {
      multitier: bentostore()
        .useL1Layer(memoryDriver({ maxSize: '10mb' }))
        .useL2Layer(redisDriver({ connection }))
        .useBus(redisBusDriver({ connection })),
    },
  });
  return {
    get: (key, load) => bento.getOrSet({ key, factory: () => load(key) }),
    close: () => bento.disconnectAll(),
  };
}
