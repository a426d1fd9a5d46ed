import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Cache } from '../../src/index.js';
import { KeySpace } from '../../src/redis/keys.js';
import { type SpawnedRedis, spawnRedis } from '../support/redis-server.js';
import { flushed, holdCommands, invalidated, prefix, spiedNode, urlNode } from './support/nodes.js';

let redis: SpawnedRedis;
let admin: Redis;
let caches: Cache[] = [];
let closers: Array<() => Promise<void>> = [];

beforeEach(async () => {
  redis = await spawnRedis();
  admin = new Redis(redis.url);
});
afterEach(async () => {
  await Promise.all([...caches.map((cache) => cache.close()), ...closers.map((close) => close())]);
  caches = [];
  closers = [];
  admin.disconnect();
  await redis.stop();
});

/** The scenario's clock (an age limit running out), never used to wait for something to happen. */
const elapse = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SLACK = 150;

function node(options: Parameters<typeof urlNode>[1]) {
  const made = urlNode(redis.url, options);
  caches.push(made.cache);
  return made;
}

function spied(options: Parameters<typeof spiedNode>[1]) {
  const made = spiedNode(redis.url, options);
  closers.push(() => made.close());
  return made;
}

describe('lost pub/sub messages', () => {
  it('CLIENT KILL TYPE pubsub, then an invalidation from another node: the old value is not served again', async () => {
    const p = prefix();
    const a = node({ prefix: p });
    const b = node({ prefix: p });
    await Promise.all([a.cache.ready(), b.cache.ready()]);
    expect(await a.cache.cached('k', () => 'v1')).toBe('v1');
    expect((await a.cache.lookup('k', () => 'unused')).tier).toBe('local');

    const reconnected = flushed(a.cache, 'subscriber reconnected');
    expect(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBeGreaterThanOrEqual(2);
    // Published while A has no subscription: A never receives it.
    await b.cache.invalidate('k');
    expect(await b.cache.cached('k', () => 'v2')).toBe('v2');
    await reconnected;
    expect(await a.cache.cached('k', () => 'v3')).toBe('v2');
    // And the new subscription delivers again.
    const delivered = invalidated(a.cache, 'k');
    await b.cache.invalidate('k');
    await delivered;
  });

  it('does not trust what the local tier picked up before the resubscription was confirmed', async () => {
    const p = prefix();
    const a = spied({ prefix: p, heartbeatInterval: 0 });
    const b = node({ prefix: p });
    await Promise.all([a.cache.ready(), b.cache.ready()]);
    expect(await a.cache.cached('k', () => 'v1')).toBe('v1');

    // The network delays A's SUBSCRIBE after the reconnect.
    const subscribe = holdCommands(a.subscriber, (command) => command.name === 'subscribe');
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    const held = await subscribe.first;
    // ioredis announces `ready` on the next tick, after it has sent (here: queued) the SUBSCRIBE.
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.subscriber.status).toBe('ready');
    // In the gap, A reads v1 from Redis, then another node invalidates it: A is not subscribed yet.
    expect(await a.cache.cached('k', () => 'gap')).toBe('v1');
    await b.cache.invalidate('k');
    expect(await b.cache.cached('k', () => 'v2')).toBe('v2');
    subscribe.release();
    await held.promise;
    await new Promise((resolve) => setImmediate(resolve));
    expect(await a.cache.cached('k', () => 'v3')).toBe('v2');
  });

  it('detects a silently dead subscriber with the heartbeat within three intervals, and recovers', async () => {
    const interval = 100;
    const p = prefix();
    const a = spied({ prefix: p, heartbeatInterval: interval });
    const b = node({ prefix: p });
    await Promise.all([a.cache.ready(), b.cache.ready()]);
    expect(await a.cache.cached('k', () => 'v1')).toBe('v1');

    const missed = flushed(a.cache, 'heartbeat missed');
    const reconnected = flushed(a.cache, 'subscriber reconnected');
    const deadAt = Date.now();
    // The socket stays open but nothing arrives through it any more (a half-open connection).
    a.subscriber.stream.pause();
    await b.cache.invalidate('k');
    await missed;
    expect(Date.now() - deadAt).toBeLessThan(3 * interval + SLACK);
    expect(await a.cache.cached('k', () => 'v2')).toBe('v2');

    await reconnected;
    const delivered = invalidated(a.cache, 'k');
    await b.cache.invalidate('k');
    await delivered;
  });

  it('bounds staleness with maxLocalAge when an invalidation is lost and no heartbeat runs', async () => {
    const maxLocalAge = 300;
    const p = prefix();
    const a = spied({ prefix: p, heartbeatInterval: 0, maxLocalAge });
    const b = node({ prefix: p });
    await Promise.all([a.cache.ready(), b.cache.ready()]);
    expect(await a.cache.cached('k', () => 'v1')).toBe('v1');
    const loadedAt = Date.now();
    a.subscriber.stream.pause();
    await b.cache.invalidate('k');
    expect(await b.cache.cached('k', () => 'v2')).toBe('v2');
    // The invalidation was lost: A still serves v1 from memory, but only until maxLocalAge.
    const early = await a.cache.lookup('k', () => 'unused');
    expect([early.value, early.tier]).toEqual(['v1', 'local']);
    await elapse(maxLocalAge - (Date.now() - loadedAt) + 10);
    expect(await a.cache.cached('k', () => 'v3')).toBe('v2');
  });

  it('ignores and counts garbage and foreign messages on the channel', async () => {
    const p = prefix();
    const a = node({ prefix: p });
    const b = node({ prefix: p });
    await Promise.all([a.cache.ready(), b.cache.ready()]);
    expect(await a.cache.cached('k', () => 'v1')).toBe('v1');
    const garbage: (string | Buffer)[] = [
      'not json',
      '',
      'null',
      '"invalidated"',
      '{"kind":"invalidated","node":"x","key":"k"}',
      '[]',
      '[1,2,3]',
      '["invalidated",42,"k"]',
      '["invalidated","x"]',
      '["invalidated","x",["k"]]',
      '["loaded","x",5]',
      '["loaded","x","k",{"raw":1}]',
      '["failed","x","k","oops"]',
      '["tag","x","t","soon"]',
      '["unknown-kind","x","k"]',
      `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
      Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28]),
      'x'.repeat(1_000_000),
    ];
    const channel = new KeySpace(p).channel;
    for (const message of garbage) await admin.publish(channel, message);
    // Messages on one channel arrive in order: once this one is in, all the garbage has been handled.
    const probe = invalidated(a.cache, 'probe');
    await b.cache.invalidate('probe');
    await probe;
    expect(a.cache.stats().foreignMessages).toBe(garbage.length);
    expect(a.cache.stats().localFlush).toBe(0);
    const still = await a.cache.lookup('k', () => 'unused');
    expect([still.value, still.tier]).toEqual(['v1', 'local']);
  });
});
