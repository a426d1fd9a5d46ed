/**
 * The fleet's guarantees on a real Redis Cluster (3 masters + 3 replicas on loopback), from child processes.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type CacheOptions, ConfigurationError, createCache, type RedisConnection } from '../../src/index.js';
import { KeySpace } from '../../src/redis/keys.js';
import { type ClientName, type MadeClient, makeClient, makeClusterClient } from '../support/clients.js';
import { clusterPerFile } from '../support/cluster-per-file.js';
import { type FleetNode, startFleet as startNodes, stopFleet } from '../support/fleet.js';

const spawned = clusterPerFile();
const { open } = spawned;
let fleet: FleetNode[] = [];
/** Clients the test process made, closed after each test (after the caches using them). */
const made: MadeClient[] = [];
afterEach(async () => {
  await stopFleet(fleet);
  fleet = [];
  // The caches first (clusterPerFile would close them after this hook), then the clients they borrowed.
  await Promise.all(open.splice(0).map((cache) => cache.close()));
  await Promise.all(made.splice(0).map((client) => client.close()));
});

function prefix(): string {
  return `test:cluster:${randomUUID()}:`;
}

/** The port of the master that serves each key's herdcache records. */
async function mastersOf(keys: readonly string[], space: KeySpace): Promise<number[]> {
  const probe = new Redis(spawned.cluster().urls[0] as string);
  try {
    const slots = await Promise.all(
      keys.map(async (key) => Number(await probe.call('CLUSTER', 'KEYSLOT', space.value(key)))),
    );
    return (await spawned.cluster().mastersOf(slots)).map((master) => master.port);
  } finally {
    probe.disconnect();
  }
}

/** Commands each master has executed since `CONFIG RESETSTAT`. */
async function commandsPerMaster(ports: readonly number[]): Promise<number[]> {
  return Promise.all(
    ports.map(async (port) => {
      const node = new Redis(port, '127.0.0.1');
      try {
        const stats = await node.info('commandstats');
        return [...stats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)]
          .filter(([, name]) => name !== 'info' && name !== 'config' && name !== 'cluster' && name !== 'ping')
          .reduce((sum, [, , calls]) => sum + Number(calls), 0);
      } finally {
        node.disconnect();
      }
    }),
  );
}

/**
 * `url`: herdcache opens its cluster client (with ioredis, installed) from `{ cluster: urls }`; the others:
 * each node makes a cluster client of that library and passes it.
 */
const VARIANTS: readonly ('url' | ClientName)[] = ['url', 'ioredis5', 'node-redis'];

