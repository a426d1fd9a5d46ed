/**
 * One regression test per behaviour observed in the consistency review (issue 9), named by its item. Each
 * fails on the code before the fix. These run in one process; the ones that need a real Redis or clocks
 * that disagree are in observed-redis.test.ts and observed-clocks.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/cache.js';
import { CacheClosedError, createCache, LoadTimeoutError } from '../../src/index.js';
import { MemoryNetwork } from '../../src/memory/memory-network.js';
import type { CacheOptions } from '../../src/options.js';
import type { SharedTier } from '../../src/types.js';
import { gate, memoryFleet, settle } from '../support/memory-fleet.js';

let open: Cache[] = [];
function track<T extends Cache>(cache: T): T {
  open.push(cache);
  return cache;
}
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(open.map((cache) => cache.close()));
  open = [];
});

/** A shared tier that behaves like `inner` except for the methods given. */
function around(inner: SharedTier, overrides: Partial<Record<keyof SharedTier, unknown>>): SharedTier {
  return new Proxy(inner, {
    get(target, property) {
      if (property in overrides) return overrides[property as keyof SharedTier];
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** A node on `network` whose shared tier is `tier`. */
function nodeOn(network: MemoryNetwork, tier: SharedTier, options: CacheOptions = {}): Cache {
  return track(new Cache({ heartbeatInterval: 0, ...options }, { shared: tier, bus: network.bus() }));
}

/** Awaits `promise` while fake time moves on in steps of `step` ms (a loader may be waiting on a timer). */
async function withTime<T>(promise: Promise<T>, step = 1): Promise<T> {
  let done = false;
  const finish = () => {
    done = true;
  };
  promise.then(finish, finish);
  while (!done) await vi.advanceTimersByTimeAsync(step);
  return promise;
}

function fleet(size: number, options: CacheOptions = {}) {
  const made = memoryFleet(size, options);
  for (const node of made.nodes) track(node);
  return made;
}

describe('issue 9, observed', () => {
  it('1: a read racing invalidate on one node does not refill the invalidated value', async () => {
    const [cache] = fleet(1).nodes as [Cache];
    await settle();
    for (let round = 0; round < 10; round += 1) {
      await cache.cached('k', () => `old ${round}`);
      await cache.invalidate('k');
      await cache.cached('k', () => `old ${round}`);
      await Promise.all([cache.invalidate('k'), cache.cached('k', () => 'raced')]);
      expect(await cache.cached('k', () => `new ${round}`)).not.toBe(`old ${round}`);
      await cache.invalidate('k');
    }
  });

  it('1: a read racing set on one node does not keep the value set replaced', async () => {
    const [cache] = fleet(1).nodes as [Cache];
    await settle();
    for (let round = 0; round < 10; round += 1) {
      await cache.set('k', `v1 ${round}`);
      await cache.invalidate('k');
      await cache.cached('k', () => `v1 ${round}`);
      await Promise.all([cache.set('k', `v2 ${round}`), cache.cached('k', () => 'raced')]);
      expect(await cache.cached('k', () => 'loaded')).toBe(`v2 ${round}`);
    }
  });

  it("1: an invalidation one microtask after the loader resolves leaves nothing in the leader's local tier", async () => {
    for (const cache of [track(createCache()), ...fleet(1).nodes]) {
      await settle();
      const loaded = await cache.cached('k', () => {
        queueMicrotask(() => void cache.invalidate('k'));
        return 'overtaken';
      });
      expect(loaded).toBe('overtaken');
      await settle();
      expect(await cache.cached('k', () => 'fresh')).toBe('fresh');
    }
  });

  it('2: a follower that hears loaded then invalidated while its read is stalled keeps neither', async () => {
    const network = new MemoryNetwork();
    // The leader puts the value in its `loaded` notice, as it did when this was observed.
    const inline = { inlineValueLimit: 16_384 };
    const leader = nodeOn(network, network.tier(), inline);
    const invalidator = nodeOn(network, network.tier());
    const inner = network.tier();
    const stall = gate();
    const reached = gate();
    // The follower's read reaches Redis (the leader holds the lease) but its answer is held back.
    const follower = nodeOn(
      network,
      around(inner, {
        acquire: async (...args: unknown[]) => {
          const read = await (inner.acquire as (...a: unknown[]) => Promise<unknown>)(...args);
          reached.open();
          await stall.promise;
          return read;
        },
      }),
    );
    await settle();
    const slow = gate<string>();
    const leading = leader.cached('k', () => slow.promise);
    await settle();
    const following = follower.cached('k', () => 'never');
    await reached.promise;
    // Meanwhile the value is stored and then invalidated; both messages reach the follower.
    slow.open('invalidated value');
    expect(await leading).toBe('invalidated value');
    await invalidator.invalidate('k');
    await settle();
    stall.open();
    expect(await following).toBe('invalidated value');
    expect(await follower.cached('k', () => 'after')).toBe('after');
  });

  it('5: after invalidate resolves, a caller does not join the load it revoked', async () => {
    const [cache] = fleet(1).nodes as [Cache];
    await settle();
    const slow = gate<string>();
    const revoked = cache.cached('k', () => slow.promise);
    await settle();
    await cache.invalidate('k');
    const after = cache.cached('k', () => 'after');
    slow.open('before');
    expect(await revoked).toBe('before');
    expect(await after).toBe('after');
  });

  it('5: after invalidate resolves, a caller does not get the value of a background refresh it revoked', async () => {
    vi.useFakeTimers();
    const [cache] = fleet(1, { ttl: 100, staleWhileRevalidate: 10_000, earlyRefresh: false }).nodes as [
      Cache,
    ];
    await vi.advanceTimersByTimeAsync(0);
    await cache.cached('k', () => 'v1');
    vi.advanceTimersByTime(150);
    const slow = gate<string>();
    expect(await cache.lookup('k', () => slow.promise)).toMatchObject({ status: 'stale', value: 'v1' });
    await cache.invalidate('k');
    const after = cache.cached('k', () => 'after');
    slow.open('refreshed before');
    await vi.advanceTimersByTimeAsync(0);
    expect(await after).toBe('after');
  });

  it('6: a tag named "-" is a tag like any other, also once stored', async () => {
    const [writer, reader] = fleet(2).nodes as [Cache, Cache];
    await settle();
    expect(await writer.cached('k', () => 1, { tags: ['-'] })).toBe(1);
    expect(await reader.cached('k', () => 0, { tags: ['-'] })).toBe(1);
    await reader.invalidateTag('-');
    expect(await reader.cached('k', () => 2, { tags: ['-'] })).toBe(2);
  });

  it("7: a load that lost its lease does not hand its failure to the current leader's followers", async () => {
    const { nodes } = fleet(4);
    const [first, invalidator, current, follower] = nodes as [Cache, Cache, Cache, Cache];
    await settle();
    const failing = gate();
    const overtaken = first.cached('k', async () => {
      await failing.promise;
      throw new Error('overtaken load failed');
    });
    await settle();
    await invalidator.invalidate('k');
    const succeeding = gate<string>();
    const leading = current.cached('k', () => succeeding.promise);
    await settle();
    const following = follower.cached('k', () => 'never');
    await settle();
    failing.open();
    await expect(overtaken).rejects.toThrow('overtaken load failed');
    await settle();
    succeeding.open('current value');
    expect(await leading).toBe('current value');
    expect(await following).toBe('current value');
  });

  it('10: a lease given back unused (taken after its caller gave up) wakes the followers at once', async () => {
    vi.useFakeTimers();
    const network = new MemoryNetwork();
    const inner = network.tier();
    const options = {
      leaseTtl: 3_000,
      redisTimeout: 50,
      breaker: { failureThreshold: 100, cooldown: 1_000 },
    };
    // The lease request reaches Redis, but its answer comes back past the deadline.
    const late = nodeOn(
      network,
      around(inner, {
        acquire: async (...args: unknown[]) => {
          const read = await (inner.acquire as (...a: unknown[]) => Promise<unknown>)(...args);
          await new Promise((resolve) => setTimeout(resolve, 100));
          return read;
        },
      }),
      options,
    );
    late.on('error', () => {});
    const follower = nodeOn(network, network.tier(), options);
    await vi.advanceTimersByTimeAsync(0);
    const slowLocal = gate<string>();
    const degraded = late.cached('k', () => slowLocal.promise);
    await vi.advanceTimersByTimeAsync(60);
    let settled = false;
    const following = follower
      .cached('k', () => 'follower loaded')
      .then((value) => {
        settled = true;
        return value;
      });
    await vi.advanceTimersByTimeAsync(200);
    expect(settled).toBe(true);
    expect(await following).toBe('follower loaded');
    slowLocal.open('local');
    expect(await degraded).toBe('local');
  });

  it('11: close() rejects waiting followers at once and never runs their loader afterwards', async () => {
    vi.useFakeTimers();
    const [leader, follower] = fleet(2, { leaseTtl: 1_000 }).nodes as [Cache, Cache];
    await vi.advanceTimersByTimeAsync(0);
    const slow = gate<string>();
    void leader.cached('k', () => slow.promise).catch(() => {});
    await vi.advanceTimersByTimeAsync(0);
    const loader = vi.fn(() => 'ran after close');
    const following = follower.cached('k', loader);
    await vi.advanceTimersByTimeAsync(0);
    await follower.close();
    await expect(following).rejects.toBeInstanceOf(CacheClosedError);
    await leader.close();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(loader).not.toHaveBeenCalled();
  });

  it("12: a per-call hardTimeout bounds a follower's wait too", async () => {
    vi.useFakeTimers();
    const [leader, follower] = fleet(2, { waitTimeout: 10_000 }).nodes as [Cache, Cache];
    await vi.advanceTimersByTimeAsync(0);
    void leader.cached('k', () => gate<string>().promise).catch(() => {});
    await vi.advanceTimersByTimeAsync(0);
    const following = follower.cached('k', () => 'never', { hardTimeout: 100 });
    following.catch(() => {});
    await vi.advanceTimersByTimeAsync(150);
    await expect(following).rejects.toBeInstanceOf(LoadTimeoutError);
  });

  it('13: without Redis, maxLocalAge does not cut stale-while-revalidate short', async () => {
    vi.useFakeTimers();
    const cache = track(createCache({ ttl: 60_000, staleWhileRevalidate: 30_000 }));
    await cache.cached('k', () => 'v1');
    vi.advanceTimersByTime(70_000);
    expect(await cache.lookup('k', () => gate<string>().promise)).toMatchObject({
      status: 'stale',
      value: 'v1',
    });
  });

  it("13: maxLocalAge counts from this node's fill, so a refill is trusted again", async () => {
    vi.useFakeTimers();
    const [cache] = fleet(1, { ttl: 3_600_000, maxLocalAge: 1_000 }).nodes as [Cache];
    await vi.advanceTimersByTimeAsync(0);
    await cache.cached('k', () => 'v');
    vi.advanceTimersByTime(1_500);
    expect(await cache.lookup('k', () => 'unused')).toMatchObject({ tier: 'shared' });
    expect(await cache.lookup('k', () => 'unused')).toMatchObject({ tier: 'local' });
  });

  it('15: a node serving stale while another node refreshes does not ask Redis on every call', async () => {
    vi.useFakeTimers();
    const network = new MemoryNetwork();
    const options = { ttl: 100, staleWhileRevalidate: 60_000, earlyRefresh: false as const };
    const refresher = nodeOn(network, network.tier(), options);
    const inner = network.tier();
    let acquires = 0;
    const bystander = nodeOn(
      network,
      around(inner, {
        acquire: (...args: unknown[]) => {
          acquires += 1;
          return (inner.acquire as (...a: unknown[]) => Promise<unknown>)(...args);
        },
      }),
      options,
    );
    await vi.advanceTimersByTimeAsync(0);
    await refresher.cached('k', () => 'v1');
    await bystander.cached('k', () => 'unused');
    vi.advanceTimersByTime(150);
    const slow = gate<string>();
    expect(await refresher.lookup('k', () => slow.promise)).toMatchObject({ status: 'stale' });
    await vi.advanceTimersByTimeAsync(0);
    acquires = 0;
    for (let i = 0; i < 50; i += 1) {
      expect(await bystander.lookup('k', () => 'never')).toMatchObject({ status: 'stale', value: 'v1' });
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(acquires).toBeLessThanOrEqual(1);
    slow.open('v2');
    await vi.advanceTimersByTimeAsync(0);
    expect(await bystander.cached('k', () => 'never')).toBe('v2');
  });

  it('16: sizeOf receives the encoded value only, from a shared read too', async () => {
    const sizeOf = (encoded: string) => (JSON.parse(encoded) as string).length;
    const [writer, reader] = fleet(2, { local: { max: 100, maxSize: 1_000, sizeOf } }).nodes as [
      Cache,
      Cache,
    ];
    const errors: Error[] = [];
    reader.on('error', (error) => errors.push(error));
    await settle();
    await writer.cached('k', () => 'twelve chars');
    expect(await reader.lookup('k', () => 'unused')).toMatchObject({ tier: 'shared' });
    expect(await reader.lookup('k', () => 'unused')).toMatchObject({ tier: 'local' });
    expect(errors).toEqual([]);
  });

  it('16: one failed background refresh is one loadError', async () => {
    vi.useFakeTimers();
    const cache = track(createCache({ ttl: 100, staleWhileRevalidate: 10_000, earlyRefresh: false }));
    const failures: unknown[] = [];
    cache.on('loadError', ({ error }) => failures.push(error));
    await cache.cached('k', () => 'v1');
    vi.advanceTimersByTime(150);
    await cache.lookup('k', () => Promise.reject(new Error('refresh failed')));
    await vi.advanceTimersByTimeAsync(10);
    expect(failures).toHaveLength(1);
  });

  it('16: early refresh works without a local tier', async () => {
    vi.useFakeTimers();
    const network = new MemoryNetwork();
    const options = { ttl: 1_000, local: false as const, redis: 'redis://unused', earlyRefresh: {} };
    const nodes = [nodeOn(network, network.tier(), options), nodeOn(network, network.tier(), options)];
    await vi.advanceTimersByTimeAsync(0);
    const loader = () => new Promise<string>((resolve) => setTimeout(() => resolve('v'), 100));
    await withTime(nodes[0]?.cached('k', loader) as Promise<string>);
    const statuses: string[] = [];
    for (let t = 0; t < 3_000; t += 20) {
      for (const node of nodes) statuses.push((await withTime(node.lookup('k', loader))).status);
      await vi.advanceTimersByTimeAsync(20);
    }
    expect(statuses.filter((status) => status !== 'hit')).toEqual([]);
  });

  it('16: a caller looping on microtasks never gets a value past its ttl', async () => {
    const cache = track(createCache({ ttl: 20, earlyRefresh: false }));
    const until = performance.now() + 150;
    let oldest = 0;
    while (performance.now() < until) {
      // The guarantee is about when a call starts, which a pause (GC, a busy machine) cannot blur.
      const startedAt = performance.now();
      const value = await cache.cached('k', () => ({ at: performance.now() }));
      oldest = Math.max(oldest, startedAt - value.at);
    }
    // The value is dated when the loader's promise settles, a few microtasks after `at` was read.
    expect(oldest).toBeLessThan(25);
  });

  it('9: with early refresh on, no answer is older than ttl', async () => {
    vi.useFakeTimers();
    const nodes = fleet(2, { ttl: 1_000 }).nodes;
    await vi.advanceTimersByTimeAsync(0);
    const loader = () =>
      new Promise<{ at: number }>((resolve) => setTimeout(() => resolve({ at: Date.now() }), 100));
    let oldest = 0;
    const statuses = new Set<string>();
    await withTime(nodes[0]?.cached('hot', loader) as Promise<unknown>);
    for (let t = 0; t < 10_000; t += 5) {
      for (const node of nodes) {
        const answer = await withTime(node.lookup('hot', loader));
        oldest = Math.max(oldest, Date.now() - answer.value.at);
        statuses.add(answer.status);
      }
      await vi.advanceTimersByTimeAsync(5);
    }
    expect(oldest).toBeLessThanOrEqual(1_000);
    // And the refresh lands before expiry: after the first load nobody waits for the loader.
    expect([...statuses]).toEqual(['hit']);
  });
});
