import { afterEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/cache.js';
import {
  createCache,
  EncodeError,
  LoadTimeoutError,
  RedisUnavailableError,
  RemoteLoadError,
} from '../../src/index.js';
import { MemoryNetwork } from '../../src/memory/memory-network.js';
import type { SharedTier } from '../../src/types.js';
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

describe('single process', () => {
  it('runs one load for concurrent callers and shares its value', async () => {
    const [cache] = track([createCache()]);
    const loader = vi.fn(async () => ({ at: Date.now() }));
    const results = await Promise.all(Array.from({ length: 25 }, () => cache!.cached('k', loader)));
    expect(loader).toHaveBeenCalledTimes(1);
    expect(new Set(results).size).toBe(1);
  });

  it('passes the key, a signal and the stale value to the loader', async () => {
    const [cache] = track([createCache({ ttl: 1, staleIfError: 60_000, earlyRefresh: false })]);
    await cache!.cached('k', () => 'first');
    await new Promise((resolve) => setTimeout(resolve, 3));
    const seen = vi.fn((context: { key: string; signal: AbortSignal; stale: unknown; hasStale: boolean }) => {
      expect(context.signal).toBeInstanceOf(AbortSignal);
      return `${context.key}:${String(context.stale)}:${context.hasStale}`;
    });
    expect(await cache!.cached('k', seen)).toBe('k:first:true');
  });

  it("rejects callers with the loader's own error, unchanged, and retries on the next call", async () => {
    const [cache] = track([createCache()]);
    const failure = new TypeError('database down');
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => cache!.cached('k', () => Promise.reject(failure))),
    );
    expect(results.every((r) => r.status === 'rejected' && r.reason === failure)).toBe(true);
    expect(await cache!.cached('k', () => 'ok')).toBe('ok');
  });

  it('gives every caller decode(encode(value)) from either tier', async () => {
    const [cache] = track([createCache()]);
    const when = new Date(0);
    const loaded = { when };
    const first = await cache!.cached('k', () => loaded);
    const second = await cache!.cached('k', () => ({ when }));
    expect(first).not.toBe(loaded);
    expect(first.when).toBeInstanceOf(Date);
    expect(first).toEqual(loaded);
    expect(second).toBe(first);
  });

  it('rejects values the codec cannot encode with an EncodeError naming the key', async () => {
    const [cache] = track([createCache()]);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(cache!.cached('big', () => new URL('http://x'))).rejects.toBeInstanceOf(EncodeError);
    await expect(cache!.cached('loop', () => circular)).rejects.toMatchObject({
      code: 'HERDCACHE_ENCODE_FAILED',
      key: 'loop',
    });
    expect(await cache!.cached('big', () => 10)).toBe(10);
  });

  it('uses a pluggable codec for both tiers', async () => {
    const codec = {
      encode: (v: unknown) => `x${JSON.stringify(v)}`,
      decode: (t: string) => ({ decoded: JSON.parse(t.slice(1)) }),
    };
    const { nodes } = memoryFleet(2, { codec });
    track(nodes);
    expect(await nodes[0]!.cached('k', () => 1)).toEqual({ decoded: 1 });
    expect(await nodes[1]!.cached('k', () => 2)).toEqual({ decoded: 1 });
  });

  it('caches null with nullTtl and treats undefined as "nothing to cache"', async () => {
    vi.useFakeTimers();
    const [cache] = track([createCache({ ttl: 10_000, nullTtl: 100, earlyRefresh: false })]);
    const nullLoader = vi.fn(() => null);
    expect(await cache!.cached('missing', nullLoader)).toBeNull();
    expect(await cache!.cached('missing', nullLoader)).toBeNull();
    expect(nullLoader).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(101);
    await cache!.cached('missing', nullLoader);
    expect(nullLoader).toHaveBeenCalledTimes(2);
    const undefinedLoader = vi.fn(() => undefined);
    expect(await cache!.cached('nothing', undefinedLoader)).toBeUndefined();
    expect(await cache!.cached('nothing', undefinedLoader)).toBeUndefined();
    expect(undefinedLoader).toHaveBeenCalledTimes(2);
  });

  it('lets the loader set its own ttl (adaptive)', async () => {
    vi.useFakeTimers();
    const [cache] = track([createCache({ ttl: 10_000, earlyRefresh: false })]);
    const loader = vi.fn((context: { setPolicy(p: { ttl: number }): void }) => {
      context.setPolicy({ ttl: 50 });
      return 'short';
    });
    await cache!.cached('k', loader);
    vi.advanceTimersByTime(49);
    expect((await cache!.lookup('k', loader)).status).toBe('hit');
    vi.advanceTimersByTime(2);
    expect((await cache!.lookup('k', loader)).status).toBe('miss');
    expect(loader).toHaveBeenCalledTimes(2);
  });

  it('lets the loader store a value that is stale at once (setPolicy ttl 0), kept for its stale windows', async () => {
    vi.useFakeTimers();
    const [cache] = track([createCache({ ttl: 10_000 })]);
    const loader = vi.fn((context: { setPolicy(p: object): void; stale: unknown }) => {
      context.setPolicy({ ttl: 0, staleWhileRevalidate: 0, staleIfError: 60_000 });
      return { previous: context.stale ?? null };
    });
    await cache!.cached('k', loader);
    // Never fresh, not even within the same millisecond, yet the next load still sees it.
    expect(await cache!.lookup('k', loader)).toMatchObject({
      status: 'miss',
      value: { previous: { previous: null } },
    });
    expect(loader).toHaveBeenCalledTimes(2);
  });

  it('reports how each value was served', async () => {
    vi.useFakeTimers();
    const [cache] = track([createCache({ ttl: 100, staleWhileRevalidate: 1_000, earlyRefresh: false })]);
    expect(await cache!.lookup('k', () => 1)).toMatchObject({ status: 'miss', tier: 'load', age: 0 });
    vi.advanceTimersByTime(40);
    expect(await cache!.lookup('k', () => 2)).toMatchObject({ status: 'hit', tier: 'local', age: 40 });
    vi.advanceTimersByTime(80);
    expect(await cache!.lookup('k', () => 3)).toMatchObject({
      status: 'stale',
      tier: 'local',
      value: 1,
      age: 120,
    });
  });

  it('aborts the signal at hardTimeout and rejects with LoadTimeoutError', async () => {
    vi.useFakeTimers();
    const [cache] = track([createCache({ hardTimeout: 200 })]);
    let signal: AbortSignal | undefined;
    const pending = cache!.cached('slow', (context) => {
      signal = context.signal;
      return new Promise(() => {});
    });
    const assertion = expect(pending).rejects.toBeInstanceOf(LoadTimeoutError);
    await vi.advanceTimersByTimeAsync(200);
    await assertion;
    expect(signal?.aborted).toBe(true);
  });

  it('serves stale by the soft timeout and stores the slow load when it finishes', async () => {
    vi.useFakeTimers();
    const [cache] = track([
      createCache({ ttl: 100, staleIfError: 10_000, softTimeout: 50, earlyRefresh: false }),
    ]);
    await cache!.cached('k', () => 'old');
    vi.advanceTimersByTime(101);
    const slow = gate<string>();
    const served = cache!.lookup('k', () => slow.promise);
    await vi.advanceTimersByTimeAsync(50);
    expect(await served).toMatchObject({ status: 'stale', value: 'old' });
    slow.open('new');
    await vi.advanceTimersByTimeAsync(0);
    expect(await cache!.get('k')).toBe('new');
  });

  it('serves stale inside staleIfError when the loader fails, then backs off', async () => {
    vi.useFakeTimers();
    const [cache] = track([
      createCache({ ttl: 100, staleIfError: 10_000, failSafeBackoff: 1_000, earlyRefresh: false }),
    ]);
    await cache!.cached('k', () => 'good');
    vi.advanceTimersByTime(101);
    const failing = vi.fn(() => Promise.reject(new Error('origin down')));
    expect(await cache!.lookup('k', failing)).toMatchObject({ status: 'stale', value: 'good' });
    expect(await cache!.lookup('k', failing)).toMatchObject({ status: 'stale', value: 'good' });
    expect(failing).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1_001);
    expect(await cache!.lookup('k', () => 'better')).toMatchObject({ status: 'miss', value: 'better' });
  });

  it('invalidate beats a load that started before it', async () => {
    const [cache] = track([createCache()]);
    const slow = gate<string>();
    const loading = cache!.cached('k', () => slow.promise);
    await settle();
    await cache!.invalidate('k');
    slow.open('before-invalidation');
    expect(await loading).toBe('before-invalidation');
    expect(await cache!.cached('k', () => 'after')).toBe('after');
  });

  it('a caller that may not join the load in flight waits on the lease for its value, not a second load', async () => {
    // Any tag invalidation keeps later callers from joining loads already running; without Redis the lease
    // table keeps no values, so the waiter must get the value from the load's notice.
    const [cache] = track([createCache()]);
    const slow = gate<string>();
    const loader = vi.fn(() => slow.promise);
    const first = cache!.cached('k', loader);
    await settle();
    await cache!.invalidateTag('unrelated');
    const waiting = new Promise((resolve) => cache!.once('wait', resolve));
    const second = cache!.cached('k', loader);
    await waiting;
    slow.open('loaded');
    expect(await first).toBe('loaded');
    expect(await second).toBe('loaded');
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('set wins over a load in flight', async () => {
    const [cache] = track([createCache()]);
    const slow = gate<string>();
    const loading = cache!.cached('k', () => slow.promise);
    await settle();
    await cache!.set('k', 'explicit');
    slow.open('loaded');
    await loading;
    expect(await cache!.get('k')).toBe('explicit');
  });

  it('bounds the local tier by entry count and by size', async () => {
    const [byCount, bySize] = track([
      createCache({ local: { max: 2 } }),
      createCache({ local: { maxSize: 100, sizeOf: (encoded) => encoded.length } }),
    ]);
    for (const key of ['a', 'b', 'c']) await byCount!.cached(key, () => key);
    expect(byCount!.stats().localSize).toBe(2);
    for (const key of ['a', 'b', 'c']) await bySize!.cached(key, () => 'x'.repeat(40));
    expect(bySize!.stats().localSize).toBe(2);
  });

  it('counts every hit and emits hit events only while someone listens', async () => {
    const [cache] = track([createCache()]);
    await cache!.cached('k', () => 1);
    await cache!.cached('k', () => 2);
    const heard: unknown[] = [];
    const listener = (event: unknown) => heard.push(event);
    cache!.on('hit', listener);
    await cache!.cached('k', () => 3);
    cache!.off('hit', listener);
    await cache!.cached('k', () => 4);
    expect(heard).toEqual([expect.objectContaining({ key: 'k', tier: 'local' })]);
    expect(cache!.stats()).toMatchObject({ hit: 3, miss: 1, load: 1 });
  });

  it('is usable destructured', async () => {
    const { cached, invalidate } = track([createCache()])[0]!;
    expect(await cached('k', () => 7)).toBe(7);
    await invalidate(['k']);
    expect(await cached('k', () => 8)).toBe(8);
  });

  it('tells the loader whether anybody waits for it', async () => {
    vi.useFakeTimers();
    const [cache] = track([createCache({ ttl: 100, staleWhileRevalidate: 1_000, earlyRefresh: false })]);
    const seen: boolean[] = [];
    const loader = ({ background }: { background: boolean }) => {
      seen.push(background);
      return 'v';
    };
    await cache!.cached('k', loader);
    vi.advanceTimersByTime(101);
    await cache!.cached('k', loader);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual([false, true]);
  });

  it('aborts the signals of running loaders on close', async () => {
    const cache = createCache();
    const signals: AbortSignal[] = [];
    const loads = ['a', 'b', 'c'].map((key) =>
      cache.cached(key, ({ signal }) => {
        signals.push(signal);
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      }),
    );
    await settle();
    await cache.close();
    expect(signals).toHaveLength(3);
    expect(signals.every((signal) => signal.aborted)).toBe(true);
    for (const load of loads) await expect(load).rejects.toMatchObject({ code: 'HERDCACHE_CLOSED' });
  });

  it('rejects calls after close', async () => {
    const cache = createCache();
    await cache.close();
    await expect(cache.cached('k', () => 1)).rejects.toMatchObject({ code: 'HERDCACHE_CLOSED' });
  });
});

