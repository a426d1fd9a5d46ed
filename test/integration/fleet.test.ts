import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CacheOptions } from '../../src/index.js';
import { KeySpace } from '../../src/redis/keys.js';
import type { ClientName } from '../support/clients.js';
import { type FleetNode, startFleet as startNodes, stopFleet } from '../support/fleet.js';

const redisUrl = inject('redisUrl');
let redis: Redis;
let fleet: FleetNode[] = [];

beforeAll(() => {
  redis = new Redis(redisUrl);
});
afterAll(async () => {
  await redis.quit();
});
afterEach(async () => {
  await stopFleet(fleet);
  fleet = [];
});

function prefix(): string {
  return `test:fleet:${randomUUID()}:`;
}

/** A field of a call's loaded value (the worker's loader returns { pid, n, key, tag, loadedAt }). */
function field(result: { value?: unknown } | undefined, name: 'tag' | 'key'): unknown {
  return (result?.value as Record<string, unknown> | undefined)?.[name];
}

function values(results: { ok: boolean; value?: unknown }[]): unknown[] {
  return results.map((r) => (r.ok ? r.value : 'error'));
}

/**
 * `url`: herdcache opens its connections (with ioredis, installed); the others: each node makes a client of
 * that library and passes it.
 */
const VARIANTS: readonly ('url' | ClientName)[] = ['url', 'ioredis5', 'node-redis'];

