import { describe, expect, it } from 'vitest';
import { Cache, createCache, DEFAULTS, InvalidOptionError } from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';

describe('options', () => {
  it('fills every default', () => {
    const o = resolveOptions({});
    expect(o.ttl).toBe(DEFAULTS.ttl);
    expect(o.prefix).toBe('herdcache:');
    expect(o.earlyRefresh).toEqual({ margin: 10 });
    expect(o.breaker).toEqual({ failureThreshold: 5, cooldown: 1000 });
    expect(o.redis).toBeUndefined();
  });

  it.each([
    ['ttl', { ttl: 0 }, 0],
    ['ttl', { ttl: -5 }, -5],
    ['ttl', { ttl: 1.5 }, 1.5],
    ['ttl', { ttl: '10s' }, '10s'],
    ['staleWhileRevalidate', { staleWhileRevalidate: Number.NaN }, Number.NaN],
    ['redis', { redis: 'localhost:6379' }, 'localhost:6379'],
    ['redis', { redis: 42 }, 42],
    ['prefix', { prefix: '' }, ''],
    ['jitter', { jitter: 1 }, 1],
    ['earlyRefresh.margin', { earlyRefresh: { margin: -1 } }, -1],
    ['breaker.cooldown', { breaker: { cooldown: -1 } }, -1],
    ['local.max', { local: { max: 0 } }, 0],
    ['local', { local: false }, false],
    ['codec', { codec: { encode: JSON.stringify } }, { encode: JSON.stringify }],
    ['ttlMs', { ttlMs: 5 }, 5],
    ['leaseTtl', { leaseTtl: 3_000_000_000 }, 3_000_000_000],
  ])('rejects %s naming the option and the value', (option, input, value) => {
    let thrown: unknown;
    try {
      createCache(input as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidOptionError);
    const error = thrown as InvalidOptionError;
    expect(error.code).toBe('HERDCACHE_INVALID_OPTION');
    expect(error.option).toBe(option);
    expect(error.value).toEqual(value);
    expect(error.message).toContain(option);
  });

  it('accepts a year-long ttl (it drives no timer) but not a timer past what Node allows', () => {
    expect(resolveOptions({ ttl: 31_536_000_000, staleIfError: 31_536_000_000 }).ttl).toBe(31_536_000_000);
    expect(() => resolveOptions({ hardTimeout: 2_147_483_648 })).toThrow(InvalidOptionError);
  });

  it('validates per-call options when the call is made', async () => {
    const cache = new Cache({});
    await expect(cache.cached('k', () => 1, { ttl: -1 })).rejects.toThrow(/"ttl"/);
    await cache.close();
  });

  it('rejects keys that are not strings and loaders that are not functions', async () => {
    const cache = createCache();
    await expect(cache.cached(42 as never, () => 1)).rejects.toMatchObject({
      code: 'HERDCACHE_INVALID_ARGUMENT',
      argument: 'key',
    });
    await expect(cache.cached('k', 'nope' as never)).rejects.toMatchObject({
      argument: 'loader',
    });
    await cache.close();
  });
});
