/** Issue 12, item 6: an unreachable Redis is one clear error per connection, not a stream of them. */
import { afterEach, describe, expect, it } from 'vitest';
import { type Cache, createCache, RedisUnavailableError } from '../../src/index.js';

// Nothing listens on port 1: every connection attempt is refused at once.
const REFUSED = 'redis://127.0.0.1:1';
const open: Cache[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((cache) => cache.close()));
});

function unreachable(options: Parameters<typeof createCache>[0] = {}): { cache: Cache; errors: Error[] } {
  const cache = createCache({ redis: REFUSED, ...options });
  const errors: Error[] = [];
  cache.on('error', (error) => errors.push(error));
  open.push(cache);
  return { cache, errors };
}

describe('an unreachable Redis', () => {
  it('reports each connection once as RedisUnavailableError, not once per reconnect attempt', async () => {
    const { errors } = unreachable();
    // The observation window: reconnects back off from 50 ms, so ~5 attempts per connection happen in it.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.length).toBeLessThanOrEqual(2);
    for (const error of errors) {
      expect(error).toBeInstanceOf(RedisUnavailableError);
      expect(error.message).toMatch(/ECONNREFUSED/);
    }
  });

  it('fails the first call over to a local load at once, not after a whole redisTimeout', async () => {
    const { cache } = unreachable({ redisTimeout: 10_000 });
    const startedAt = performance.now();
    expect(await cache.lookup('k', () => 'local')).toMatchObject({ value: 'local', status: 'miss' });
    // The refusal is known within a millisecond; waiting out the 10 s deadline would take 10 s.
    expect(performance.now() - startedAt).toBeLessThan(5_000);
  });

  it('does not emit an error per call while the breaker is open', async () => {
    const { cache, errors } = unreachable({ breaker: { failureThreshold: 1, cooldown: 60_000 } });
    for (let i = 0; i < 200; i++) await cache.cached(`k${i}`, () => i);
    // The connections' own reports, and the one failure that opened the breaker.
    expect(errors.length).toBeLessThanOrEqual(3);
    expect(cache.stats().breakerOpen).toBe(1);
  });
});
