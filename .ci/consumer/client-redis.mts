// Type-checked (strict, nodenext) against node-redis: its createClient and createCluster are what `redis` takes.
import { createCache } from 'herdcache';
import { createClient, createCluster } from 'redis';

export const standalone = createCache({ redis: createClient({ url: 'redis://127.0.0.1:6379' }) });
export const cluster = createCache({
  redis: createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:7000' }] }),
});
export const byUrl = createCache({ redis: { cluster: ['redis://127.0.0.1:7000'] } });
// @ts-expect-error a client of something else is not a Redis client
export const wrong = createCache({ redis: { isOpen: true } });
