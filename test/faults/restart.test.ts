import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Cache, CacheOptions } from '../../src/index.js';
import { KeySpace } from '../../src/redis/keys.js';
import { type SpawnedRedis, spawnRedis } from '../support/redis-server.js';
import { type ChildNode, startChildren, stopChildren } from './support/child-node.js';
import { gatedLoader, prefix, type SpiedNode, spiedNode, urlNode } from './support/nodes.js';

let redis: SpawnedRedis;
let children: ChildNode[] = [];
let caches: Cache[] = [];
let spied: SpiedNode[] = [];

beforeEach(async () => {
  redis = await spawnRedis();
});
afterEach(async () => {
  await stopChildren(children);
  await Promise.all([...caches.map((cache) => cache.close()), ...spied.map((node) => node.close())]);
  children = [];
  caches = [];
  spied = [];
  await redis.stop();
});

/** The scenario's clock (a breaker cooldown passing), never used to wait for something to happen. */
const elapse = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SLACK = 150;

function node(options: CacheOptions): { cache: Cache; errors: Error[] } {
  const made = urlNode(redis.url, options);
  caches.push(made.cache);
  return made;
}

/** Calls through the child until its breaker has closed again; the cooldown paces the probes. */
async function untilBreakerClosed(child: ChildNode, cooldown: number): Promise<void> {
  for (let attempt = 0; attempt < 40; attempt += 1) {
    if (child.events('breakerClose').length >= child.events('breakerOpen').length) return;
    await child.run(`probe-${attempt}`, 1, {});
    await elapse(cooldown);
  }
  throw new Error(`node ${child.child.pid} never closed its breaker`);
}

describe('Redis killed and restarted', () => {
  it('SIGKILL with 200 calls in flight: every call settles within the deadline plus the loader time', async () => {
    const redisTimeout = 300;
    const loaderMs = 100;
    const options = { prefix: prefix(), redisTimeout, leaseTtl: 5_000 };
    const nodes = { a: node(options).cache, b: node(options).cache };
    await Promise.all([nodes.a.ready(), nodes.b.ready()]);
    const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`);

    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const loads = new Map<string, number>();
    let leadersAndFollowers = 0;
    let allInFlight: () => void = () => {};
    const inFlight = new Promise<void>((resolve) => {
      allInFlight = resolve;
    });
    const count = () => {
      leadersAndFollowers += 1;
      if (leadersAndFollowers === 2 * keys.length) allInFlight();
    };
    const calls = Object.entries(nodes).flatMap(([name, cache]) => {
      cache.on('wait', count);
      return keys.flatMap((key) =>
        Array.from({ length: 5 }, async () => {
          const value = await cache.cached(key, async () => {
            const first = !loads.has(`${name} ${key}`);
            loads.set(`${name} ${key}`, (loads.get(`${name} ${key}`) ?? 0) + 1);
            if (first && loads.size <= keys.length) count();
            await gate;
            await elapse(loaderMs);
            return { key, by: name };
          });
          return { value, at: Date.now() };
        }),
      );
    });
    expect(calls).toHaveLength(200);
    // Every key has its leader loading on one node and its follower waiting on the other.
    await inFlight;
    const killedAt = Date.now();
    await redis.kill();
    open();
    const results = await Promise.allSettled(calls);
    for (const result of results) {
      expect(result.status).toBe('fulfilled');
      if (result.status !== 'fulfilled') continue;
      expect(result.value.at - killedAt).toBeLessThan(redisTimeout + loaderMs + SLACK);
    }
    const settled = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.value] : []));
    expect(settled.every((value, i) => value.key === keys[Math.floor((i % 100) / 5)])).toBe(true);
    // At most one load per key per process, Redis or not.
    expect(Math.max(...loads.values())).toBe(1);
  });

  it('recovers from a kill and restart by itself: scripts reload, cross-node protection resumes', async () => {
    const p = prefix();
    const cooldown = 200;
    children = await startChildren(2, {
      redis: redis.url,
      prefix: p,
      redisTimeout: 200,
      breaker: { failureThreshold: 1, cooldown },
    });
    await Promise.all(children.map((child) => child.run('warm', 1, {})));

    await redis.kill();
    const down = (await Promise.all(children.map((child) => child.run('down', 5, { delay: 50 })))).flat();
    expect(down.every((result) => result.ok)).toBe(true);
    for (const child of children) expect(child.loaderStarts('down')).toBe(1);

    // A new, empty server: no data, no scripts. The same processes find their way back on their own.
    await redis.restart();
    await Promise.all(children.map((child) => untilBreakerClosed(child, cooldown)));
    const cold = (
      await Promise.all(children.map((child) => child.run('cold', 5, { delay: 100, tag: 'after' })))
    ).flat();
    expect(children.reduce((sum, child) => sum + child.loaderStarts('cold'), 0)).toBe(1);
    expect(cold.every((result) => result.ok && result.value?.tag === 'after')).toBe(true);
    // The follower was woken by the leader's message (pub/sub is back), not by its lease timer.
    expect(Math.max(...cold.map((result) => result.at - result.startedAt))).toBeLessThan(1_000);
    const admin = new Redis(redis.url);
    try {
      expect(await admin.exists(new KeySpace(p).value('cold'))).toBe(1);
    } finally {
      admin.disconnect();
    }
  });

  it('reloads its scripts after SCRIPT FLUSH without an error or a breaker trip', async () => {
    const options = { prefix: prefix(), breaker: { failureThreshold: 1, cooldown: 60_000 } };
    const a = node(options);
    const b = node(options);
    await Promise.all([a.cache.ready(), b.cache.ready()]);
    await a.cache.cached('warm', () => 'warm');
    await b.cache.cached('warm', () => 'warm');
    const admin = new Redis(redis.url);
    try {
      await admin.script('FLUSH');
    } finally {
      admin.disconnect();
    }
    const loader = gatedLoader(() => 'cold');
    const leading = a.cache.cached('cold', loader.load);
    await loader.started;
    const following = b.cache.cached('cold', () => 'second load');
    loader.open();
    expect(await Promise.all([leading, following])).toEqual(['cold', 'cold']);
    expect(loader.calls).toBe(1);
    for (const { cache, errors } of [a, b]) {
      expect(errors).toEqual([]);
      expect(cache.stats().breakerOpen).toBe(0);
    }
  });

  it('lets many calls wait for a connection being set up without piling listeners on it', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const a = spiedNode(redis.url, { prefix: prefix() });
      spied.push(a);
      expect(a.client.status).not.toBe('ready');
      const values = await Promise.all(
        Array.from({ length: 50 }, (_, i) => a.cache.cached(`k${i}`, () => i)),
      );
      expect(values).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(a.cache.stats().error).toBe(0);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      expect(a.client.listenerCount('ready')).toBeLessThanOrEqual(1);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
