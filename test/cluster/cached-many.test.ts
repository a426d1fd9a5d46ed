/**
 * cachedMany on a real Redis Cluster (3 masters + 3 replicas on loopback): keys of one batch live in many
 * slots on every master; each hash-tag group gets one lease script, and the fleet still loads each key once.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Cache, type CacheOptions } from '../../src/index.js';
import { KeySpace } from '../../src/redis/keys.js';
import { ACQUIRE_MANY } from '../../src/redis/scripts.js';
import { CLIENTS, makeClusterClient } from '../support/clients.js';
import { clusterPerFile } from '../support/cluster-per-file.js';
import { type FleetNode, startFleet, stopFleet } from '../support/fleet.js';

const spawned = clusterPerFile();
const { open } = spawned;
let fleet: FleetNode[] = [];
afterEach(async () => {
  await stopFleet(fleet);
  fleet = [];
});

function prefix(): string {
  return `test:cluster-many:${randomUUID()}:`;
}

describe('cachedMany on a Redis Cluster', () => {
  it('loads every key once for 3 processes x 10 callers asking overlapping batches across all masters', async () => {
    const options: CacheOptions = {
      redis: { cluster: spawned.cluster().urls },
      prefix: prefix(),
      ttl: 60_000,
    };
    fleet = await startFleet(3, options);
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    const asks = fleet.map((_, n) => keys.filter((_, i) => (i + n) % 3 !== 0));
    const results = (
      await Promise.all(fleet.map((node, n) => node.runMany(asks[n] as string[], 10, { delay: 50 })))
    ).flat();
    expect(results.every((result) => result.ok)).toBe(true);
    for (const key of keys) {
      expect(fleet.reduce((sum, node) => sum + node.count('loaderStart', key), 0)).toBe(1);
    }
    const byKey = new Map<string, Set<string>>();
    for (const result of results) {
      const value = result.value as { pid: number; n: number };
      const set = byKey.get(result.key as string) ?? new Set();
      set.add(`${value.pid}:${value.n}`);
      byKey.set(result.key as string, set);
    }
    for (const loads of byKey.values()) expect(loads.size).toBe(1);
  });

  it.each(CLIENTS)('sends one lease script per hash-tag group touched (%s)', async (name) => {
    const client = await makeClusterClient(name, spawned.cluster().urls);
    const p = prefix();
    const space = new KeySpace(p, 'sharded');
    const keys = Array.from({ length: 40 }, (_, i) => `g${i}`);
    const groups = new Set(keys.map((key) => space.group(key)));
    const cache = new Cache({ redis: client.redis, prefix: p, heartbeatInterval: 0 });
    open.push(cache);
    try {
      await cache.ready();
      const scripts: string[][] = [];
      const tier = spyOnScripts(client.redis, (keysOfScript) => scripts.push(keysOfScript));
      // Loads the script on every master first, so that no NOSCRIPT retry is counted below.
      await cache.cachedMany(
        Array.from({ length: 40 }, (_, i) => `warm${i}`),
        (asked) => asked,
      );
      scripts.length = 0;
      const values = await cache.cachedMany(keys, (asked) => asked.map((key) => `v:${key}`));
      expect(values).toEqual(keys.map((key) => `v:${key}`));
      tier.stop();
      expect(scripts).toHaveLength(groups.size);
      // Each script holds the value and lease of keys of one group only (one slot).
      for (const names of scripts)
        expect(new Set(names.map((n) => n.slice(0, n.indexOf('}') + 1))).size).toBe(1);
      expect(scripts.flat()).toHaveLength(keys.length * 2);
    } finally {
      await cache.close();
      await client.close();
    }
  });
});

/**
 * Calls `onBatch` with the Redis keys of every ACQUIRE_MANY sent through `redis` (an ioredis Cluster or a
 * node-redis cluster), by wrapping the client's own script methods.
 */
function spyOnScripts(redis: unknown, onBatch: (keys: string[]) => void): { stop(): void } {
  const client = redis as Record<string, unknown>;
  const names = ['evalsha', 'eval', 'sendCommand'].filter((name) => typeof client[name] === 'function');
  const originals = names.map((name) => client[name] as (...args: unknown[]) => unknown);
  names.forEach((name, index) => {
    const original = originals[index] as (...args: unknown[]) => unknown;
    client[name] = function (this: unknown, ...args: unknown[]) {
      const batch = keysOfBatch(args);
      if (batch) onBatch(batch);
      return original.apply(this, args);
    };
  });
  return {
    stop: () => {
      names.forEach((name, index) => {
        client[name] = originals[index];
      });
    },
  };
}

/** The keys of an ACQUIRE_MANY call, in either client's calling convention; undefined for anything else. */
function keysOfBatch(args: unknown[]): string[] | undefined {
  const ours = (script: unknown) => script === ACQUIRE_MANY.sha || script === ACQUIRE_MANY.source;
  // ioredis: evalsha(sha, numkeys, ...keys, ...args).
  if (ours(args[0]) && typeof args[1] === 'number') return args.slice(2, 2 + args[1]) as string[];
  // node-redis cluster: sendCommand(firstKey, readonly, ['EVALSHA', sha, numkeys, ...keys, ...args]).
  const command = args[2];
  if (Array.isArray(command) && ours(command[1])) return command.slice(3, 3 + Number(command[2])) as string[];
  return undefined;
}
