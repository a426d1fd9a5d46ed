/**
 * `npm start`: four app processes hit one hot key that expires every second, first with no cache, then
 * with herdcache, and the loader calls and latencies are printed side by side.
 *
 * Redis: REDIS_URL if set; otherwise a throwaway redis-server if one is installed; otherwise the demo runs
 * the callers in a single process (herdcache's in-process mode) and says so.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type SpawnedRedis, spawnRedis } from '../test/support/redis-server.js';

const WORKERS = 4;
const CALLERS = 25;
const DURATION = 3_000;
const TTL = 1_000;
const worker = fileURLToPath(new URL('./demo-worker.ts', import.meta.url));

interface Outcome {
  loads: number;
  latencies: number[];
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

async function run(
  mode: 'no-cache' | 'herdcache',
  redis: string | undefined,
  processes: number,
): Promise<Outcome> {
  const prefix = `herdcache-demo:${Date.now()}:`;
  const outcome: Outcome = { loads: 0, latencies: [] };
  await Promise.all(
    Array.from({ length: processes }, () => {
      const child = fork(worker, [], { execArgv: ['--import', 'tsx'] });
      child.on('message', (message: { type: 'load' } | { type: 'done'; latencies: number[] }) => {
        if (message.type === 'load') outcome.loads += 1;
        else outcome.latencies.push(...message.latencies);
      });
      child.send({
        mode,
        redis,
        prefix,
        callers: (CALLERS * WORKERS) / processes,
        duration: DURATION,
        ttl: TTL,
      });
      return new Promise((resolve) => child.once('exit', resolve));
    }),
  );
  outcome.latencies.sort((a, b) => a - b);
  return outcome;
}

async function findRedis(): Promise<{ url: string | undefined; server?: SpawnedRedis; note: string }> {
  if (process.env.REDIS_URL)
    return { url: process.env.REDIS_URL, note: `Redis at REDIS_URL (${process.env.REDIS_URL})` };
  try {
    const server = await spawnRedis();
    return { url: server.url, server, note: `a throwaway redis-server on port ${server.port}` };
  } catch {
    return {
      url: undefined,
      note: 'no Redis found: single-process mode (install redis-server for the fleet demo)',
    };
  }
}

const { url, server, note } = await findRedis();
const processes = url === undefined ? 1 : WORKERS;
console.log(
  `herdcache demo: ${processes} process(es) x ${(CALLERS * WORKERS) / processes} callers on one hot key,`,
);
console.log(
  `ttl ${TTL} ms, loader = a 100 ms "database query", ${DURATION / 1000} s per run, using ${note}.\n`,
);
try {
  const rows = [];
  for (const mode of ['no-cache', 'herdcache'] as const) {
    const { loads, latencies } = await run(mode, url, processes);
    rows.push({
      mode,
      'database queries': loads,
      'queries per second': (loads / (DURATION / 1000)).toFixed(1),
      'requests served': latencies.length,
      'p50 ms': percentile(latencies, 0.5).toFixed(2),
      'p99 ms': percentile(latencies, 0.99).toFixed(2),
    });
  }
  console.table(rows);
  console.log(`With herdcache the database sees about one query per ${TTL} ms expiry for the whole fleet;`);
  console.log('without it, every caller that finds the key missing runs the query itself.');
} finally {
  await server?.stop();
}