describe('with the shared tier down', () => {
  /** A shared tier whose every call fails, as Redis does when it is unreachable. */
  function unreachable(): SharedTier {
    const down = () => Promise.reject(new RedisUnavailableError('down'));
    return {
      distributed: true,
      acquire: down,
      acquireMany: down,
      commit: down,
      abandon: down,
      renew: down,
      get: down,
      clockDomain: () => 0,
      read: down,
      write: down,
      remove: down,
      invalidateTag: down,
      tagStamps: down,
      touchTags: down,
      close: async () => {},
    };
  }

  it('never runs two loads of one key in a process, whichever path asks', async () => {
    vi.useFakeTimers();
    const cache = new Cache(
      { ttl: 100, staleWhileRevalidate: 100, earlyRefresh: false, heartbeatInterval: 0 },
      { shared: unreachable(), bus: new MemoryNetwork().bus() },
    );
    track([cache]);
    cache.on('error', () => {});
    expect(await cache.cached('k', () => 'v1')).toBe('v1');
    vi.advanceTimersByTime(150);
    const slow = gate<string>();
    const loader = vi.fn(() => slow.promise);
    expect(await cache.lookup('k', loader)).toMatchObject({ status: 'stale', value: 'v1' });
    vi.advanceTimersByTime(100);
    const joined = cache.cached('k', loader);
    await vi.advanceTimersByTimeAsync(0);
    expect(loader).toHaveBeenCalledTimes(1);
    slow.open('v2');
    expect(await joined).toBe('v2');
  });
});

