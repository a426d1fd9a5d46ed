import { type SpawnedRedis, spawnRedis } from '../../test/support/redis-server.js';

/** The Redis a benchmark runs against, and how to let go of it. */
export interface BenchRedis {
  readonly url: string;
  /** Where it came from, for the report. */
  readonly origin: 'spawned' | 'REDIS_URL';
  release(): Promise<void>;
}

// A benchmark interrupted with Ctrl-C must not leave a redis-server behind.
function killOnExit(server: SpawnedRedis): void {
  const stop = () => {
    try {
      process.kill(server.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop();
      process.exit(130);
    });
  }
}

/**
 * `REDIS_URL` when set (the caller owns that server; keys carry a per-run prefix and nothing is flushed),
 * else a redis-server of our own on a free loopback port.
 */
export async function acquireRedis(): Promise<BenchRedis> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) return { url: fromEnv, origin: 'REDIS_URL', release: async () => {} };
  const server = await spawnRedis();
  killOnExit(server);
  return {
    url: server.url,
    origin: 'spawned',
    release: () => server.stop(),
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