describe.each(VARIANTS)('a fleet of processes on a Redis Cluster (%s)', (variant) => {
  const urls = () => [...spawned.cluster().urls];
  const startFleet = (size: number, options: CacheOptions) =>
    startNodes(size, options, [], variant === 'url' ? undefined : { name: variant, cluster: urls() });
  /** The `redis` option for a cache in this process: the URLs, or a cluster client of the variant's library. */
  const clusterOption = async (): Promise<RedisConnection> => {
    if (variant === 'url') return { cluster: urls() };
    const client = await makeClusterClient(variant, urls());
    made.push(client);
    return client.redis;
  };
  it('loads each of 12 cold keys spread over every master exactly once for 3 processes x 10 callers', async () => {
    const p = prefix();
    const keys = Array.from({ length: 12 }, (_, i) => `cold-${i}`);
    expect(new Set(await mastersOf(keys, new KeySpace(p))).size).toBe(3);
    fleet = await startFleet(3, { redis: { cluster: urls() }, prefix: p });
    const results = (
      await Promise.all(fleet.flatMap((node) => keys.map((key) => node.run(key, 10, { delay: 100 }))))
    ).flat();
    expect(results.filter((r) => !r.ok)).toEqual([]);
    for (const key of keys) {
      const loads = fleet.reduce((sum, node) => sum + node.count('loaderStart', key), 0);
      expect(loads, key).toBe(1);
      const seen = new Set(
        results.filter((r) => (r.value as { key: string }).key === key).map((r) => JSON.stringify(r.value)),
      );
      expect(seen.size, key).toBe(1);
    }
  });

  it('takes invalidate and invalidateTag to every node, whichever master holds the key', async () => {
    const p = prefix();
    fleet = await startFleet(3, { redis: { cluster: urls() }, prefix: p });
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (const key of keys)
      await Promise.all(fleet.map((node) => node.run(key, 1, { tag: 'v1' }, { tags: ['group'] })));
    const [writer, ...others] = fleet as [FleetNode, ...FleetNode[]];

    const heardKey = others.map((node) => node.next('invalidated', (r) => r.key === 'a'));
    await writer.invalidate('a');
    await Promise.all(heardKey);
    const afterKey = await Promise.all(fleet.map((node) => node.run('a', 1, { tag: 'v2' })));
    expect(afterKey.flat().map((r) => (r.value as { tag: string }).tag)).toEqual(['v2', 'v2', 'v2']);

    const heardTag = others.map((node) => node.next('tagInvalidated', (r) => r.tag === 'group'));
    await writer.invalidateTag('group');
    await Promise.all(heardTag);
    for (const key of keys.slice(1)) {
      const after = await Promise.all(
        fleet.map((node) => node.run(key, 1, { tag: 'v3' }, { tags: ['group'] })),
      );
      expect(
        after.flat().map((r) => (r.value as { tag: string }).tag),
        key,
      ).toEqual(['v3', 'v3', 'v3']);
    }
  });

  it('spreads 300 tagged shared reads over the masters: none serves more than 60% of the commands', async () => {
    const p = prefix();
    const masters = [
      ...new Set(
        await mastersOf(
          Array.from({ length: 64 }, (_, i) => `k${i}`),
          new KeySpace(p),
        ),
      ),
    ];
    expect(masters).toHaveLength(3);
    const cache = createCache({
      redis: await makeClusterClient(variant === 'url' ? 'ioredis' : variant, urls()).then((client) => {
        made.push(client);
        return client.redis;
      }),
      prefix: p,
      local: false,
    });
    open.push(cache);
    await cache.ready();
    const keys = Array.from({ length: 300 }, (_, i) => `tagged-${i}`);
    for (const key of keys)
      await cache.cached(key, () => key, { tags: [`tag-${Number(key.split('-')[1]) % 7}`] });
    await Promise.all(
      masters.map((port) => new Redis(port, '127.0.0.1').config('RESETSTAT').finally(() => {})),
    );
    for (const key of keys)
      expect(
        await cache.cached(key, () => 'reloaded', { tags: [`tag-${Number(key.split('-')[1]) % 7}`] }),
      ).toBe(key);
    const served = await commandsPerMaster(masters);
    const total = served.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(300);
    expect(Math.max(...served) / total).toBeLessThanOrEqual(0.6);
  });

  it("carries each notice on its key's shard only: nothing is broadcast over the cluster bus", async () => {
    const p = prefix();
    const reader = createCache({ redis: await clusterOption(), prefix: p });
    const writer = createCache({ redis: await clusterOption(), prefix: p });
    open.push(reader, writer);
    await Promise.all([reader.ready(), writer.ready()]);
    const keys = Array.from({ length: 30 }, (_, i) => `n${i}`);
    expect(new Set(await mastersOf(keys, new KeySpace(p))).size).toBe(3);
    const broadcast = async () => {
      const stats = await Promise.all(
        spawned.cluster().nodes.map(async (node) => {
          const probe = new Redis(node.port, '127.0.0.1');
          try {
            return String(await probe.call('CLUSTER', 'INFO'));
          } finally {
            probe.disconnect();
          }
        }),
      );
      const sum = (field: string) =>
        stats.reduce((total, info) => total + Number(new RegExp(`${field}:(\\d+)`).exec(info)?.[1] ?? 0), 0);
      return {
        classic: sum('cluster_stats_messages_publish_sent'),
        sharded: sum('cluster_stats_messages_publishshard_sent'),
      };
    };
    const before = await broadcast();
    const heard = new Set<string>();
    const all = new Promise<void>((resolve) =>
      reader.on('invalidate', ({ keys: invalidated, origin }) => {
        if (origin !== 'remote') return;
        for (const key of invalidated) heard.add(key);
        if (heard.size === keys.length) resolve();
      }),
    );
    for (const key of keys) await writer.invalidate(key);
    await all;
    const after = await broadcast();
    // Classic PUBLISH would have sent each notice from its master to the 5 other nodes.
    expect(after.classic - before.classic).toBe(0);
    // Sharded notices only go from a master to its own replica.
    expect(after.sharded - before.sharded).toBeGreaterThanOrEqual(keys.length);
    expect(after.sharded - before.sharded).toBeLessThanOrEqual(2 * keys.length);
  });

  it('refuses to run standalone on one cluster node given as a URL or client, and says so once', async () => {
    const url = spawned.cluster().urls[0] as string;
    let redis: RedisConnection = url;
    if (variant !== 'url') {
      const client = await makeClient(variant, url);
      made.push(client);
      redis = client.redis;
    }
    const cache = createCache({
      redis,
      prefix: prefix(),
      redisTimeout: 200,
    });
    open.push(cache);
    const errors: Error[] = [];
    const configuration = new Promise<ConfigurationError>((resolve) =>
      cache.on('error', (error) => {
        errors.push(error);
        if (error instanceof ConfigurationError) resolve(error);
      }),
    );
    const refused = await configuration;
    expect(refused.message).toMatch(/is a Redis Cluster node: pass `redis: \{ cluster: \[/);
    // Still serves, in single-process mode: one load per key, no caller error.
    let loads = 0;
    const values = await Promise.all(Array.from({ length: 10 }, () => cache.cached('k', () => ++loads)));
    expect(values).toEqual(Array(10).fill(1));
    expect(errors.filter((error) => error instanceof ConfigurationError)).toHaveLength(1);
  });
});
