import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Cache } from '../../src/index.js';
import { KeySpace } from '../../src/redis/keys.js';
import { type SpawnedRedis, spawnRedis } from '../support/redis-server.js';
import { flushed, prefix, urlNode } from './support/nodes.js';
import { type SilentProxy, startProxy } from './support/proxy.js';

let redis: SpawnedRedis;
let proxy: SilentProxy;
let cache: Cache | undefined;

beforeEach(async () => {
  redis = await spawnRedis();
  proxy = await startProxy(redis.port);
});
afterEach(async () => {
  await cache?.close();
  cache = undefined;
  await proxy.close();
  await redis.stop();
});

/** The scenario's clock (a breaker cooldown passing), never used to wait for something to happen. */
const elapse = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SLACK = 150;

describe('a network that goes silent (connections open, nothing arrives)', () => {
  it('stays bounded by the deadline, then replaces both connections and uses Redis again', async () => {
    const redisTimeout = 100;
    const cooldown = 200;
    const p = prefix();
    const node = urlNode(proxy.url, {
      prefix: p,
      redisTimeout,
      breaker: { failureThreshold: 2, cooldown },
      heartbeatInterval: 100,
    });
    cache = node.cache;
    await cache.ready();
    expect(await cache.cached('warm', () => 'warm')).toBe('warm');

    const resubscribed = flushed(cache, 'subscriber reconnected');
    proxy.stall();
    for (const key of ['s1', 's2', 's3']) {
      const startedAt = Date.now();
      expect(await cache.cached(key, () => key)).toBe(key);
      expect(Date.now() - startedAt).toBeLessThan(redisTimeout + SLACK);
    }
    // Nothing tells a connection it is dead but the missing answers: both must be cut and redialled, or this
    // node would stay off Redis until TCP gives up (many minutes). Probe at the breaker's pace until it closes.
    const giveUpAt = Date.now() + 5_000;
    for (let i = 0; cache.stats().breakerClose === 0 && Date.now() < giveUpAt; i += 1) {
      await cache.cached(`probe-${i}`, () => i);
      await elapse(cooldown);
    }
    expect(cache.stats().breakerClose).toBe(1);
    // With the command connection back, heartbeats flow again and find the subscription dead: it is redialled.
    const late = elapse(3_000).then(() => 'no resubscription within 3 s');
    expect(await Promise.race([resubscribed.then(() => 'resubscribed'), late])).toBe('resubscribed');
    expect(await cache.cached('after', () => 'after')).toBe('after');
    const admin = new Redis(redis.url);
    try {
      expect(await admin.exists(new KeySpace(p).value('after'))).toBe(1);
    } finally {
      admin.disconnect();
    }
  });
});
