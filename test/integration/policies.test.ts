import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { type Cache, type CacheOptions, createCache } from '../../src/index.js';
import { KeySpace } from '../../src/redis/keys.js';
import { gate } from '../support/memory-fleet.js';

const redisUrl = inject('redisUrl');
let redis: Redis;
let nodes: Cache[] = [];
beforeAll(() => {
  redis = new Redis(redisUrl);
});
afterAll(async () => {
  await redis.quit();
});
afterEach(async () => {
  await Promise.all(nodes.map((node) => node.close()));
  nodes = [];
});

/** Several caches with their own connections: separate nodes of one fleet, in this process. */
async function fleet(size: number, options: CacheOptions = {}): Promise<{ nodes: Cache[]; keys: KeySpace }> {
  const prefix = `test:policies:${randomUUID()}:`;
  const created = Array.from({ length: size }, () => createCache({ redis: redisUrl, prefix, ...options }));
  nodes.push(...created);
  await Promise.all(created.map((node) => node.ready()));
  return { nodes: created, keys: new KeySpace(prefix) };
}

/** Waits until a value written with a short ttl has expired (the scenario's clock, not synchronisation). */
async function expire(ttl: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ttl + 5));
}

describe('policies against Redis', () => {
  it('fail-safe: a failing loader runs once fleet-wide during the backoff while everyone gets stale', async () => {
    const ttl = 100;
    const { nodes: fleetNodes } = await fleet(3, {
      ttl,
      staleIfError: 60_000,
      failSafeBackoff: 10_000,
      earlyRefresh: false,
    });
    await fleetNodes[0]!.cached('k', () => 'good');
    for (const node of fleetNodes) expect(await node.cached('k', () => 'unused')).toBe('good');
    await expire(ttl);
    const failing = vi.fn(async () => {
      throw new Error('origin down');
    });
    for (let round = 0; round < 3; round += 1) {
      const results = await Promise.all(
        fleetNodes.flatMap((node) => [node.lookup('k', failing), node.lookup('k', failing)]),
      );
      expect(results.every((r) => r.status === 'stale' && r.value === 'good')).toBe(true);
    }
    expect(failing).toHaveBeenCalledTimes(1);
  });

  it('invalidateTag during an in-flight load of a tagged key: the result is stored nowhere', async () => {
    const { nodes: fleetNodes, keys } = await fleet(2);
    const [a, b] = fleetNodes as [Cache, Cache];
    await a.cached('tagged:1', () => 'one', { tags: ['group'] });
    expect(await b.cached('tagged:1', () => 'unused')).toBe('one');
    const slow = gate<string>();
    const loading = a.cached('tagged:2', () => slow.promise, { tags: ['group'] });
    await vi.waitFor(async () => expect(await redis.exists(keys.lease('tagged:2'))).toBe(1));
    await b.invalidateTag('group');
    slow.open('two-before');
    expect(await loading).toBe('two-before');
    expect(await redis.exists(keys.value('tagged:2'))).toBe(0);
    expect(await a.cached('tagged:2', () => 'two-after', { tags: ['group'] })).toBe('two-after');
    expect(await a.cached('tagged:1', () => 'one-after', { tags: ['group'] })).toBe('one-after');
    expect(await b.cached('tagged:1', () => 'unused')).toBe('one-after');
  });

  it('get() never returns a value voided by a tag, even on a node that joined after the invalidation', async () => {
    const prefix = `test:policies:${randomUUID()}:`;
    const a = createCache({ redis: redisUrl, prefix });
    nodes.push(a);
    await a.cached('k', () => 'tagged', { tags: ['t'] });
    expect(await a.get('k')).toBe('tagged');
    await a.invalidateTag('t');
    const late = createCache({ redis: redisUrl, prefix });
    nodes.push(late);
    expect(await late.get('k')).toBeUndefined();
    expect(await a.get('k')).toBeUndefined();
  });

  it('soft timeout on a follower: it serves its stale value instead of waiting out a slow leader', async () => {
    const ttl = 100;
    const { nodes: fleetNodes } = await fleet(2, {
      ttl,
      staleIfError: 60_000,
      softTimeout: 50,
      earlyRefresh: false,
    });
    const [a, b] = fleetNodes as [Cache, Cache];
    await a.cached('k', () => 'old');
    expect(await b.cached('k', () => 'unused')).toBe('old');
    await expire(ttl);
    const slow = gate<string>();
    const leads = gate();
    const leading = a.lookup('k', () => {
      leads.open();
      return slow.promise;
    });
    // b asks only once a holds the lease, so it is the follower.
    await leads.promise;
    const following = b.lookup('k', () => 'never');
    expect(await leading).toMatchObject({ status: 'stale', value: 'old' });
    expect(await following).toMatchObject({ status: 'stale', value: 'old' });
    slow.open('new');
    await vi.waitFor(async () => expect(await b.get('k')).toBe('new'));
  });

  it('jitter spreads the expiry of 1,000 keys written together', async () => {
    const { nodes: fleetNodes, keys } = await fleet(1, { ttl: 10_000, jitter: 0.3, earlyRefresh: false });
    await Promise.all(Array.from({ length: 1_000 }, (_, i) => fleetNodes[0]!.cached(`j${i}`, () => i)));
    const expiries = await Promise.all(
      Array.from({ length: 1_000 }, async (_, i) =>
        Number((await redis.get(keys.value(`j${i}`)))?.split(' ')[3]),
      ),
    );
    const spread = Math.max(...expiries) - Math.min(...expiries);
    expect(spread).toBeGreaterThan(2_000);
    expect(new Set(expiries.map((at) => Math.floor(at / 100))).size).toBeGreaterThan(20);
  });
});
