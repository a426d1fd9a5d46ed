import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Cache } from '../../src/index.js';
import { type SpawnedCluster, spawnCluster } from './redis-cluster.js';

/**
 * A Redis Cluster for one test file: spawned before its tests, stopped after them. Caches put in `open` are
 * closed after each test.
 */
export function clusterPerFile(): { readonly cluster: () => SpawnedCluster; readonly open: Cache[] } {
  let cluster: SpawnedCluster | undefined;
  const open: Cache[] = [];
  beforeAll(async () => {
    cluster = await spawnCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((cache) => cache.close()));
  });
  return {
    cluster: () => {
      if (!cluster) throw new Error('the cluster is not up yet');
      return cluster;
    },
    open,
  };
}
