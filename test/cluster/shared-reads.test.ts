/**
 * Shared reads on a real Redis Cluster: the reads of one tick go out as one MGET per hash-tag group (one
 * slot each), never across slots, and each caller gets its own key's value.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { KeySpace } from '../../src/redis/keys.js';
import { KEYS_PER_READ } from '../../src/redis/read-batch.js';
import { CLIENTS, makeClusterClient } from '../support/clients.js';
import { clusterPerFile } from '../support/cluster-per-file.js';

const spawned = clusterPerFile();

/** Calls of `command` on every node of the cluster since their last `CONFIG RESETSTAT`. */
async function callsOnAllNodes(command: string): Promise<number> {
  let total = 0;
  for (const node of spawned.cluster().nodes) {
    const redis = new Redis(node.url);
    try {
      const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(
        await redis.info('commandstats'),
      );
      total += Number(match?.[1] ?? 0);
    } finally {
      redis.disconnect();
    }
  }
  return total;
}

async function resetStats(): Promise<void> {
  for (const node of spawned.cluster().nodes) {
    const redis = new Redis(node.url);
    try {
      await redis.config('RESETSTAT');
    } finally {
      redis.disconnect();
    }
  }
}

describe.each(CLIENTS)('shared reads on a Redis Cluster through %s', (name) => {
  it('sends one read per hash-tag group touched, with every value right', async () => {
    const client = await makeClusterClient(name, spawned.cluster().urls);
    const prefix = `test:cluster-reads:${randomUUID()}:`;
    const cache = new Cache({ redis: client.redis, prefix, local: false, heartbeatInterval: 0 });
    spawned.open.push(cache);
    try {
      await cache.ready();
      const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
      await cache.cachedMany(keys, (asked) => asked.map((key) => `v:${key}`));
      const space = new KeySpace(prefix, 'sharded');
      const perGroup = new Map<number, number>();
      for (const key of keys) perGroup.set(space.group(key), (perGroup.get(space.group(key)) ?? 0) + 1);
      const shared = [...perGroup.values()].filter((count) => count > 1).length;
      // No group fills a batch, so each group is one read: an MGET, or a GET for a key alone in its group.
      expect(Math.max(...perGroup.values())).toBeLessThan(KEYS_PER_READ);
      // Some groups must hold several keys, or this test would not tell one MGET per group from a GET per key.
      expect(shared).toBeGreaterThan(0);
      await resetStats();
      const values = await Promise.all(keys.map((key) => cache.cached(key, async () => 'reloaded')));
      expect(values).toEqual(keys.map((key) => `v:${key}`));
      expect(await callsOnAllNodes('mget')).toBe(shared);
      expect(await callsOnAllNodes('get')).toBe(perGroup.size - shared);
      expect(await callsOnAllNodes('evalsha')).toBe(0);
    } finally {
      await cache.close();
      await client.close();
    }
  });
});
