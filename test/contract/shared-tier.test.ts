import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeTail } from '../../src/core/envelope.js';
import { type BusMessage, encodeMessage, messageHead, parseMessage } from '../../src/core/messages.js';
import { MemoryNetwork } from '../../src/memory/memory-network.js';
import { connectRedis } from '../../src/redis/connect.js';
import { KeySpace } from '../../src/redis/keys.js';
import type { AcquireRequest, Bus, SharedTier, WriteRequest } from '../../src/types.js';
import { CLIENTS, type ClientName, makeClient, makeClusterClient } from '../support/clients.js';
import { type SpawnedCluster, spawnCluster } from '../support/redis-cluster.js';

interface Adapter {
  tier: SharedTier;
  bus: Bus;
  /** Store raw bytes under the key's value slot, as a foreign writer would. */
  poke(key: string, raw: string): Promise<void>;
  /** Milliseconds a tag record has left (-2: none). */
  tagTtl(tag: string): Promise<number>;
  close(): Promise<void>;
}

const redisUrl = inject('redisUrl');
/** Spawned for the cluster adapters, once for the file. */
let cluster: SpawnedCluster | undefined;

/** The shared tier and bus herdcache builds on `client`, with a plain connection to poke at Redis. */
async function onRedis(name: ClientName, topology: 'standalone' | 'cluster'): Promise<Adapter> {
  const prefix = `test:contract:${randomUUID()}:`;
  const made =
    topology === 'cluster'
      ? await makeClusterClient(name, (cluster as SpawnedCluster).urls)
      : await makeClient(name, redisUrl);
  const keys = new KeySpace(prefix, topology === 'cluster' ? 'sharded' : 'classic');
  const { tier, bus } = connectRedis(made.redis, prefix, 'contract', 1_000, () => {});
  // Plain commands on the key's own master: one connection per call is plenty for a few pokes.
  const onKey = async <T>(key: string, command: (raw: Redis) => Promise<T>): Promise<T> => {
    if (topology === 'standalone') {
      const raw = new Redis(redisUrl);
      try {
        return await command(raw);
      } finally {
        raw.disconnect();
      }
    }
    const probe = new Redis((cluster as SpawnedCluster).urls[0] as string);
    const slot = Number(await probe.call('CLUSTER', 'KEYSLOT', key));
    probe.disconnect();
    const master = await (cluster as SpawnedCluster).masterOf(slot);
    const raw = new Redis(master.url);
    try {
      return await command(raw);
    } finally {
      raw.disconnect();
    }
  };
  return {
    tier,
    bus,
    poke: async (key, raw) => {
      await onKey(keys.value(key), (redis) => redis.set(keys.value(key), raw));
    },
    tagTtl: (tag) => onKey(keys.tag(tag), (redis) => redis.pttl(keys.tag(tag))),
    close: async () => {
      await tier.close();
      await made.close();
    },
  };
}

const adapters: Record<string, () => Promise<Adapter>> = {
  memory: async () => {
    const network = new MemoryNetwork({ now: () => Date.now() });
    return {
      tier: network.tier(),
      bus: network.bus(),
      poke: async (key, raw) => network.poke(key, raw),
      tagTtl: async (tag) => network.tagTtl(tag),
      close: async () => {},
    };
  },
  ...Object.fromEntries(
    CLIENTS.flatMap((name) => [
      [name, () => onRedis(name, 'standalone')],
      [`${name} cluster`, () => onRedis(name, 'cluster')],
    ]),
  ),
};

