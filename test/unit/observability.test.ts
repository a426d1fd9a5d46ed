import { createHash } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Cache } from '../../src/cache.js';
import type { Clock } from '../../src/core/clock.js';
import { CHANNELS, createCache, InvalidOptionError } from '../../src/index.js';
import { MemoryNetwork } from '../../src/memory/memory-network.js';
import { instrumentHerdcache } from '../../src/otel/index.js';
import { prometheusMetrics } from '../../src/prometheus/index.js';
import type { SharedTier } from '../../src/types.js';
import { gate } from '../support/gate.js';
import { named, type Observed, observations, observe, total } from '../support/otel-sdk.js';

let observed: Observed | undefined;
const caches: Cache[] = [];

afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
  await observed?.close();
  observed = undefined;
});

function track<C extends Cache>(cache: C): C {
  caches.push(cache);
  return cache;
}

/** A clock the test moves by hand; timers run on real time (nothing here waits for one). */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 1_000;
  return {
    now: () => now,
    schedule(callback, ms) {
      const timer = setTimeout(callback, ms);
      timer.unref();
      return () => clearTimeout(timer);
    },
    afterPendingIo: (callback) => setImmediate(callback),
    advance(ms) {
      now += ms;
    },
  };
}

/** Every message on every herdcache channel, by channel name. */
function recordChannels(): { seen: Map<string, unknown[]>; stop(): void } {
  const seen = new Map<string, unknown[]>();
  const names = [
    ...['lookup', 'load', 'wait', 'commit', 'invalidate'].flatMap((op) =>
      ['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map((part) => `tracing:herdcache:${op}:${part}`),
    ),
    CHANNELS.hit,
    CHANNELS.bus,
    CHANNELS.event,
  ];
  const listeners = names.map((name) => {
    const listener = (message: unknown) => seen.set(name, [...(seen.get(name) ?? []), message]);
    diagnostics.subscribe(name, listener);
    return () => diagnostics.unsubscribe(name, listener);
  });
  return {
    seen,
    stop: () => {
      for (const stop of listeners) stop();
    },
  };
}

describe('diagnostics channels', () => {
  it('a fresh local hit publishes on herdcache:hit only, and nothing else, when subscribed', async () => {
    const cache = track(createCache({ prefix: 'obs-hit:' }));
    await cache.cached('k', () => 'v');
    const recording = recordChannels();
    try {
      for (let i = 0; i < 5; i += 1) await cache.cached('k', () => 'never');
      await cache.lookup('k', () => 'never');
      expect([...recording.seen.keys()]).toEqual([CHANNELS.hit]);
      expect(recording.seen.get(CHANNELS.hit)).toHaveLength(6);
      expect(recording.seen.get(CHANNELS.hit)?.[0]).toMatchObject({ cache: 'obs-hit:', key: 'k' });
    } finally {
      recording.stop();
    }
  });

  it('a miss traces lookup, load and commit, with the answer and the commit result in the contexts', async () => {
    const network = new MemoryNetwork();
    const cache = track(new Cache({ prefix: 'obs-miss:' }, { shared: network.tier(), bus: network.bus() }));
    const recording = recordChannels();
    try {
      await cache.cached('k', () => 'v');
      const ends = recording.seen.get('tracing:herdcache:lookup:asyncEnd') as { result: unknown }[];
      expect(ends).toHaveLength(1);
      expect(ends[0]?.result).toMatchObject({ status: 'miss', tier: 'load', value: 'v' });
      expect(recording.seen.get('tracing:herdcache:load:start')).toHaveLength(1);
      const commits = recording.seen.get('tracing:herdcache:commit:asyncEnd') as { result: unknown }[];
      expect(commits[0]?.result).toMatchObject({ stored: true });
    } finally {
      recording.stop();
    }
  });
});

describe('herdcache/otel and herdcache/prometheus in one process', () => {
  it('counts fresh local hits exactly without a span each, unless localHitSpans is on', async () => {
    observed = observe();
    const cache = track(createCache({ prefix: 'obs-local:' }));
    await cache.cached('k', () => 1);
    for (let i = 0; i < 10; i += 1) await cache.cached('k', () => 2);
    const local = { cache: 'obs-local:', status: 'hit', tier: 'local', role: 'hit' };
    expect(total(await observed.otel(), 'herdcache.lookups', local)).toBe(10);
    expect(total(await observed.prometheus(), 'herdcache_lookups_total', local)).toBe(10);
    expect(named(observed.spans(), 'herdcache.lookup')).toHaveLength(1);
    await observed.close();

    observed = observe({ localHitSpans: true, keys: 'raw' });
    await cache.cached('k', () => 2);
    const [span] = named(observed.spans(), 'herdcache.lookup');
    expect(span?.attributes).toMatchObject({ 'herdcache.key': 'k', 'herdcache.tier': 'local' });
  });

  it('parents spans by the active context by default, and nests them in one another with nestSpans', async () => {
    observed = observe();
    const cache = track(createCache({ prefix: 'obs-nest:' }));
    await cache.cached('a', () => 1);
    const flat = observed.spans();
    expect(flat.map((span) => span.name).sort()).toEqual([
      'herdcache.commit',
      'herdcache.load',
      'herdcache.lookup',
    ]);
    expect(flat.every((span) => span.parentSpanId === undefined)).toBe(true);
    await observed.close();

    observed = observe({ nestSpans: true });
    await cache.cached('b', () => 1);
    const [lookup] = named(observed.spans(), 'herdcache.lookup');
    const [load] = named(observed.spans(), 'herdcache.load');
    expect(load?.parentSpanId).toBe(lookup?.spanId);
    expect(lookup?.parentSpanId).toBeUndefined();
  });

  it('hashes keys by default, the same way on every node; redacts or formats them on request', async () => {
    const key = 'user:alice@example.com';
    observed = observe();
    const cache = track(createCache({ prefix: 'obs-keys:' }));
    await cache.cached(key, () => 1);
    const expected = createHash('sha256').update(key).digest('hex').slice(0, 16);
    const keys = observed.spans().map((span) => span.attributes['herdcache.key']);
    expect(keys.length).toBeGreaterThan(0);
    expect(new Set(keys)).toEqual(new Set([expected]));
    await observed.close();

    observed = observe({ keys: 'redact' });
    await cache.cached('other', () => 1);
    expect(observed.spans().every((span) => span.attributes['herdcache.key'] === '[redacted]')).toBe(true);
    await observed.close();

    observed = observe({ keys: (k) => `len:${k.length}` });
    await cache.cached('third', () => 1);
    expect(observed.spans()[0]?.attributes['herdcache.key']).toBe('len:5');
  });

  it('a failing loader: an error span, loads{outcome=error}, lookups{status=error}', async () => {
    observed = observe();
    const cache = track(createCache({ prefix: 'obs-fail:' }));
    await expect(
      cache.cached('k', () => {
        throw new Error('origin down');
      }),
    ).rejects.toThrow('origin down');
    const [lookup] = named(observed.spans(), 'herdcache.lookup');
    const [load] = named(observed.spans(), 'herdcache.load');
    expect(lookup?.status).toBe(2);
    expect(load?.status).toBe(2);
    const points = await observed.prometheus();
    const labels = { cache: 'obs-fail:', outcome: 'error', background: 'false' };
    expect(total(points, 'herdcache_loads_total', labels)).toBe(1);
    expect(total(points, 'herdcache_lookups_total', { cache: 'obs-fail:', status: 'error' })).toBe(1);
  });

  it('stale serves by reason, background loads, invalidations and their span', async () => {
    observed = observe();
    const clock = manualClock();
    const network = new MemoryNetwork({ now: () => Math.floor(clock.now()) });
    const cache = track(
      new Cache(
        { prefix: 'obs-stale:', ttl: 1_000, staleWhileRevalidate: 60_000, earlyRefresh: false },
        { shared: network.tier(), bus: network.bus(), clock },
      ),
    );
    await cache.cached('k', () => 'first');
    clock.advance(2_000);
    const refreshed = gate();
    cache.on('load', () => refreshed.open());
    expect(await cache.lookup('k', () => 'second')).toMatchObject({ status: 'stale', value: 'first' });
    await refreshed.promise;
    await cache.invalidate(['k', 'j']);
    const points = await observed.prometheus();
    const cacheLabel = { cache: 'obs-stale:' };
    expect(total(points, 'herdcache_stale_serves_total', { ...cacheLabel, reason: 'revalidate' })).toBe(1);
    expect(total(points, 'herdcache_lookups_total', { ...cacheLabel, role: 'stale' })).toBe(1);
    expect(total(points, 'herdcache_loads_total', { ...cacheLabel, background: 'true' })).toBe(1);
    expect(total(points, 'herdcache_loads_total', { ...cacheLabel, background: 'false' })).toBe(1);
    expect(total(points, 'herdcache_invalidations_total', { ...cacheLabel, origin: 'local' })).toBe(2);
    expect(observations(await observed.otel(), 'herdcache.load.duration', cacheLabel)).toBe(2);
    const [span] = named(observed.spans(), 'herdcache.invalidate');
    expect(span?.attributes).toMatchObject({
      'herdcache.invalidate.kind': 'keys',
      'herdcache.invalidate.count': 2,
    });
  });

  it('breaker state and transitions, and local-tier flushes by reason', async () => {
    observed = observe();
    const network = new MemoryNetwork();
    const healthy = network.tier();
    let down = false;
    const failing = (): Promise<never> => Promise.reject(new Error('connection refused'));
    const shared = new Proxy(healthy, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        // Only the reads of a lookup fail: that is what opens the breaker.
        const reads = property === 'get' || property === 'read' || property === 'acquire';
        return (...args: unknown[]) => (down && reads ? failing() : value.apply(target, args));
      },
    }) as SharedTier;
    const bus = network.bus();
    const cache = track(
      new Cache(
        { prefix: 'obs-breaker:', breaker: { failureThreshold: 1, cooldown: 60_000 } },
        { shared, bus },
      ),
    );
    cache.on('error', () => {});
    await cache.ready();
    const label = { cache: 'obs-breaker:' };
    expect(total(await observed.prometheus(), 'herdcache_breaker_open', label)).toBe(0);
    down = true;
    const opened = new Promise((resolve) => cache.once('breakerOpen', resolve));
    await cache.cached('k', () => 'v');
    await opened;
    bus.reconnect();
    const points = await observed.prometheus();
    expect(total(points, 'herdcache_breaker_open', label)).toBe(1);
    expect(total(await observed.otel(), 'herdcache.breaker.open', label)).toBe(1);
    expect(total(points, 'herdcache_breaker_transitions_total', { ...label, state: 'open' })).toBe(1);
    expect(total(points, 'herdcache_local_flushes_total', { ...label, reason: 'resubscribed' })).toBe(1);
    expect(total(points, 'herdcache_errors_total', label)).toBeGreaterThanOrEqual(1);
  });
});

