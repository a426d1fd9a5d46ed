// Type-checked (strict, nodenext) against the ioredis installed, 5 or 6: its clients are what `redis` takes.
import { createCache } from 'herdcache';
import { Cluster, Redis } from 'ioredis';

export const standalone = createCache({ redis: new Redis({ lazyConnect: true }) });
export const cluster = createCache({
  redis: new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true }),
});
export const byUrl = createCache({ redis: 'redis://127.0.0.1:6379' });
// @ts-expect-error a client of something else is not a Redis client
export const wrong = createCache({ redis: { status: 'ready' } });
