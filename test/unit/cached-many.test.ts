import { afterEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/cache.js';
import {
  type BatchLoader,
  BatchResultError,
  createCache,
  InvalidArgumentError,
  InvalidOptionError,
  LoadTimeoutError,
} from '../../src/index.js';
import { MemoryNetwork } from '../../src/memory/memory-network.js';
import type { KeyedAcquire, SharedTier } from '../../src/types.js';
import { gate, memoryFleet, settle } from '../support/memory-fleet.js';

let open: Cache[] = [];
function track<T extends Cache[]>(nodes: T): T {
  open.push(...nodes);
  return nodes;
}
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(open.map((cache) => cache.close()));
  open = [];
});

/** A loadMany that records the keys of each call and answers `value(key)` for each, as a Map. */
function recorder(value: (key: string) => unknown = (key) => `v:${key}`) {
  const calls: string[][] = [];
  const load: BatchLoader<unknown> = (keys) => {
    calls.push([...keys]);
    return new Map(keys.map((key) => [key, value(key)]));
  };
  return { calls, load };
}

/** A shared tier that counts the calls made on it. */
function counted(inner: SharedTier) {
  const counts = { acquire: 0, acquireMany: 0, get: 0, read: 0, keysPerBatch: [] as number[] };
  const tier: SharedTier = Object.create(inner);
  Object.assign(tier, {
    acquire: (key: string, request: Parameters<SharedTier['acquire']>[1]) => {
      counts.acquire += 1;
      return inner.acquire(key, request);
    },
    acquireMany: (requests: readonly KeyedAcquire[]) => {
      counts.acquireMany += 1;
      counts.keysPerBatch.push(requests.length);
      return inner.acquireMany(requests);
    },
    get: (key: string) => {
      counts.get += 1;
      return inner.get(key);
    },
    read: (key: string) => {
      counts.read += 1;
      return inner.read(key);
    },
  });
  return { tier, counts };
}

