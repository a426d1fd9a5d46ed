/**
 * Connections herdcache opens itself from a URL, with whichever client library is installed: node-redis
 * when ioredis is not (ioredis's side is what every other Redis test runs on), and a clear error when
 * neither is. The libraries "installed" are chosen through connectRedis's `libraries` parameter.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ConfigurationError, RedisUnavailableError } from '../../src/index.js';
import { connectRedis, type RedisParts } from '../../src/redis/connect.js';
import type { AcquireRequest } from '../../src/types.js';

const redisUrl = inject('redisUrl');
// Nothing listens on port 1: every connection attempt is refused at once.
const REFUSED = 'redis://127.0.0.1:1';
const open: RedisParts[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map(async ({ tier, bus }) => Promise.all([bus.close(), tier.close()])));
});

const request = (token: string): AcquireRequest => ({
  token,
  leaseTtl: 5_000,
  mode: 'read',
  refreshMargin: undefined,
});

function connect(url: string, libraries: Parameters<typeof connectRedis>[5], redisTimeout = 1_000) {
  const errors: Error[] = [];
  const parts = connectRedis(
    url,
    `test:url:${randomUUID()}:`,
    'n',
    redisTimeout,
    (e) => errors.push(e),
    libraries,
  );
  open.push(parts);
  return { ...parts, errors };
}

describe('a URL opened with node-redis (ioredis not installed)', () => {
  it('takes leases and hears notices through connections of its own', async () => {
    const { tier, bus } = connect(redisUrl, ['node-redis']);
    const heard: string[] = [];
    await bus.subscribe(
      (message) => heard.push(message),
      () => {},
    );
    expect(await tier.acquire('k', request('t1'))).toMatchObject({ role: 'leader' });
    expect(await tier.acquire('k', request('t2'))).toMatchObject({ role: 'follower', holder: 't1' });
    await tier.remove(['k'], () => 'notice');
    await expect.poll(() => heard).toContain('notice');
    // The heartbeat travels on the node's own channel and comes back through the subscription.
    await bus.beat('beat');
    await expect.poll(() => heard).toContain('beat');
  });

  it('reports an unreachable Redis once as RedisUnavailableError and fails a call at once', async () => {
    const { tier, bus, errors } = connect(REFUSED, ['node-redis'], 10_000);
    // Rejected when the bus closes, still unsubscribed.
    bus
      .subscribe(
        () => {},
        () => {},
      )
      .catch(() => {});
    const startedAt = performance.now();
    await expect(tier.acquire('k', request('t1'))).rejects.toBeInstanceOf(RedisUnavailableError);
    // The refusal is known within a millisecond; waiting out the 10 s deadline would take 10 s.
    expect(performance.now() - startedAt).toBeLessThan(5_000);
    // Both connections (commands, subscriber) keep redialling; each is reported once, not per attempt.
    await expect.poll(() => errors.length).toBe(2);
    await expect
      .poll(() => tier.acquire('k', request('t1')).catch((e: Error) => e.message))
      .toMatch(/reconnecting/);
    expect(errors.length).toBe(2);
    for (const error of errors) {
      expect(error).toBeInstanceOf(RedisUnavailableError);
      expect(error.message).toMatch(/ECONNREFUSED/);
    }
  });
});

describe('a URL with no client library installed', () => {
  it('says what to install, once, and keeps herdcache off Redis', async () => {
    const { tier, bus, errors } = connect(redisUrl, []);
    const subscribed = await bus
      .subscribe(
        () => {},
        () => {},
      )
      .catch((error: unknown) => error);
    expect(subscribed).toBeInstanceOf(ConfigurationError);
    expect((subscribed as Error).message).toMatch(/npm install ioredis.*npm install redis/);
    const refused = await tier.acquire('k', request('t1')).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RedisUnavailableError);
    expect((refused as Error).message).toMatch(/npm install ioredis/);
    // The subscription's rejection is the one report (the cache emits it as its `error` event).
    expect(errors).toEqual([]);
  });
});
