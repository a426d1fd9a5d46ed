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
  /** The nodes serving `slots` as masters right now, in order. */
  mastersOf(slots: readonly number[]): Promise<SpawnedRedis[]>;
  /**
   * Resolves once every live node reports `cluster_state:ok`, every replica has synced with its master, and
   * all agree on one master per slot.
   */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** Node timeout of the spawned cluster: how long a paused master takes to be failed over, roughly. */
export const CLUSTER_NODE_TIMEOUT = 1_000;

async function info(url: string, section: string): Promise<string> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500 });
  client.on('error', () => {});
  try {
    await client.connect();
    if (section === 'REPLICATION') return await client.info('replication');
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
  /** Each reachable node's view of which master port serves each slot. */
  const views = async (): Promise<Map<number, number>[]> => {
    const tables = await Promise.all(nodes.map((node) => info(node.url, 'NODES').catch(() => undefined)));
    return tables
      .filter((table): table is string => table !== undefined)
      .map((table) => {
        const owners = new Map<number, number>();
        for (const line of table.split('\n')) {
          const fields = line.split(' ');
          if (!fields[2]?.includes('master') || fields[2].includes('fail')) continue;
          const port = Number(fields[1]?.split(':')[1]?.split('@')[0]);
          for (const range of fields.slice(8)) {
            if (range.startsWith('[')) continue;
            const [from, to = from] = range.split('-').map(Number);
            for (let slot = from ?? 0; slot <= (to ?? -1); slot++) owners.set(slot, port);
          }
        }
        return owners;
      });
  };
  const cluster: SpawnedCluster = {
    nodes,
    urls,
    async masterOf(slot) {
      return (await cluster.mastersOf([slot]))[0] as SpawnedRedis;
    },
    async mastersOf(slots) {
      await cluster.settled();
      const view = (await views())[0];
      return slots.map((slot) => {
        const port = view?.get(slot);
        const owner = port === undefined ? undefined : byPort.get(port);
        if (!owner) throw new Error(`no master serves slot ${slot}`);
        return owner;
      });
    },
    async settled() {
      for (;;) {
        const states = await Promise.all(
          nodes.map((node) => info(node.url, 'INFO').catch(() => 'unreachable')),
        );
        const live = states.filter((state) => state !== 'unreachable');
        const replication = await Promise.all(
          nodes.map((node) => info(node.url, 'REPLICATION').catch(() => 'unreachable')),
        );
        // A replica that has not synced with its master yet could not be promoted if the master failed.
        const synced = replication.every(
          (state) => !state.includes('role:slave') || state.includes('master_link_status:up'),
        );
        if (synced && live.every((state) => state.includes('cluster_state:ok'))) {
          // ...and every live node sees the same master for every slot (after a failover, a resumed old
          // master takes a moment to learn that it was replaced).
          const seen = await views();
          const table = (view: Map<number, number>) =>
            Array.from({ length: 16_384 }, (_, slot) => view.get(slot) ?? 0).join(',');
          const first = table(seen[0] ?? new Map());
          if (seen.every((view) => table(view) === first)) return;
        }
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