beforeAll(async () => {
  cluster = await spawnCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

/** A value to store: fresh for `ttl` ms from `elapsed` ms ago. */
const value = (id: string, options: Partial<WriteRequest> & { loadMs?: number } = {}): WriteRequest => ({
  id,
  tail: writeTail(options.loadMs ?? 5, [], [], JSON.stringify(`v-${id}`)),
  elapsed: 0,
  ttl: 10_000,
  staleWhileRevalidate: 0,
  staleIfError: 0,
  ...options,
});

const headOf = (key: string, token: string) => messageHead('loaded', 'node', token, key);

describe.each(Object.keys(adapters))('SharedTier contract: %s', (name) => {
  let adapter: Adapter;
  const received: BusMessage[] = [];
  const lost: string[] = [];
  const heard = (predicate: (message: BusMessage) => boolean) =>
    expect.poll(() => received.some(predicate)).toBe(true);
  beforeAll(async () => {
    adapter = await (adapters[name] as () => Promise<Adapter>)();
    await adapter.bus.subscribe(
      (text) => {
        const message = parseMessage(text);
        if (message) received.push(message);
      },
      (reason) => lost.push(reason),
    );
  });
  afterAll(async () => {
    await adapter.bus.close();
    await adapter.close();
  });

  const request = (token: string, extra: Partial<AcquireRequest> = {}): AcquireRequest => ({
    token,
    leaseTtl: 5_000,
    mode: 'read',
    refreshMargin: undefined,
    ...extra,
  });

  it('brings a heartbeat back through the subscription (classic: its own channel; sharded: PING per shard)', async () => {
    // A command connection still coming up refuses the beat (the next one would go); try until it goes.
    const beat = () => adapter.bus.beat(encodeMessage({ kind: 'heartbeat', node: 'contract' }));
    await expect
      .poll(() =>
        beat().then(
          () => true,
          () => false,
        ),
      )
      .toBe(true);
    await heard((m) => m.kind === 'heartbeat' && m.node === 'contract');
  });

  it('after a forced reconnect (a dead-looking subscription) reports the gap once resubscribed, and delivers', async () => {
    adapter.bus.reconnect();
    if (name !== 'memory') await expect.poll(() => lost).toContain('subscriber reconnected');
    await adapter.tier.remove(['after-reconnect'], (key) =>
      encodeMessage({ kind: 'invalidated', node: 'n', key }),
    );
    await heard((m) => m.kind === 'invalidated' && m.key === 'after-reconnect');
  });

  it("gives the lease to the first caller on a miss; the next one follows, told the holder's token", async () => {
    const { tier } = adapter;
    const first = await tier.acquire('a', request('t1'));
    expect(first).toMatchObject({ raw: null, role: 'leader' });
    expect(Math.abs(first.serverNow - Date.now())).toBeLessThan(1_000);
    const second = await tier.acquire('a', request('t2'));
    expect(second).toMatchObject({ role: 'follower', holder: 't1' });
    expect(second.remaining).toBeGreaterThan(4_000);
  });

  it('acquireMany answers in request order exactly as acquire would, across hash-tag groups and past one script', async () => {
    const { tier } = adapter;
    // 150 keys: more than one script holds, spread over many groups on a Cluster.
    const keys = Array.from({ length: 150 }, (_, i) => `many-${i}`);
    await tier.acquire('many-3', request('held'));
    await tier.acquire('many-140', request('stored'));
    await tier.commit('many-140', value('stored'), headOf('many-140', 'stored'), 10_000);
    await tier.acquire('many-7', request('failed'));
    await tier.abandon(
      'many-7',
      'failed',
      5_000,
      encodeMessage({ kind: 'empty', node: 'n', key: 'many-7', token: 'failed' }),
    );
    const reads = await tier.acquireMany(keys.map((key, i) => ({ key, request: request(`b${i}`) })));
    expect(reads).toHaveLength(150);
    reads.forEach((read, i) => {
      if (i === 3) expect(read).toMatchObject({ role: 'follower', holder: 'held', raw: null });
      else if (i === 140)
        expect(read).toMatchObject({ role: 'fresh', raw: expect.stringMatching(/^hc2 stored /) });
      else if (i === 7) expect(read.role).toBe('backoff');
      else expect(read).toMatchObject({ role: 'leader', raw: null });
      expect(Math.abs(read.serverNow - Date.now())).toBeLessThan(1_000);
    });
    // The leases are real: single calls now follow the batch's tokens.
    expect(await tier.acquire('many-0', request('late'))).toMatchObject({ role: 'follower', holder: 'b0' });
    expect(await tier.acquire('many-149', request('late'))).toMatchObject({
      role: 'follower',
      holder: 'b149',
    });
    expect(await tier.acquireMany([])).toEqual([]);
  });

  it('commits only while the token holds the lease, dated by the server, and announces the stored entry', async () => {
    const { tier } = adapter;
    await tier.acquire('b', request('t1'));
    expect(await tier.commit('b', value('wrong'), headOf('b', 'wrong'), 10_000)).toMatchObject({
      stored: false,
    });
    const { stored, serverNow } = await tier.commit(
      'b',
      value('t1', { elapsed: 40 }),
      headOf('b', 't1'),
      10_000,
    );
    expect(stored).toBe(true);
    const raw = (await tier.read('b')).raw as string;
    expect(raw).toBe(
      `hc2 t1 ${serverNow - 40} ${serverNow - 40 + 10_000} ${serverNow - 40 + 10_000} ${serverNow - 40 + 10_000} 5 0\n"v-t1"`,
    );
    expect(await tier.acquire('b', request('t3'))).toMatchObject({ role: 'fresh', raw });
    await heard(
      (m) =>
        m.kind === 'loaded' &&
        m.key === 'b' &&
        m.token === 't1' &&
        m.raw === raw &&
        m.serverNow === serverNow,
    );
    expect(received.some((m) => m.kind === 'loaded' && m.token === 'wrong')).toBe(false);
  });

  it('leaves the stored entry out of the announcement past the inline limit', async () => {
    const { tier } = adapter;
    await tier.acquire('big', request('t1'));
    await tier.commit('big', value('t1'), headOf('big', 't1'), 10);
    await heard((m) => m.kind === 'loaded' && m.key === 'big');
    expect(received.find((m) => m.kind === 'loaded' && m.key === 'big')).not.toHaveProperty('raw');
  });

  it('takes the lease again once the entry is stale, keeping it for the stale windows', async () => {
    const { tier } = adapter;
    await tier.acquire('c', request('t1'));
    await tier.commit('c', value('t1', { elapsed: 20_000, staleIfError: 60_000 }), headOf('c', 't1'), 0);
    const read = await tier.acquire('c', request('t2'));
    expect(read.role).toBe('leader');
    expect(read.raw).toMatch(/^hc2 t1 /);
  });

  it('early refresh of an entry: the lease only while that entry is stored and nobody refreshes it', async () => {
    const { tier } = adapter;
    await tier.acquire('d', request('t1'));
    await tier.commit('d', value('t1'), headOf('d', 't1'), 0);
    expect((await tier.acquire('d', request('t2', { mode: 'refresh', id: 'other' }))).role).toBe('fresh');
    expect((await tier.acquire('d', request('t3', { mode: 'refresh', id: 't1' }))).role).toBe('leader');
    expect((await tier.acquire('d', request('t4', { mode: 'refresh', id: 't1' }))).role).toBe('fresh');
  });

  it('a read takes the lease for an early refresh within load time + margin of expiry', async () => {
    const { tier } = adapter;
    await tier.acquire('due', request('t1'));
    // 10 s ttl, 9.9 s ago, last load 200 ms: 100 ms left, inside 200 + 10.
    await tier.commit('due', value('t1', { elapsed: 9_900, loadMs: 200 }), headOf('due', 't1'), 0);
    expect((await tier.acquire('due', request('t2'))).role).toBe('fresh');
    const due = await tier.acquire('due', request('t3', { refreshMargin: 10 }));
    expect(due.role).toBe('leader');
    expect(due.raw).toMatch(/^hc2 t1 /);
    expect((await tier.acquire('due', request('t4', { refreshMargin: 10 }))).role).toBe('fresh');
  });

  it('replace treats that very entry as missing, and only that one', async () => {
    const { tier } = adapter;
    await tier.acquire('r', request('t1'));
    await tier.commit('r', value('t1'), headOf('r', 't1'), 0);
    expect((await tier.acquire('r', request('t2', { mode: 'replace', id: 'other' }))).role).toBe('fresh');
    expect((await tier.acquire('r', request('t3', { mode: 'replace', id: 't1' }))).role).toBe('leader');
    expect(await tier.acquire('r', request('t4', { mode: 'replace', id: 't1' }))).toMatchObject({
      role: 'follower',
      holder: 't3',
    });
  });

  it('abandon with a backoff turns the lease into a backoff marker carrying the failure', async () => {
    const { tier } = adapter;
    const failed = encodeMessage({
      kind: 'failed',
      node: 'n',
      key: 'e',
      token: 't1',
      name: 'E',
      message: 'm',
      tags: ['t'],
      stamps: [1],
    });
    await tier.acquire('e', request('t1'));
    expect(await tier.abandon('e', 't1', 5_000, failed)).toBe(true);
    expect(await tier.acquire('e', request('t2'))).toMatchObject({ role: 'backoff', failure: failed });
    await tier.acquire('f', request('t1'));
    await tier.abandon('f', 't1', 0, encodeMessage({ kind: 'released', node: 'n', key: 'f', token: 't1' }));
    expect((await tier.acquire('f', request('t2'))).role).toBe('leader');
    await heard((m) => m.kind === 'released' && m.key === 'f');
  });

  it("lift takes the lease from that failed load's backoff only, never from a live lease", async () => {
    const { tier } = adapter;
    const failed = (token: string) =>
      encodeMessage({
        kind: 'failed',
        node: 'n',
        key: 'l',
        token,
        name: 'E',
        message: 'm',
        tags: [],
        stamps: [],
      });
    await tier.acquire('l', request('t1'));
    await tier.abandon('l', 't1', 5_000, failed('t1'));
    expect((await tier.acquire('l', request('t2', { mode: 'lift', id: 'other' }))).role).toBe('backoff');
    expect((await tier.acquire('l', request('t3', { mode: 'lift', id: 't1' }))).role).toBe('leader');
    expect(await tier.acquire('l', request('t4', { mode: 'lift', id: 't1' }))).toMatchObject({
      role: 'follower',
      holder: 't3',
    });
  });

  it('abandon by a token that lost the lease changes nothing and announces nothing', async () => {
    const { tier } = adapter;
    await tier.acquire('g', request('holder'));
    const notice = encodeMessage({
      kind: 'failed',
      node: 'n',
      key: 'g',
      token: 'old',
      name: 'E',
      message: 'm',
      tags: ['t'],
      stamps: [1],
    });
    expect(await tier.abandon('g', 'old', 0, notice)).toBe(false);
    expect((await tier.acquire('g', request('t2'))).role).toBe('follower');
    await tier.abandon(
      'g',
      'holder',
      0,
      encodeMessage({ kind: 'empty', node: 'n', key: 'g', token: 'holder' }),
    );
    await heard((m) => m.kind === 'empty' && m.key === 'g');
    expect(received.some((m) => m.kind === 'failed' && m.key === 'g')).toBe(false);
  });

  it('renews only its own lease; force takes it over', async () => {
    const { tier } = adapter;
    await tier.acquire('h', request('t1', { leaseTtl: 1_000 }));
    expect(await tier.renew('h', 't1', 9_000)).toBe(true);
    expect(await tier.renew('h', 't2', 9_000)).toBe(false);
    expect((await tier.acquire('h', request('t3', { mode: 'force' }))).role).toBe('leader');
    expect(await tier.renew('h', 't1', 9_000)).toBe(false);
  });

  it('write and remove revoke the lease so the pending commit is rejected', async () => {
    const { tier } = adapter;
    await tier.acquire('i', request('t1'));
    await tier.write('i', value('set'), encodeMessage({ kind: 'invalidated', node: 'n', key: 'i' }));
    expect((await tier.commit('i', value('t1'), headOf('i', 't1'), 0)).stored).toBe(false);
    expect((await tier.read('i')).raw).toContain('"v-set"');
    await tier.acquire('j', request('t1'));
    await tier.remove(['j'], (key) => encodeMessage({ kind: 'invalidated', node: 'n', key }));
    expect((await tier.commit('j', value('t1'), headOf('j', 't1'), 0)).stored).toBe(false);
    expect((await tier.read('j')).raw).toBeNull();
    await heard((m) => m.kind === 'invalidated' && m.key === 'j');
  });

  it('orders writes by arrival: the last write wins whatever its writer thought the time was', async () => {
    const { tier } = adapter;
    const notice = encodeMessage({ kind: 'invalidated', node: 'n', key: 'late' });
    await tier.write('late', value('first', { elapsed: 0 }), notice);
    await tier.write('late', value('second', { elapsed: 5_000 }), notice);
    expect((await tier.read('late')).raw).toMatch(/^hc2 second /);
  });

  it('treats foreign bytes under a key as a miss that the leader may overwrite', async () => {
    const { tier } = adapter;
    await adapter.poke('k', 'not ours');
    const read = await tier.acquire('k', request('t1'));
    expect(read).toMatchObject({ role: 'leader', raw: 'not ours' });
    expect((await tier.commit('k', value('t1'), headOf('k', 't1'), 0)).stored).toBe(true);
  });

  it('gives each tag invalidation a later stamp, announces it, and keeps the record at least its lifetime', async () => {
    const { tier } = adapter;
    expect(await tier.tagStamps(['t-a', 't-b'])).toEqual([0, 0]);
    const first = await tier.invalidateTag('t-a', messageHead('tag', 'n', '', 't-a'), 60_000);
    const second = await tier.invalidateTag('t-a', messageHead('tag', 'n', '', 't-a'), 1_000);
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(first);
    expect(await tier.tagStamps(['t-a', 't-b'])).toEqual([second, 0]);
    expect(await adapter.tagTtl('t-a')).toBeGreaterThan(50_000);
    await heard((m) => m.kind === 'tag' && m.tag === 't-a' && m.stamp === second);
  });

  it('touching tags returns their stamps and extends their records, never shortens them', async () => {
    const { tier } = adapter;
    expect(await adapter.tagTtl('t-c')).toBe(-2);
    expect(await tier.touchTags(['t-c'], 5_000)).toEqual([0]);
    expect(await adapter.tagTtl('t-c')).toBeGreaterThan(4_000);
    await tier.touchTags(['t-c'], 1_000);
    expect(await adapter.tagTtl('t-c')).toBeGreaterThan(4_000);
    const stamp = await tier.invalidateTag('t-c', messageHead('tag', 'n', '', 't-c'), 100);
    expect(await tier.touchTags(['t-c'], 50_000)).toEqual([stamp]);
    expect(await adapter.tagTtl('t-c')).toBeGreaterThan(40_000);
  });
});