describe('options', () => {
  it('invalid options throw at construction, naming the option and the value', () => {
    const thrown = (make: () => unknown): InvalidOptionError => {
      try {
        make();
      } catch (error) {
        return error as InvalidOptionError;
      }
      throw new Error('did not throw');
    };
    const keys = thrown(() => instrumentHerdcache({ keys: 'md5' as never }));
    expect(keys).toBeInstanceOf(InvalidOptionError);
    expect(keys.option).toBe('keys');
    expect(keys.message).toContain('"md5"');
    expect(thrown(() => instrumentHerdcache({ traces: 'yes' as never })).option).toBe('traces');
    expect(thrown(() => instrumentHerdcache({ tracerProvider: {} as never })).option).toBe('tracerProvider');
    const typo = thrown(() => instrumentHerdcache({ localHitSpan: true } as never));
    expect(typo.option).toBe('localHitSpan');
    expect(typo.message).toContain('did you mean "localHitSpans"');
    expect(thrown(() => prometheusMetrics({ registry: 'default' as never })).option).toBe('registry');
  });

  it('prometheusMetrics registers once per registry and disable() removes its metrics', () => {
    const registry = new Registry();
    const metrics = prometheusMetrics({ registry });
    expect(() => prometheusMetrics({ registry })).toThrow(/already been registered/);
    expect(registry.getSingleMetric('herdcache_lookups_total')).toBeDefined();
    metrics.disable();
    expect(registry.getMetricsAsArray()).toHaveLength(0);
  });
});
