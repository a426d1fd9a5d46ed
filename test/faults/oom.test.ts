import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Cache, RedisUnavailableError } from '../../src/index.js';
import { KeySpace } from '../../src/redis/keys.js';
import { type SpawnedRedis, spawnRedis } from '../support/redis-server.js';
import { prefix, urlNode } from './support/nodes.js';

let redis: SpawnedRedis;
let admin: Redis;
let caches: Cache[] = [];

beforeEach(async () => {
  redis = await spawnRedis();
  admin = new Redis(redis.url);
});
afterEach(async () => {
  await Promise.all(caches.map((cache) => cache.close()));
  caches = [];
  admin.disconnect();
  await redis.stop();
});

/** The scenario's clock (a breaker cooldown passing), never used to wait for something to happen. */
const elapse = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Redis out of memory (maxmemory 1, noeviction)', () => {
  it('serves from Redis, the local tier or one load per key per process; no caller sees the OOM', async () => {
    const p = prefix();
    const cooldown = 300;
    const options = { prefix: p, redisTimeout: 300, breaker: { failureThreshold: 3, cooldown } };
    const nodes = [urlNode(redis.url, options), urlNode(redis.url, options)];
    caches.push(...nodes.map((n) => n.cache));
    const [a, b] = nodes.map((n) => n.cache) as [Cache, Cache];
    await Promise.all([a.ready(), b.ready()]);
    expect(await a.cached('warm', () => 'stored before')).toBe('stored before');

    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    await expect(admin.set(`${p}probe`, 'x')).rejects.toThrow(/OOM/);

    // Reads still work: B has never seen the key and gets it from Redis.
    expect(await b.lookup('warm', () => 'reloaded')).toMatchObject({
      value: 'stored before',
      tier: 'shared',
    });

    const loads = new Map<string, number>();
    const keys = ['c1', 'c2', 'c3', 'c4', 'c5'];
    const calls = [a, b].flatMap((cache, n) =>
      keys.flatMap((key) =>
        Array.from({ length: 20 }, () =>
          cache.cached(key, async () => {
            loads.set(`${n} ${key}`, (loads.get(`${n} ${key}`) ?? 0) + 1);
            await elapse(20);
            return `${key} from ${n}`;
          }),
        ),
      ),
    );
    const results = await Promise.allSettled(calls);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(Math.max(...loads.values())).toBe(1);
    // Writes are refused; deletes are not: invalidation keeps working.
    await expect(a.set('explicit', 'x')).rejects.toBeInstanceOf(RedisUnavailableError);
    await elapse(cooldown);
    await b.invalidate('warm');
    expect(await admin.exists(new KeySpace(p).value('warm'))).toBe(0);

    // Memory is back: after the cooldown, a probe closes each breaker and values are stored again.
    await admin.config('SET', 'maxmemory', '0');
    await elapse(cooldown);
    await Promise.all([a.cached('after-1', () => 1), b.cached('after-2', () => 2)]);
    for (const cache of [a, b]) expect(cache.stats().breakerOpen).toBe(cache.stats().breakerClose);
    let coldLoads = 0;
    const cold = () => {
      coldLoads += 1;
      return elapse(50).then(() => 'cold');
    };
    expect(await Promise.all([a.cached('cold', cold), b.cached('cold', cold)])).toEqual(['cold', 'cold']);
    expect(coldLoads).toBe(1);
  });
});
