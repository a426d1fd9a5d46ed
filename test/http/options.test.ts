import { afterAll, describe, expect, it } from 'vitest';
import { cacheResponses, RESPONSE_CACHE_DEFAULTS } from '../../src/http/index.js';
import { type Cache, createCache, InvalidArgumentError, InvalidOptionError } from '../../src/index.js';

// Validation happens before any Redis call; an in-process cache is enough.
const cache: Cache = createCache();
afterAll(() => cache.close());

describe('cacheResponses options', () => {
  const invalid: [string, unknown][] = [
    ['ttl', 0],
    ['ttl', 1.5],
    ['ttl', '10s'],
    ['ttl', 3_155_760_000_001],
    ['statuses', []],
    ['statuses', [200, 199]],
    ['statuses', [304]],
    ['statuses', [206]],
    ['statuses', 200],
    ['maxBodySize', -1],
    ['maxBodySize', 1.5],
    ['maxBodySize', '1mb'],
    ['hitForMiss', -1],
    ['hitForMiss', Number.NaN],
    ['sortQuery', 'yes'],
    ['userKey', 'authorization'],
    ['revalidationTimeout', 0],
    ['ttl', 'heuristics'],
    ['targetedHeaders', 'CDN-Cache-Control'],
    ['targetedHeaders', ['CDN Cache Control']],
    ['forwardTargetedHeaders', 'no'],
    ['namespace', 42],
    ['tll', 1000],
  ];
  for (const [option, value] of invalid) {
    it(`rejects ${option}: ${String(value)} naming the option and the value`, () => {
      const create = () => cacheResponses(cache, { [option]: value });
      expect(create).toThrow(InvalidOptionError);
      expect(create).toThrow(`"${option}"`);
      try {
        create();
      } catch (error) {
        expect(error).toMatchObject({ option, code: 'HERDCACHE_INVALID_OPTION' });
        expect(Object.is((error as InvalidOptionError).value, value)).toBe(true);
      }
    });
  }

  it('rejects options that are not an object', () => {
    for (const options of ['fast', [], null]) {
      expect(() => cacheResponses(cache, options as never)).toThrow(InvalidOptionError);
    }
  });

  it('rejects something that is not a cache', () => {
    expect(() => cacheResponses({} as Cache)).toThrow(InvalidArgumentError);
  });

  it('accepts the documented defaults and edge values', () => {
    expect(RESPONSE_CACHE_DEFAULTS).toEqual({
      statuses: [200],
      maxBodySize: 1_048_576,
      hitForMiss: 5_000,
      sortQuery: false,
      revalidationTimeout: 30_000,
      targetedHeaders: ['CDN-Cache-Control'],
      forwardTargetedHeaders: true,
      namespace: '',
    });
    expect(typeof cacheResponses(cache)).toBe('function');
    expect(typeof cacheResponses(cache, { ...RESPONSE_CACHE_DEFAULTS, ttl: 1, hitForMiss: 0 })).toBe(
      'function',
    );
    expect(
      typeof cacheResponses(cache, { maxBodySize: 0, statuses: [200, 404, 410], userKey: () => 'u' }),
    ).toBe('function');
  });
});
