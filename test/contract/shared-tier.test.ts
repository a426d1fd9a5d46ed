import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MemoryNetwork } from '../../src/memory/memory-network.js';
import { KeySpace } from '../../src/redis/keys.js';
import { RedisBus } from '../../src/redis/redis-bus.js';
import { RedisTier } from '../../src/redis/redis-tier.js';
import type { Bus, SharedTier } from '../../src/types.js';

interface Adapter {
  tier: SharedTier;
  bus: Bus;
  /** Store raw bytes under the key's value slot, as a foreign writer would. */
  poke(key: string, raw: string): Promise<void>;
  close(): Promise<void>;
}

const redisUrl = inject('redisUrl');

const adapters: Record<string, () => Promise<Adapter>> = {
  memory: async () => {
    const network = new MemoryNetwork();
    return {
      tier: network.tier(),
      bus: network.bus(),
      poke: async (key, raw) => network.poke(key, raw),
      close: async () => {},
    };
  },
  redis: async () => {
    const prefix = `test:contract:${randomUUID()}:`;
    const client = new Redis(redisUrl);
    const subscriber = new Redis(redisUrl);
    const keys = new KeySpace(prefix);
    return {
      tier: new RedisTier(client, keys, false, 1_000),
      bus: new RedisBus(subscriber, client, keys.channel),
      poke: async (key, raw) => {
        await client.set(keys.value(key), raw);
      },
      close: async () => {
        subscriber.disconnect();
        await client.quit();
      },
    };
  },
};

const entry = (id: string, freshUntil: number) =>
  `hc1 ${id} 1 ${freshUntil} ${freshUntil} ${freshUntil} 5 -\n"v-${id}"`;

describe.each(Object.keys(adapters))('SharedTier contract: %s', (name) => {
  let adapter: Adapter;
  const received: string[] = [];
  beforeAll(async () => {
    adapter = await (adapters[name] as () => Promise<Adapter>)();
    await adapter.bus.subscribe(
      (message) => received.push(message),
      () => {},
    );
  });
  afterAll(async () => {
    await adapter.bus.close();
    await adapter.close();
  });

  const request = (token: string, extra: object = {}) => ({
    now: Date.now(),
    token,
    leaseTtl: 5_000,
    ...extra,
  });

  it('gives the lease to the first caller on a miss and makes the next one a follower', async () => {
    const { tier } = adapter;
    expect(await tier.acquire('a', request('t1'))).toMatchObject({ raw: null, role: 'leader' });
    const second = await tier.acquire('a', request('t2'));
    expect(second.role).toBe('follower');
    expect(second.remaining).toBeGreaterThan(4_000);
  });

  it('commits only while the token holds the lease, then releases it and publishes', async () => {
    const { tier } = adapter;
    await tier.acquire('b', request('t1'));
    expect(await tier.commit('b', 'wrong', entry('x', Date.now() + 10_000), 10_000, 'not-sent')).toBe(false);
    expect(await tier.commit('b', 't1', entry('t1', Date.now() + 10_000), 10_000, 'committed-b')).toBe(true);
    expect(await tier.acquire('b', request('t3'))).toMatchObject({ role: 'fresh' });
    expect(await tier.read('b')).toContain('"v-t1"');
    await expect.poll(() => received).toContain('committed-b');
    expect(received).not.toContain('not-sent');
  });

  it('takes the lease again when the stored entry is stale', async () => {
    const { tier } = adapter;
    await tier.acquire('c', request('t1'));
    await tier.commit('c', 't1', entry('t1', Date.now() - 1), 10_000, 'n');
    const read = await tier.acquire('c', request('t2'));
    expect(read.role).toBe('leader');
    expect(read.raw).toContain('hc1 t1 ');
  });

  it('early refresh takes the lease on a fresh entry only while it is still the same entry', async () => {
    const { tier } = adapter;
    await tier.acquire('d', request('t1'));
    await tier.commit('d', 't1', entry('t1', Date.now() + 10_000), 10_000, 'n');
    expect((await tier.acquire('d', request('t2', { refreshOf: 'other' }))).role).toBe('fresh');
    expect((await tier.acquire('d', request('t3', { refreshOf: 't1' }))).role).toBe('leader');
  });

  it('abandon with a backoff turns the lease into a backoff marker carrying the failure', async () => {
    const { tier } = adapter;
    await tier.acquire('e', request('t1'));
    await tier.abandon('e', 't1', 5_000, 'failure-notice');
    expect(await tier.acquire('e', request('t2'))).toMatchObject({
      role: 'backoff',
      failure: 'failure-notice',
    });
    await tier.acquire('f', request('t1'));
    await tier.abandon('f', 't1', 0, 'n');
    expect((await tier.acquire('f', request('t2'))).role).toBe('leader');
  });

  it('abandon by a stale token leaves the current holder alone', async () => {
    const { tier } = adapter;
    await tier.acquire('g', request('holder'));
    await tier.abandon('g', 'someone-else', 0, 'n');
    expect((await tier.acquire('g', request('t2'))).role).toBe('follower');
  });

  it('renews only its own lease; force takes it over', async () => {
    const { tier } = adapter;
    await tier.acquire('h', request('t1', { leaseTtl: 1_000 }));
    expect(await tier.renew('h', 't1', 9_000)).toBe(true);
    expect(await tier.renew('h', 't2', 9_000)).toBe(false);
    expect((await tier.acquire('h', request('t3', { force: true }))).role).toBe('leader');
    expect(await tier.renew('h', 't1', 9_000)).toBe(false);
  });

  it('write and remove revoke the lease so the pending commit is rejected', async () => {
    const { tier } = adapter;
    await tier.acquire('i', request('t1'));
    await tier.write('i', entry('set', Date.now() + 10_000), 10_000, 'written');
    expect(await tier.commit('i', 't1', entry('t1', Date.now() + 10_000), 10_000, 'n')).toBe(false);
    expect(await tier.read('i')).toContain('"v-set"');
    await tier.acquire('j', request('t1'));
    await tier.remove(['j'], (key) => `removed-${key}`);
    expect(await tier.commit('j', 't1', entry('t1', Date.now() + 10_000), 10_000, 'n')).toBe(false);
    expect(await tier.read('j')).toBeNull();
    await expect.poll(() => received).toContain('removed-j');
  });

  it('does not let a write created earlier overwrite a newer entry (a late set)', async () => {
    const { tier } = adapter;
    const newer = `hc1 new 2000 ${Date.now() + 10_000} 0 0 5 -\n"newer"`;
    const late = `hc1 old 1000 ${Date.now() + 10_000} 0 0 5 -\n"late"`;
    await tier.write('late', newer, 10_000, 'n');
    await tier.write('late', late, 10_000, 'n');
    expect(await tier.read('late')).toBe(newer);
  });

  it('treats foreign bytes under a key as a miss that the leader may overwrite', async () => {
    const { tier } = adapter;
    await adapter.poke('k', 'not ours');
    const read = await tier.acquire('k', request('t1'));
    expect(read).toMatchObject({ role: 'leader', raw: 'not ours' });
    expect(await tier.commit('k', 't1', entry('t1', Date.now() + 10_000), 10_000, 'n')).toBe(true);
  });

  it('keeps the latest invalidation time per tag', async () => {
    const { tier } = adapter;
    await tier.invalidateTags(['t-a', 't-b'], 2_000, 'tags');
    await tier.invalidateTags(['t-a'], 1_000, 'tags');
    expect(await tier.tagTimes(['t-a', 't-b', 't-c'])).toEqual([2_000, 2_000, undefined]);
  });
});