describe('a fleet on the in-memory network', () => {
  it('loads once for all nodes and wakes followers with the value', async () => {
    const { nodes } = memoryFleet(3);
    track(nodes);
    const slow = gate<string>();
    const loader = vi.fn(() => slow.promise);
    const all = Promise.all(nodes.flatMap((node) => [node.lookup('k', loader), node.lookup('k', loader)]));
    await settle();
    slow.open('v');
    const results = await all;
    expect(loader).toHaveBeenCalledTimes(1);
    expect(results.map((r) => r.value)).toEqual(['v', 'v', 'v', 'v', 'v', 'v']);
    expect(results.filter((r) => r.tier === 'shared')).toHaveLength(4);
  });

  it('serves a stale shared value inside stale-while-revalidate to a node that had none, refreshing behind', async () => {
    vi.useFakeTimers();
    const { nodes } = memoryFleet(2, { ttl: 100, staleWhileRevalidate: 10_000, earlyRefresh: false });
    track(nodes);
    await nodes[0]!.cached('k', () => 'old');
    vi.advanceTimersByTime(101);
    const slow = gate<string>();
    const loader = vi.fn(() => slow.promise);
    expect(await nodes[1]!.lookup('k', loader)).toMatchObject({
      status: 'stale',
      tier: 'shared',
      value: 'old',
    });
    expect(await nodes[1]!.lookup('k', loader)).toMatchObject({ status: 'stale', value: 'old' });
    slow.open('new');
    await vi.advanceTimersByTimeAsync(0);
    expect(await nodes[1]!.lookup('k', loader)).toMatchObject({ status: 'hit', value: 'new' });
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('sends followers the remote error as RemoteLoadError', async () => {
    const { nodes } = memoryFleet(2);
    track(nodes);
    const slow = gate();
    const leading = nodes[0]!.cached('k', async () => {
      await slow.promise;
      throw new RangeError('bad row');
    });
    await settle();
    const following = nodes[1]!.cached('k', () => 'never');
    await settle();
    slow.open();
    await expect(leading).rejects.toBeInstanceOf(RangeError);
    await expect(following).rejects.toMatchObject({
      constructor: RemoteLoadError,
      remoteName: 'RangeError',
      message: 'bad row',
    });
  });

  it('invalidateTag voids tagged values everywhere, including a load in flight', async () => {
    const { nodes, network } = memoryFleet(2);
    track(nodes);
    const [a, b] = nodes as [Cache, Cache];
    await a.cached('user:1', () => 'u1', { tags: ['users'] });
    await a.cached('other', () => 'o');
    expect(await b.cached('user:1', () => 'unused')).toBe('u1');
    const slow = gate<string>();
    const loading = a.cached('user:2', () => slow.promise, { tags: ['users'] });
    await settle();
    const heard = new Promise((resolve) => a.once('invalidateTag', resolve));
    await b.invalidateTag('users');
    expect(await heard).toEqual({ tags: ['users'], origin: 'remote' });
    slow.open('u2-old');
    expect(await loading).toBe('u2-old');
    expect(await a.cached('user:2', () => 'u2-new', { tags: ['users'] })).toBe('u2-new');
    expect(await a.cached('user:1', () => 'u1-new', { tags: ['users'] })).toBe('u1-new');
    expect(await b.cached('other', () => 'unused')).toBe('o');
    expect(network.peek('user:2')).toMatch(/\n"u2-new"$/);
  });

  it('fail-safe: during the backoff no node calls the failing loader again', async () => {
    vi.useFakeTimers();
    const { nodes } = memoryFleet(3, {
      ttl: 100,
      staleIfError: 60_000,
      failSafeBackoff: 5_000,
      earlyRefresh: false,
    });
    track(nodes);
    await nodes[0]!.cached('k', () => 'good');
    for (const node of nodes) await node.cached('k', () => 'unused');
    vi.advanceTimersByTime(101);
    const failing = vi.fn(() => Promise.reject(new Error('origin down')));
    for (let round = 0; round < 3; round += 1) {
      const results = await Promise.all(nodes.map((node) => node.lookup('k', failing)));
      expect(results.every((r) => r.status === 'stale' && r.value === 'good')).toBe(true);
      vi.advanceTimersByTime(1_000);
    }
    expect(failing).toHaveBeenCalledTimes(1);
  });

  it('jitter spreads the expiry of keys written together', async () => {
    vi.useFakeTimers();
    const [cache] = track([
      createCache({ ttl: 10_000, jitter: 0.2, earlyRefresh: false, local: { max: 2_000 } }),
    ]);
    for (let i = 0; i < 1_000; i += 1) await cache!.cached(`k${i}`, () => i);
    const expired: number[] = [];
    for (let step = 0; step <= 20; step += 1) {
      vi.advanceTimersByTime(step === 0 ? 7_900 : 110);
      let stale = 0;
      for (let i = 0; i < 1_000; i += 1) if ((await cache!.get(`k${i}`)) === undefined) stale += 1;
      expired.push(stale);
    }
    // Nothing expires before 80% of the ttl, everything by 100%, and no single step holds most of the keys.
    expect(expired[0]).toBe(0);
    expect(expired.at(-1)).toBe(1_000);
    const perStep = expired.slice(1).map((count, i) => count - (expired[i] as number));
    expect(Math.max(...perStep)).toBeLessThan(150);
  });
});
