import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnvelope } from '../../src/core/envelope.js';
import { type Cache, jsonCodec } from '../../src/index.js';
import { KeySpace } from '../../src/redis/keys.js';
import { type SpawnedRedis, spawnRedis } from '../support/redis-server.js';
import { prefix, urlNode } from './support/nodes.js';

let redis: SpawnedRedis;
let admin: Redis;
let a: { cache: Cache; errors: Error[] };
let b: { cache: Cache; errors: Error[] };
const p = prefix();
const space = new KeySpace(p);

beforeAll(async () => {
  redis = await spawnRedis();
  admin = new Redis(redis.url);
  // Any failure counted by the breaker would open it at once.
  const options = { prefix: p, breaker: { failureThreshold: 1, cooldown: 60_000 } };
  a = urlNode(redis.url, options);
  b = urlNode(redis.url, options);
  await Promise.all([a.cache.ready(), b.cache.ready()]);
});
afterAll(async () => {
  await Promise.all([a.cache.close(), b.cache.close()]);
  admin.disconnect();
  await redis.stop();
});

async function stored(key: string): Promise<unknown> {
  const raw = await admin.get(space.value(key));
  return raw === null ? undefined : readEnvelope(key, raw, jsonCodec).value;
}

const now = Date.now();
const FRESH = `${now} ${now + 600_000} ${now + 600_000} ${now + 600_000} 1 0`;

/** Things found under one of our value keys that are not a readable entry. */
const FOREIGN: Array<[string, (key: string) => Promise<unknown>]> = [
  ['non-JSON bytes', (key) => admin.set(key, Buffer.from([0xff, 0x00, 0xfe, 0x7b, 0x0a, 0xc3, 0x28]))],
  ['JSON without our envelope', (key) => admin.set(key, JSON.stringify({ value: 'theirs', ttl: 60 }))],
  ['an older format', (key) => admin.set(key, `hc1 old-id ${FRESH.replace(/ 0$/, ' -')}\n"old"`)],
  ['a corrupt header', (key) => admin.set(key, 'hc2 id not numbers at all here 0\n"x"')],
  ['a fresh header over an undecodable body', (key) => admin.set(key, `hc2 some-id ${FRESH}\n{not json`)],
  [
    'a fresh header with a broken tag list',
    (key) => admin.set(key, `hc2 some-id ${FRESH.replace(/ 0$/, ' 2 t 1')}\n"x"`),
  ],
  ['a hash (WRONGTYPE)', (key) => admin.hset(key, 'field', 'value')],
  ['a list (WRONGTYPE)', (key) => admin.rpush(key, 'a', 'b')],
];

describe('foreign, corrupt or old-format data under our prefix', () => {
  it.each(FOREIGN)(
    '%s: a miss, then overwritten; one error event per call, no caller error, no breaker trip',
    async (_, put) => {
      const key = `bad ${_}`;
      await put(space.value(key));
      const errorsBefore = a.errors.length;
      expect(await a.cache.get(key)).toBeUndefined();
      const afterGet = a.errors.length;
      const first = await a.cache.lookup(key, () => ({ loaded: key }));
      expect(first).toMatchObject({ value: { loaded: key }, status: 'miss' });
      // Each call reports the entry once, though it reads it more than once (plain read, lease, replace).
      expect(afterGet - errorsBefore).toBe(1);
      expect(a.errors.length - afterGet).toBe(1);
      expect(a.errors.slice(errorsBefore).every((error) => error.name === 'DecodeError')).toBe(true);
      expect(await stored(key)).toEqual({ loaded: key });
      // Another node reads the replacement.
      const second = await b.cache.lookup(key, () => ({ loaded: 'again' }));
      expect(second).toMatchObject({ value: { loaded: key }, status: 'hit', tier: 'shared' });
      for (const node of [a, b]) expect(node.cache.stats().breakerOpen).toBe(0);
    },
  );

  it('a foreign value under the lease key or a tag record does not block loads', async () => {
    await admin.rpush(space.lease('leased'), 'not', 'a', 'lease');
    expect(await a.cache.cached('leased', () => 'loaded')).toBe('loaded');
    expect(await stored('leased')).toBe('loaded');

    await admin.rpush(space.tag('t'), 'not', 'a', 'stamp');
    expect(await a.cache.cached('tagged', () => 'tagged', { tags: ['t'] })).toBe('tagged');
    // What was loaded against an unreadable record is not stored (the tag may have been invalidated
    // meanwhile); the record is repaired on the way, so the next load is stored and shared.
    expect(await b.cache.cached('tagged', () => 'again', { tags: ['t'] })).toBe('again');
    expect(await a.cache.cached('tagged', () => 'unused', { tags: ['t'] })).toBe('again');
    await b.cache.invalidateTag('t');
    expect(await b.cache.cached('tagged', () => 'after', { tags: ['t'] })).toBe('after');
    for (const node of [a, b]) expect(node.cache.stats().breakerOpen).toBe(0);
  });
});
