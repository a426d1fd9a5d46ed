import { type SpawnedCluster, spawnCluster } from '../../test/support/redis-cluster.js';
import { type SpawnedRedis, spawnRedis } from '../../test/support/redis-server.js';

/** The Redis a benchmark runs against, and how to let go of it. */
export interface BenchRedis {
  readonly url: string;
  /** Where it came from, for the report. */
  readonly origin: 'spawned' | 'REDIS_URL';
  release(): Promise<void>;
}

/**
 * A benchmark interrupted with Ctrl-C must not leave redis-servers behind: on exit, SIGINT or SIGTERM each
 * of `servers` is killed. The returned function removes the handlers once the servers are stopped, so a
 * later exit never signals a pid the system may have handed to another process since.
 */
function killOnExit(servers: readonly SpawnedRedis[]): () => void {
  const stop = () => {
    for (const server of servers) {
      // A pid of -1 (no process) would signal every process we may signal: never pass it on.
      if (server.pid <= 0) continue;
      try {
        process.kill(server.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  const onSignal = () => {
    stop();
    process.exit(130);
  };
  process.once('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, onSignal);
  return () => {
    process.off('exit', stop);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, onSignal);
  };
}

/**
 * `REDIS_URL` when set (the caller owns that server; keys carry a per-run prefix and nothing is flushed),
 * else a redis-server of our own on a free loopback port.
 */
export async function acquireRedis(): Promise<BenchRedis> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) return { url: fromEnv, origin: 'REDIS_URL', release: async () => {} };
  const server = await spawnRedis();
  const forget = killOnExit([server]);
  return {
    url: server.url,
    origin: 'spawned',
    async release() {
      await server.stop();
      forget();
    },
  };
}

/** Runs `body` with a Redis, releasing it afterwards even when `body` throws. */
export async function withRedis<T>(body: (redis: BenchRedis) => Promise<T>): Promise<T> {
  const redis = await acquireRedis();
  try {
    return await body(redis);
  } finally {
    await redis.release();
  }
}

/**
 * Runs `body` with a redis-server of our own on a free loopback port, whatever `REDIS_URL` says (for runs
 * that must start from an empty server), and stops it afterwards, even when `body` throws or the run is
 * interrupted.
 */
export async function withOwnRedis<T>(body: (url: string) => Promise<T>): Promise<T> {
  const server = await spawnRedis();
  const forget = killOnExit([server]);
  try {
    return await body(server.url);
  } finally {
    await server.stop();
    forget();
  }
}

/**
 * Runs `body` with a Redis Cluster of our own (`masters` masters with `replicasPerMaster` replicas each, on
 * free loopback ports) and stops every node afterwards, even when `body` throws or the run is interrupted.
 * A cluster is always spawned: `REDIS_URL` names one standalone server, never a cluster.
 */
export async function withCluster<T>(
  masters: number,
  replicasPerMaster: number,
  body: (cluster: SpawnedCluster) => Promise<T>,
): Promise<T> {
  // Nodes that spawnCluster has started when a Ctrl-C lands mid-spawn are not ours to name yet; they share
  // the terminal's process group, so the same SIGINT ends them.
  const cluster = await spawnCluster(masters, replicasPerMaster);
  const forget = killOnExit(cluster.nodes);
  try {
    return await body(cluster);
  } finally {
    await cluster.stop();
    forget();
  }
}