describe.each(VARIANTS)('a fleet of processes on one Redis (%s)', (variant) => {
  const startFleet = (size: number, options: CacheOptions) =>
    startNodes(size, options, [], variant === 'url' ? undefined : { name: variant, url: redisUrl });
  it('runs the loader exactly once for 4 processes x 50 callers on a cold key', async () => {
    fleet = await startFleet(4, { redis: redisUrl, prefix: prefix() });
    const results = (await Promise.all(fleet.map((node) => node.run('cold', 50, { delay: 100 })))).flat();
    const loads = fleet.reduce((sum, node) => sum + node.count('loaderStart'), 0);
    expect(loads).toBe(1);
    expect(results).toHaveLength(200);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(new Set(values(results).map((v) => JSON.stringify(v))).size).toBe(1);
  });

  it('keeps loads to one per expiry window under 5 s of load with a 500 ms ttl', async () => {
    const ttl = 500;
    const duration = 5_000;
    fleet = await startFleet(4, { redis: redisUrl, prefix: prefix(), ttl });
    const results = (
      await Promise.all(fleet.map((node) => node.soak(['hot'], 50, duration, 5, { delay: 20 })))
    ).flat();
    const starts = fleet
      .flatMap((node) => node.reports)
      .filter((r) => r.ev === 'loaderStart')
      .map((r) => (r as { at: number }).at)
      .sort((a, b) => a - b);
    expect(results.every((r) => r.ok)).toBe(true);
    // One load per window, plus the first; early refresh may move a load slightly ahead of expiry, never double it.
    expect(starts.length).toBeLessThanOrEqual(Math.ceil(duration / ttl) + 1);
    const gaps = starts.slice(1).map((at, i) => at - (starts[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThan(ttl / 2);
  });

  it('wakes followers in other processes by push, within 50 ms of the leader write', async () => {
    fleet = await startFleet(4, { redis: redisUrl, prefix: prefix(), waitTimeout: 5_000, leaseTtl: 10_000 });
    const [leader, ...followers] = fleet as [FleetNode, ...FleetNode[]];
    const leading = leader.run('push', 1, { gated: true });
    await leader.next('loaderStart');
    const waiting = followers.map((node) => node.next('wait'));
    const following = followers.map((node) => node.run('push', 10, { delay: 1 }));
    await Promise.all(waiting);
    leader.release('push');
    const [loaderEnd] = await Promise.all([leader.next('loaderEnd'), leading]);
    const results = (await Promise.all(following)).flat();
    expect(followers.reduce((sum, node) => sum + node.count('loaderStart'), 0)).toBe(0);
    for (const result of results) {
      expect(result.ok).toBe(true);
      expect(result.at - loaderEnd.at).toBeLessThan(50);
    }
  });

  it('replaces a leader killed with SIGKILL once its lease expires; every caller gets a value', async () => {
    const leaseTtl = 1_000;
    fleet = await startFleet(4, { redis: redisUrl, prefix: prefix(), leaseTtl, waitTimeout: 20_000 });
    const [leader, ...followers] = fleet as [FleetNode, ...FleetNode[]];
    void leader.run('crash', 1, { gated: true }).catch(() => {});
    const started = await leader.next('loaderStart');
    const waiting = followers.map((node) => node.next('wait'));
    const following = followers.map((node) => node.run('crash', 20, { delay: 10 }));
    await Promise.all(waiting);
    leader.kill('SIGKILL');
    const results = (await Promise.all(following)).flat();
    expect(results.every((r) => r.ok)).toBe(true);
    expect(new Set(values(results).map((v) => JSON.stringify(v))).size).toBe(1);
    expect(followers.reduce((sum, node) => sum + node.count('loaderStart'), 0)).toBe(1);
    const slowest = Math.max(...results.map((r) => r.at)) - started.at;
    // Taken over at lease expiry (renewals stopped with the process), well before the wait timeout.
    expect(slowest).toBeLessThan(leaseTtl * 3);
  });

  it('stores nowhere a load that an invalidation overtook; the next read loads anew', async () => {
    const p = prefix();
    fleet = await startFleet(2, { redis: redisUrl, prefix: p });
    const [a, b] = fleet as [FleetNode, FleetNode];
    const loading = a.run('inv', 1, { gated: true, tag: 'v1' });
    await a.next('loaderStart');
    await b.invalidate('inv');
    a.release('inv');
    const [first] = await loading;
    expect(first?.ok).toBe(true);
    expect(field(first, 'tag')).toBe('v1');
    expect(await redis.exists(new KeySpace(p).value('inv'))).toBe(0);
    const [again] = await a.run('inv', 1, { tag: 'v2' });
    const [onB] = await b.run('inv', 1, { tag: 'v3' });
    expect(field(again, 'tag')).toBe('v2');
    expect(again?.status).toBe('miss');
    expect(field(onB, 'tag')).toBe('v2');
    expect(a.count('loaderStart')).toBe(2);
  });

  it('drops an invalidated key from another node within 100 ms', async () => {
    fleet = await startFleet(2, { redis: redisUrl, prefix: prefix() });
    const [a, b] = fleet as [FleetNode, FleetNode];
    await a.run('shared', 1, { tag: 'old' });
    const [warm] = await b.run('shared', 1, { tag: 'unused' });
    expect(warm?.status).toBe('hit');
    const dropped = a.next('invalidated');
    const before = Date.now();
    await b.invalidate('shared');
    const event = await dropped;
    expect(event.at - before).toBeLessThan(100);
    const [after] = await a.run('shared', 1, { tag: 'new' });
    expect(field(after, 'tag')).toBe('new');
  });

  it('delivers a loader error to waiters on every node promptly and releases the lease', async () => {
    const p = prefix();
    fleet = await startFleet(3, { redis: redisUrl, prefix: p, waitTimeout: 5_000, leaseTtl: 10_000 });
    const [leader, ...followers] = fleet as [FleetNode, ...FleetNode[]];
    const leading = leader.run('boom', 5, { gated: true, fail: 'origin down' });
    await leader.next('loaderStart');
    const waiting = followers.map((node) => node.next('wait'));
    const following = followers.map((node) => node.run('boom', 10, {}));
    await Promise.all(waiting);
    leader.release('boom');
    const thrownAt = (await leader.next('loaderEnd')).at;
    const own = await leading;
    const remote = (await Promise.all(following)).flat();
    expect(own.every((r) => !r.ok && r.error?.message === 'origin down' && r.error.name === 'Error')).toBe(
      true,
    );
    for (const r of remote) {
      expect(r.ok).toBe(false);
      expect(r.error).toMatchObject({ code: 'HERDCACHE_REMOTE_LOAD_FAILED', message: 'origin down' });
      expect(r.at - thrownAt).toBeLessThan(200);
    }
    expect(await redis.exists(new KeySpace(p).lease('boom'))).toBe(0);
    const [retry] = await followers[0]!.run('boom', 1, { tag: 'recovered' });
    expect(field(retry, 'tag')).toBe('recovered');
  });

  it('serves stale at once inside stale-while-revalidate while one refresh runs fleet-wide', async () => {
    // Long enough that warming three nodes over IPC fits inside it on a loaded 2-core machine.
    const ttl = 2_000;
    fleet = await startFleet(4, { redis: redisUrl, prefix: prefix(), staleWhileRevalidate: 60_000 });
    const [first, ...others] = fleet as [FleetNode, ...FleetNode[]];
    const [loaded] = await first.run('swr', 1, { tag: 'old' }, { ttl });
    for (const node of others) {
      const [warm] = await node.run('swr', 1, { fail: 'must be served from Redis' }, { ttl });
      expect(warm?.status).toBe('hit');
    }
    // Let the ttl pass: this is the scenario's clock, not synchronisation.
    await new Promise((resolve) => setTimeout(resolve, ttl - (Date.now() - (loaded?.at ?? 0)) + 5));
    const refreshStarted = Promise.any(fleet.map((node) => node.next('loaderStart').then(() => node)));
    const results = (
      await Promise.all(fleet.map((node) => node.run('swr', 50, { gated: true, tag: 'new' })))
    ).flat();
    expect(results.every((r) => r.ok && r.status === 'stale' && field(r, 'tag') === 'old')).toBe(true);
    const refresher = await refreshStarted;
    const refreshed = refresher.next('loaderEnd');
    refresher.release('swr');
    await refreshed;
    // Once the refresh is stored, every node reads the new value; only one refresh ran in the whole fleet.
    for (const node of fleet) {
      await expect
        .poll(async () => field((await node.run('swr', 1, { tag: 'unexpected' }))[0], 'tag'))
        .toBe('new');
    }
    expect(fleet.reduce((sum, node) => sum + node.count('loaderStart'), 0)).toBe(2);
  });

  it('round-trips awkward keys across nodes and isolates prefixes', async () => {
    const awkward = ['{braces}', 'a}{b', 'with spaces', 'ünïcødé ✓ 🐑', 'cr\r\nlf', 'x'.repeat(10_240)];
    const p = prefix();
    fleet = await startFleet(2, { redis: redisUrl, prefix: p });
    const other = await startFleet(1, { redis: redisUrl, prefix: `${p}other:` });
    fleet.push(...other);
    const [a, b, c] = fleet as [FleetNode, FleetNode, FleetNode];
    for (const key of awkward) {
      const [loaded] = await a.run(key, 1, { tag: 'A' });
      const [read] = await b.run(key, 1, { tag: 'B' });
      const [isolated] = await c.run(key, 1, { tag: 'C' });
      expect(field(loaded, 'key')).toBe(key);
      expect(read?.value).toEqual(loaded?.value);
      expect(read?.status).toBe('hit');
      expect(field(isolated, 'tag')).toBe('C');
    }
  });
});