describe('cachedMany in one process (no Redis)', () => {
  it('loads only the missing keys in one call, answers in key order, once per duplicate', async () => {
    const [cache] = track([createCache()]);
    await cache!.cached('b', () => 'cached-b');
    const { calls, load } = recorder();
    expect(await cache!.cachedMany(['a', 'b', 'c', 'a'], load)).toEqual(['v:a', 'cached-b', 'v:c', 'v:a']);
    expect(calls).toEqual([['a', 'c']]);
    expect(await cache!.cachedMany(['c', 'a', 'b'], load)).toEqual(['v:c', 'v:a', 'cached-b']);
    expect(calls).toHaveLength(1);
    expect(await cache!.cachedMany([], load)).toEqual([]);
    expect(calls).toHaveLength(1);
  });

  it('takes an array in the order of the keys it was given', async () => {
    const [cache] = track([createCache()]);
    const load = vi.fn((keys: readonly string[]) => keys.map((key) => key.toUpperCase()));
    expect(await cache!.cachedMany(['x', 'y', 'z'], load)).toEqual(['X', 'Y', 'Z']);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('fails only the key a Map lacks, and stores the others', async () => {
    const [cache] = track([createCache()]);
    const load = vi.fn(
      (keys: readonly string[]) => new Map(keys.filter((k) => k !== 'b').map((k) => [k, k])),
    );
    const outcomes = await cache!.lookupMany(['a', 'b', 'c'], load);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const failure = (outcomes[1] as PromiseRejectedResult).reason;
    expect(failure).toBeInstanceOf(BatchResultError);
    expect(failure).toMatchObject({ key: 'b', code: 'HERDCACHE_BATCH_RESULT' });
    expect(failure.message).toMatch(/key "b".*no entry for the key/);
    await expect(cache!.cachedMany(['a', 'b', 'c'], load)).rejects.toMatchObject(
      // The retry of b fails the same way; a and c are hits now.
      { key: 'b' },
    );
    expect(load.mock.calls.map(([keys]) => keys)).toEqual([['a', 'b', 'c'], ['b']]);
  });

  it('fails every key of an array of the wrong length, or of something neither Map nor array', async () => {
    const [cache] = track([createCache()]);
    const short = await cache!.lookupMany(['a', 'b'], () => ['only one']);
    expect(short.every((o) => o.status === 'rejected')).toBe(true);
    expect((short[0] as PromiseRejectedResult).reason.message).toMatch(/array of 1 values for 2 keys/);
    const odd = await cache!.lookupMany(['c'], () => ({ c: 1 }) as unknown as Map<string, number>);
    expect((odd[0] as PromiseRejectedResult).reason.message).toMatch(
      /must return a Map or an array.*\{"c":1\}/,
    );
  });

  it("rejects cachedMany with the first failed key's error, after every key settled; a throw fails the batch", async () => {
    const [cache] = track([createCache()]);
    const failure = new Error('db down');
    await expect(
      cache!.cachedMany(['a', 'b'], () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await cache!.cachedMany(['a', 'b'], (keys) => keys.map(() => 1))).toEqual([1, 1]);
  });

  it('validates its arguments and options, naming them', async () => {
    const [cache] = track([createCache()]);
    const load = () => [];
    await expect(cache!.cachedMany('a' as unknown as string[], load)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(cache!.cachedMany(['a', ''], load)).rejects.toThrow(/"keys\[1\]".*a non-empty string/);
    await expect(cache!.cachedMany(['a'], 'nope' as unknown as BatchLoader<never>)).rejects.toThrow(
      /"loadMany"/,
    );
    await expect(cache!.cachedMany(['a'], load, { ttl: -1 })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(cache!.cachedMany(['a'], load, { ttl: -1 })).rejects.toThrow(/"ttl"/);
  });

  it('gives loadMany the stale values and per-key adaptive policy', async () => {
    vi.useFakeTimers();
    const [cache] = track([createCache({ ttl: 100, staleIfError: 10_000, earlyRefresh: false })]);
    await cache!.cachedMany(['a', 'b'], (keys, context) => {
      context.setPolicy({ ttl: 1_000 }, ['b']);
      expect(() => context.setPolicy({ ttl: 1 }, ['zz'])).toThrow(/a key this loadMany call was given/);
      return keys.map((key) => `old-${key}`);
    });
    vi.advanceTimersByTime(150);
    const seen: { keys: readonly string[]; stale: [string, unknown][] }[] = [];
    const values = await cache!.cachedMany(['a', 'b'], (keys, context) => {
      seen.push({ keys, stale: [...context.stale] });
      return keys.map((key) => `new-${key}`);
    });
    // b's own ttl kept it fresh; a was reloaded with its stale value at hand.
    expect(values).toEqual(['new-a', 'old-b']);
    expect(seen).toEqual([{ keys: ['a'], stale: [['a', 'old-a']] }]);
  });

  it('serves keys inside stale-while-revalidate at once and refreshes them through loadMany', async () => {
    vi.useFakeTimers();
    const [cache] = track([createCache({ ttl: 100, staleWhileRevalidate: 10_000, earlyRefresh: false })]);
    await cache!.cachedMany(['a', 'b'], (keys) => keys.map(() => 1));
    vi.advanceTimersByTime(150);
    const loaded: string[] = [];
    const outcomes = await cache!.lookupMany(['a', 'b', 'c'], (keys) => {
      loaded.push(...keys);
      return keys.map(() => 2);
    });
    expect(outcomes.map((o) => o.status === 'fulfilled' && [o.value.status, o.value.value])).toEqual([
      ['stale', 1],
      ['stale', 1],
      ['miss', 2],
    ]);
    await vi.waitFor(async () => expect(await cache!.cachedMany(['a', 'b'], () => [])).toEqual([2, 2]));
    // Each key loaded once: c for the caller, a and b behind it.
    expect(loaded.sort()).toEqual(['a', 'b', 'c']);
  });

  it('times each key out by hardTimeout and aborts the batch signal once every key gave up', async () => {
    const [cache] = track([createCache({ hardTimeout: 30 })]);
    let signal: AbortSignal | undefined;
    const outcomes = await cache!.lookupMany(['a', 'b'], (_, context) => {
      signal = context.signal;
      return new Promise(() => {});
    });
    for (const outcome of outcomes) {
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(LoadTimeoutError);
    }
    expect(signal?.aborted).toBe(true);
  });

  it('joins a cached() load of the same key running in this process instead of loading it again', async () => {
    const [cache] = track([createCache()]);
    const release = gate<string>();
    const single = cache!.cached('a', () => release.promise);
    const { calls, load } = recorder();
    const many = cache!.cachedMany(['a', 'b'], load);
    await settle();
    expect(calls).toEqual([['b']]);
    release.open('from-cached');
    expect(await many).toEqual(['from-cached', 'v:b']);
    expect(await single).toBe('from-cached');
  });
});

describe('cachedMany across a fleet (memory network)', () => {
  it('asks the shared tier once for every key: one batched lease question, no plain reads', async () => {
    const network = new MemoryNetwork();
    const { tier, counts } = counted(network.tier());
    const [cache] = track([new Cache({ heartbeatInterval: 0 }, { shared: tier, bus: network.bus() })]);
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const { calls, load } = recorder();
    await cache!.cachedMany(keys, load);
    expect(counts).toMatchObject({ acquire: 0, acquireMany: 1, get: 0, read: 0, keysPerBatch: [20] });
    expect(calls).toEqual([keys]);
    // Held locally now: no round trip at all.
    await cache!.cachedMany(keys, load);
    expect(counts.acquireMany).toBe(1);
  });

  it('loads each key once across nodes; keys another node leads are awaited through wake-ups', async () => {
    const { nodes } = memoryFleet(2);
    const [a, b] = track(nodes as [Cache, Cache]);
    const release = gate();
    const aCalls: string[][] = [];
    const first = a.cachedMany(['k1', 'k2', 'k3'], async (keys) => {
      aCalls.push([...keys]);
      await release.promise;
      return keys.map((key) => `a:${key}`);
    });
    await vi.waitFor(() => expect(aCalls).toHaveLength(1));
    const bCalls: string[][] = [];
    const waits: string[] = [];
    b.on('wait', ({ key }) => waits.push(key));
    const second = b.cachedMany(['k2', 'k4', 'k3'], (keys) => {
      bCalls.push([...keys]);
      return keys.map((key) => `b:${key}`);
    });
    await vi.waitFor(() => expect(waits.sort()).toEqual(['k2', 'k3']));
    expect(bCalls).toEqual([['k4']]);
    release.open();
    expect(await first).toEqual(['a:k1', 'a:k2', 'a:k3']);
    expect(await second).toEqual(['a:k2', 'b:k4', 'a:k3']);
    expect(aCalls).toEqual([['k1', 'k2', 'k3']]);
  });

  it('stores nothing for a key invalidated while the batch loaded it; the other keys are stored', async () => {
    const { nodes, network } = memoryFleet(2);
    const [a, b] = track(nodes as [Cache, Cache]);
    const release = gate();
    const started = gate();
    const loading = a.cachedMany(['x', 'y'], async (keys) => {
      started.open();
      await release.promise;
      return keys.map((key) => `old:${key}`);
    });
    await started.promise;
    await b.invalidate('x');
    release.open();
    // Its own callers asked before the invalidation and get the load; nobody after it does.
    expect(await loading).toEqual(['old:x', 'old:y']);
    expect(network.peek('x')).toBeUndefined();
    expect(network.peek('y')).toMatch(/old:y/);
    const { calls, load } = recorder((key) => `new:${key}`);
    expect(await b.cachedMany(['x', 'y'], load)).toEqual(['new:x', 'old:y']);
    expect(await a.cachedMany(['x', 'y'], load)).toEqual(['new:x', 'old:y']);
    expect(calls).toEqual([['x']]);
  });

  it('stores nothing for the keys of a tag invalidated while the batch loaded them', async () => {
    const { nodes, network } = memoryFleet(2);
    const [a, b] = track(nodes as [Cache, Cache]);
    const release = gate();
    const started = gate();
    const loading = a.cachedMany(
      ['p1', 'p2'],
      async (keys) => {
        started.open();
        await release.promise;
        return keys.map(() => 'old');
      },
      { tags: ['products'] },
    );
    await started.promise;
    await b.invalidateTag('products');
    release.open();
    await loading;
    expect(network.peek('p1')).toBeUndefined();
    expect(network.peek('p2')).toBeUndefined();
    expect(await b.cachedMany(['p1', 'p2'], (keys) => keys.map(() => 'new'), { tags: ['products'] })).toEqual(
      ['new', 'new'],
    );
  });

  it('loads a key in a later loadMany call when the node it waited for gives the lease back', async () => {
    const { nodes } = memoryFleet(2);
    const [a, b] = track(nodes as [Cache, Cache]);
    const release = gate();
    const started = gate();
    const failing = a.cached('k1', async () => {
      started.open();
      await release.promise;
      throw new Error('a failed');
    });
    failing.catch(() => {});
    await started.promise;
    const { calls, load } = recorder((key) => `b:${key}`);
    const waits: string[] = [];
    b.on('wait', ({ key }) => waits.push(key));
    const batch = b.lookupMany(['k1', 'k2'], load);
    await vi.waitFor(() => expect(waits).toEqual(['k1']));
    expect(calls).toEqual([['k2']]);
    release.open();
    const outcomes = await batch;
    // A failure elsewhere reaches the follower promptly, for that key only.
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({
      code: 'HERDCACHE_REMOTE_LOAD_FAILED',
    });
    expect(await b.cachedMany(['k1', 'k2'], load)).toEqual(['b:k1', 'b:k2']);
    expect(calls).toEqual([['k2'], ['k1']]);
  });

  it('works with the shared tier down: per-process loads of the batch, one loadMany', async () => {
    const down = () => Promise.reject(new Error('down'));
    const network = new MemoryNetwork();
    const tier: SharedTier = Object.assign(Object.create(network.tier()), {
      acquire: down,
      acquireMany: down,
      get: down,
      commit: down,
      abandon: down,
    });
    const [cache] = track([new Cache({ heartbeatInterval: 0 }, { shared: tier, bus: network.bus() })]);
    cache!.on('error', () => {});
    const { calls, load } = recorder();
    expect(await cache!.cachedMany(['a', 'b'], load)).toEqual(['v:a', 'v:b']);
    expect(calls).toEqual([['a', 'b']]);
  });
});

describe('cachedMany from the local tier', () => {
  it('answers a batch whose keys are all fresh locally without a load, counting each hit once', async () => {
    const [cache] = track([createCache({ ttl: 60_000 }) as Cache]);
    const { calls, load } = recorder();
    await cache.cachedMany(['a', 'b', 'c'], load);
    const before = cache.stats().hit;
    expect(await cache.cachedMany(['a', 'b', 'c'], load)).toEqual(['v:a', 'v:b', 'v:c']);
    expect(cache.stats().hit - before).toBe(3);
    // One key missing: the batch takes the full way, and the fresh keys still count once each.
    expect(await cache.cachedMany(['a', 'b', 'c', 'd'], load)).toEqual(['v:a', 'v:b', 'v:c', 'v:d']);
    expect(cache.stats().hit - before).toBe(6);
    expect(calls).toEqual([['a', 'b', 'c'], ['d']]);
  });
});
