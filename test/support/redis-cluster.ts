import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, type SpawnedRedis, spawnRedis } from './redis-server.js';

const run = promisify(execFile);

/** A throwaway Redis Cluster on loopback: `masters` masters, each with `replicasPerMaster` replicas. */
export interface SpawnedCluster {
  /** Every node, masters first as `redis-cli --cluster create` assigned them. */
  readonly nodes: readonly SpawnedRedis[];
  /** `redis://127.0.0.1:port` of every node: what a client is given to find the cluster. */
  readonly urls: readonly string[];
  /** The node serving `slot` as master right now. */
  masterOf(slot: number): Promise<SpawnedRedis>;
  /** Resolves once every live node reports `cluster_state:ok` and agrees on one master per slot range. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** Node timeout of the spawned cluster: how long a paused master takes to be failed over, roughly. */
export const CLUSTER_NODE_TIMEOUT = 1_000;

async function info(url: string, section: string): Promise<string> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500 });
  try {
    await client.connect();
    return String(await client.call('CLUSTER', section));
  } finally {
    client.disconnect();
  }
}

/** Starts `masters * (1 + replicasPerMaster)` cluster-enabled servers and joins them with redis-cli. */
export async function spawnCluster(masters = 3, replicasPerMaster = 1): Promise<SpawnedCluster> {
  const nodes: SpawnedRedis[] = [];
  try {
    for (let i = 0; i < masters * (1 + replicasPerMaster); i++) {
      const port = await freePort(true);
      nodes.push(
        await spawnRedis(
          [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(CLUSTER_NODE_TIMEOUT),
          ],
          port,
        ),
      );
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((node) => `127.0.0.1:${node.port}`),
      '--cluster-replicas',
      String(replicasPerMaster),
      '--cluster-yes',
    ]);
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
  const urls = nodes.map((node) => node.url);
  const byPort = new Map(nodes.map((node) => [node.port, node]));
  const cluster: SpawnedCluster = {
    nodes,
    urls,
    async masterOf(slot) {
      for (const node of nodes) {
        let shards: string;
        try {
          shards = await info(node.url, 'NODES');
        } catch {
          continue;
        }
        for (const line of shards.split('\n')) {
          const fields = line.split(' ');
          if (!fields[2]?.includes('master') || fields[2].includes('fail')) continue;
          const port = Number(fields[1]?.split(':')[1]?.split('@')[0]);
          for (const range of fields.slice(8)) {
            const [from, to = from] = range.split('-').map(Number);
            if (from !== undefined && to !== undefined && slot >= from && slot <= to) {
              const owner = byPort.get(port);
              if (owner) return owner;
            }
          }
        }
      }
      throw new Error(`no master serves slot ${slot}`);
    },
    async settled() {
      for (;;) {
        const states = await Promise.all(
          nodes.map((node) => info(node.url, 'INFO').catch(() => 'unreachable')),
        );
        const live = states.filter((state) => state !== 'unreachable');
        if (live.every((state) => state.includes('cluster_state:ok'))) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
  await cluster.settled();
  return cluster;
}
