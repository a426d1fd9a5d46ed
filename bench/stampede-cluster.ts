/**
 * The stampede benchmark with herdcache's entries on a Redis Cluster: the same fleet, key sets and
 * defaults as bench/stampede.ts, herdcache's rows only (defaults, and stale-while-revalidate), the caches on
 * a local cluster of 3 masters + 3 replicas spawned for the run, the loader-call counters on the standalone
 * redis-server the suite already has (so counting never touches the cluster under test).
 *
 *   npx tsx bench/stampede-cluster.ts --processes 4 --callers 50 --duration 10 --masters 3 --replicas 1
 */
import { pathToFileURL } from 'node:url';
import { CLUSTER_NODE_TIMEOUT } from '../test/support/redis-cluster.js';
import { type Flags, parseFlags } from './lib/args.js';
import { withCluster } from './lib/redis.js';
import { RedisProbe } from './lib/redis-probe.js';
import { fmt, machine, machineLine, newRunId, type ScenarioReport } from './lib/report.js';
import { herdcache, herdcacheSwr } from './peers/herdcache.js';
import type { Peer } from './peers/types.js';
import { type RowProbe, runKeySets, runStampedeCli, stampedeMarkdown } from './stampede/key-sets.js';
import { STAMPEDE_FLAGS } from './stampede.js';

/** The stampede's flags and defaults, plus the cluster's shape. */
export const STAMPEDE_CLUSTER_FLAGS = {
  ...STAMPEDE_FLAGS,
  masters: { default: 3, help: 'cluster masters (each owns an equal share of the 16,384 slots)' },
  replicas: { default: 1, help: 'replicas per master' },
} as const;

export type StampedeClusterFlags = Flags<keyof typeof STAMPEDE_CLUSTER_FLAGS>;

/** The rows: herdcache's own (the peers take a single Redis URL and are not benchmarked on a cluster). */
const ROWS: readonly Peer[] = [herdcache, herdcacheSwr];

function rowNamed(name: string): Peer {
  const peer = ROWS.find((p) => p.name === name);
  if (!peer) throw new Error(`unknown row '${name}'; known: ${ROWS.map((p) => p.name).join(', ')}`);
  return peer;
}

/**
 * How the masters shared a row's script calls (`cmdstat_evalsha`: every read, lease and write herdcache
 * sends is one): the cluster is only exercised if the keys spread over its masters. One hot key lives in
 * one slot, so one master takes nearly all of that key set's calls; replicas take none (reads go to masters).
 */
function scriptsPerMaster(masters: readonly RedisProbe[]): RowProbe {
  const calls = () =>
    Promise.all(masters.map(async (probe) => (await probe.commandCalls()).get('evalsha') ?? 0));
  return async () => {
    const before = await calls();
    return async (row) => {
      const after = await calls();
      const deltas = after.map((value, i) => value - before[i]!);
      const total = deltas.reduce((sum, value) => sum + value, 0);
      if (row.failure || total === 0) return undefined;
      const shares = deltas.map((value) => fmt.pct(value / total, 0)).join(' / ');
      return `- **${row.library}**: ${fmt.int(total)} script calls (EVALSHA) on the cluster, per master: ${shares}`;
    };
  };
}

/** Runs herdcache's rows on each key set against a spawned cluster, counting loads on `redisUrl`. */
export async function runStampedeCluster(
  flags: StampedeClusterFlags,
  redisUrl: string,
): Promise<ScenarioReport> {
  const peers = flags.only ? flags.only.map(rowNamed) : ROWS;
  const m = machine();
  process.stdout.write(
    `stampede-cluster: spawning ${flags.masters} masters + ${flags.replicas} replicas each ... `,
  );
  return withCluster(flags.masters, flags.replicas, async (cluster) => {
    console.log(cluster.urls.join(' '));
    // `redis-cli --cluster create` makes the first `masters` nodes the masters; nothing fails over here.
    const masters = cluster.nodes.slice(0, flags.masters).map((node) => new RedisProbe(node.url));
    const { sections, records, verdicts } = await runKeySets({
      scenario: 'stampede-cluster',
      flags,
      peers,
      redisUrl,
      // Plain data, so it crosses IPC to the workers: each worker's herdcache opens its own ioredis Cluster.
      cacheRedis: { cluster: [...cluster.urls] },
      verdictSuffix: ', Redis Cluster',
      probe: scriptsPerMaster(masters),
      runId: newRunId(),
      machine: m,
    }).finally(() => Promise.all(masters.map((probe) => probe.close())));
    const markdown = stampedeMarkdown(
      `${machineLine(m)}. ${flags.processes} processes x ${flags.callers} callers for ${flags.duration} s per row, ttl ${flags.ttl} ms, loader ${flags['loader-ms']} ms. The caches on a local Redis Cluster of ${flags.masters} masters + ${flags.masters * flags.replicas} replicas (spawned for the run, node timeout ${CLUSTER_NODE_TIMEOUT / 1000} s), given as \`redis: { cluster: [${cluster.urls.length} node URLs] }\`; loader calls counted on a separate standalone redis-server. Same machine as the other scenarios: the ${cluster.urls.length} cluster nodes share its cores with the fleet.`,
      sections,
      peers,
    );
    return { id: 'stampede-cluster', title: 'Stampede on a Redis Cluster', markdown, records, verdicts };
  });
}

async function main(): Promise<void> {
  const flags = parseFlags(
    'stampede-cluster',
    STAMPEDE_CLUSTER_FLAGS,
    process.argv.slice(2),
    ROWS.map((p) => p.name).join(', '),
  );
  await runStampedeCli((redisUrl) => runStampedeCluster(flags, redisUrl), flags.report);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
