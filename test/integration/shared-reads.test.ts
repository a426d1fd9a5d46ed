/**
 * Plain shared reads asked for in one tick go to Redis as one MGET. Counted by the server itself
 * (`INFO commandstats` of a Redis of this file's own), through every supported client.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache } from '../../src/index.js';
import { KeySpace } from '../../src/redis/keys.js';
import { KEYS_PER_READ } from '../../src/redis/read-batch.js';
import { CLIENTS, makeClient } from '../support/clients.js';
import { type SpawnedRedis, spawnRedis } from '../support/redis-server.js';

let server: SpawnedRedis;
let admin: Redis;
beforeAll(async () => {
  server = await spawnRedis();
  admin = new Redis(server.url);
});
afterAll(async () => {
  admin.disconnect();
  await server.stop();
});

/** Calls of each command since the last `CONFIG RESETSTAT`, by lower-case name. */
async function commandCalls(redis: Redis): Promise<Record<string, number>> {
  const calls: Record<string, number> = {};
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match) calls[match[1] as string] = Number(match[2]);
  }
  return calls;
}

describe.each(CLIENTS)('shared reads through %s', (name) => {
  it('sends the shared hits of one tick in MGETs of KEYS_PER_READ, each caller getting its own value', async () => {
    const client = await makeClient(name, server.url);
    const cache = createCache({ redis: client.redis, prefix: `test:reads:${randomUUID()}:`, local: false });
    try {
      // Two full batches, sent as they fill, and three keys left for the end of the tick.
      const keys = Array.from({ length: 2 * KEYS_PER_READ + 3 }, (_, i) => `k${i}`);
      for (const key of keys) await cache.cached(key, async () => `v:${key}`);
      await admin.config('RESETSTAT');
      const values = await Promise.all(keys.map((key) => cache.cached(key, async () => 'reloaded')));
      expect(values).toEqual(keys.map((key) => `v:${key}`));
      const calls = await commandCalls(admin);
      expect(calls.mget).toBe(3);
      expect(calls.get ?? 0).toBe(0);
      expect(calls.evalsha ?? 0).toBe(0);
    } finally {
      await cache.close();
      await client.close();
    }
  });
});

describe('a batch of shared reads meeting a missing key and a foreign one', () => {
  it('serves the others, loads both, and reports the foreign value once', async () => {
    const prefix = `test:reads:${randomUUID()}:`;
    const cache = createCache({ redis: server.url, prefix, local: false });
    const errors: Error[] = [];
    cache.on('error', (error) => errors.push(error));
    try {
      const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
      for (const key of keys) await cache.cached(key, async () => `v:${key}`);
      const space = new KeySpace(prefix);
      await admin.del(space.value('k3'));
      await admin.del(space.value('k5'));
      await admin.hset(space.value('k5'), 'field', 'not ours');
      const loaded: string[] = [];
      const values = await Promise.all(
        keys.map((key) =>
          cache.cached(key, async () => {
            loaded.push(key);
            return `new:${key}`;
          }),
        ),
      );
      expect(values).toEqual(keys.map((key) => (key === 'k3' || key === 'k5' ? `new:${key}` : `v:${key}`)));
      expect(loaded.sort()).toEqual(['k3', 'k5']);
      const reported = errors.filter((error) => error.message.includes('wrong Redis type'));
      expect(reported).toHaveLength(1);
    } finally {
      await cache.close();
    }
  });
});
