import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeySpace } from '../../src/redis/keys.js';
import { type SpawnedRedis, spawnRedis } from '../support/redis-server.js';
import { type ChildNode, startChildren, stopChildren } from './support/child-node.js';
import { events, prefix, type SpiedNode, spiedNode, urlNode } from './support/nodes.js';

let redis: SpawnedRedis;
let nodes: SpiedNode[] = [];
let children: ChildNode[] = [];

beforeEach(async () => {
  redis = await spawnRedis();
});
afterEach(async () => {
  redis.resume();
  await stopChildren(children);
  await Promise.all(nodes.map((node) => node.close()));
  children = [];
  nodes = [];
  await redis.stop();
});

/** The scenario's clock (a breaker cooldown passing), never used to wait for something to happen. */
const elapse = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Timers on a loaded 2-core machine fire late; this is the allowance on top of every bound.
const SLACK = 150;

async function timed<T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const startedAt = Date.now();
  const value = await call();
  return { value, ms: Date.now() - startedAt };
}

describe('a paused Redis (SIGSTOP)', () => {
  it('bounds every call by the deadline, sends nothing while the breaker is open, recovers after SIGCONT', async () => {
    const redisTimeout = 150;
    const cooldown = 400;
    const options = {
      prefix: prefix(),
      redisTimeout,
      breaker: { failureThreshold: 3, cooldown },
      heartbeatInterval: 50,
    };
    // A client with ioredis's defaults (offline queue, 20 retries per request): the deadline must not care.
    const a = spiedNode(redis.url, options);
    nodes.push(a);
    children = await startChildren(2, { ...options, redis: redis.url });
    await a.cache.ready();
    expect(await a.cache.cached('warm', () => 'warm')).toBe('warm');

    redis.pause();
    const opened = events(a.cache, 'breakerOpen');
    const childrenOpened = children.map((child) => child.nextEvent('breakerOpen'));
    const keys = ['p1', 'p2', 'p3'];
    const first = await Promise.all(
      keys.map((key) => timed(() => a.cache.cached(key, () => `loaded ${key}`))),
    );
    const remote = (
      await Promise.all(children.map((child) => Promise.all(keys.map((k) => child.run(k, 1, {})))))
    ).flat(2);
    for (const { value, ms } of first) {
      expect(value).toMatch(/^loaded p\d$/);
      expect(ms).toBeLessThan(redisTimeout + SLACK);
    }
    for (const result of remote) {
      expect(result.ok).toBe(true);
      expect(result.at - result.startedAt).toBeLessThan(redisTimeout + SLACK);
    }
    await opened;
    await Promise.all(childrenOpened);

    // Open: calls are served at once from a local load, and no command at all leaves the node.
    const sentWhenOpened = a.sent.length;
    const open = await Promise.all(
      Array.from({ length: 20 }, (_, i) => timed(() => a.cache.cached(`open-${i}`, () => i))),
    );
    expect(open.map((r) => r.value)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(Math.max(...open.map((r) => r.ms))).toBeLessThan(redisTimeout);
    await elapse(cooldown + 50);
    expect(a.sent.slice(sentWhenOpened)).toEqual([]);

    // Half-open: one probe only; it misses its deadline and the breaker stays open.
    await Promise.all(['h1', 'h2', 'h3'].map((key) => a.cache.cached(key, () => key)));
    expect(a.sent.slice(sentWhenOpened).map((c) => c.name)).toEqual(['evalsha']);
    expect(a.cache.stats().breakerClose).toBe(0);

    const closed = events(a.cache, 'breakerClose');
    const childrenClosed = children.map((child) => child.nextEvent('breakerClose'));
    redis.resume();
    await elapse(cooldown + 50);
    await a.cache.cached('after', () => 'after');
    await Promise.all(children.map((child) => child.run('after', 1, {})));
    await closed;
    await Promise.all(childrenClosed);

    // Cross-node protection is back: a cold key loads once across the three nodes (two processes).
    let localLoads = 0;
    const cold = await Promise.all([
      a.cache.cached('cold', async () => {
        localLoads += 1;
        await elapse(100);
        return { from: 'a' };
      }),
      ...children.map((child) => child.run('cold', 5, { delay: 100, tag: 'child' })),
    ]);
    const loads = localLoads + children.reduce((sum, child) => sum + child.loaderStarts('cold'), 0);
    expect(loads).toBe(1);
    expect(cold.flat().length).toBe(11);
  });

  it('opens the breaker on a Redis slower than the deadline; late answers are not successes', async () => {
    const p = prefix();
    const leaseTtl = 30_000;
    const a = spiedNode(redis.url, {
      prefix: p,
      redisTimeout: 100,
      leaseTtl,
      breaker: { failureThreshold: 3, cooldown: 60_000 },
      heartbeatInterval: 0,
    });
    nodes.push(a);
    await a.cache.ready();
    await a.cache.cached('warm', () => 'warm');
    a.latency = 300;
    const keys = ['s1', 's2', 's3'];
    for (const key of keys) {
      const { value, ms } = await timed(() => a.cache.cached(key, () => key));
      expect(value).toBe(key);
      expect(ms).toBeLessThan(100 + SLACK);
      // Let the late answer arrive before the next call: it must not reset the failure count.
      await a.settled();
    }
    expect(a.cache.stats().breakerOpen).toBe(1);

    // Each late ACQUIRE made this node leader of a lease nobody will use: it must not block the key.
    a.latency = 0;
    const admin = new Redis(redis.url);
    try {
      const space = new KeySpace(p);
      for (const key of keys) expect(await admin.pttl(space.lease(key))).toBe(-2);
    } finally {
      admin.disconnect();
    }
  });

  it('close() does not hang on a paused Redis', async () => {
    const { cache } = urlNode(redis.url, { prefix: prefix() });
    await cache.ready();
    await cache.cached('k', () => 'v');
    redis.pause();
    const { ms } = await timed(() => cache.close());
    // QUIT goes unanswered for 500 ms; then the sockets are cut, not ended politely for another 2 s.
    expect(ms).toBeLessThan(500 + SLACK);
  });
});
