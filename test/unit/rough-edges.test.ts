/** Issue 12, item 7: the small rough edges of the API, each pinned. */
import { describe, expect, it } from 'vitest';
import { resolveResponseOptions } from '../../src/http/options.js';
import { createCache, EncodeError, InvalidArgumentError, InvalidOptionError } from '../../src/index.js';

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('rough edges', () => {
  it('suggests the closest option for a typo', () => {
    const error = thrown(() => createCache({ ttll: 5 } as never)) as InvalidOptionError;
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.message).toMatch(/did you mean "ttl"\?/);
    expect(error.message).not.toMatch(/expected no such option/);
  });

  it('rejects unknown per-call options, with a suggestion', async () => {
    const cache = createCache();
    await expect(cache.cached('k', () => 1, { staleWhileRevalidat: 5 } as never)).rejects.toThrow(
      /Invalid option "staleWhileRevalidat".*did you mean "staleWhileRevalidate"/,
    );
    await expect(cache.cached('k', () => 1, { redis: 'x' } as never)).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
    await expect(cache.set('k', 1, { ttl: 5, extra: 1 } as never)).rejects.toBeInstanceOf(InvalidOptionError);
    await cache.close();
  });

  it('rejects unknown nested options', () => {
    expect((thrown(() => createCache({ local: { maxx: 5 } } as never)) as InvalidOptionError).option).toBe(
      'local.maxx',
    );
    expect(
      (thrown(() => createCache({ breaker: { cooldwn: 5 } } as never)) as InvalidOptionError).message,
    ).toMatch(/did you mean "cooldown"/);
  });

  it('calls local.max a count, not milliseconds', () => {
    const error = thrown(() => createCache({ local: { max: 0 } })) as InvalidOptionError;
    expect(error.message).toMatch(/an integer from 1 to/);
    expect(error.message).not.toMatch(/milliseconds/);
  });

  it('says what an empty redis string usually means', () => {
    const error = thrown(() => createCache({ redis: '' })) as InvalidOptionError;
    expect(error.option).toBe('redis');
    expect(error.message).toMatch(/environment variable/);
  });

  it('names set, not a loader, when a set value cannot be encoded', async () => {
    const cache = createCache();
    const error = await cache.set('k', Symbol('not storable')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EncodeError);
    expect((error as Error).message).toMatch(/the value set for key "k"/);
    await cache.close();
  });

  it('rejects an empty key', async () => {
    const cache = createCache();
    await expect(cache.cached('', () => 1)).rejects.toBeInstanceOf(InvalidArgumentError);
    await cache.close();
  });

  it('lets the middleware take the same ttl range as the cache', () => {
    expect(resolveResponseOptions({ ttl: 30 * 24 * 3600 * 1000 }).ttl).toBe(30 * 24 * 3600 * 1000);
  });

  it('binds stats and ready', async () => {
    const cache = createCache();
    const { stats, ready } = cache;
    expect(stats().hit).toBe(0);
    await ready();
    await cache.close();
  });
});
