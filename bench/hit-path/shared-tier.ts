/**
 * The hit path's shared tier: every get is a Redis round trip. Throughput beside what each read costs
 * Redis (its CPU time and commands, from its own INFO) and this process.
 */
import { Redis } from 'ioredis';
import type { HitPathFlags } from '../hit-path.js';
import { type CommandStat, RedisProbe } from '../lib/redis-probe.js';
import { interleavedRounds, type RoundProbe, type RoundsResult } from '../lib/rounds.js';
import { median } from '../lib/stats.js';

/** What one timed round of the shared tier cost Redis, and this process. */
export interface RoundCost {
  readonly operations: number;
  /** Redis's used_cpu_user + used_cpu_sys over the round (`INFO cpu`). */
  readonly cpuSeconds: number;
  /** This process's user + system CPU over the round (`process.cpuUsage`): the client side of a read. */
  readonly clientCpuSeconds: number;
  /** Calls and µs inside each command over the round, scripts' inner calls included (`INFO commandstats`). */
  readonly commands: Readonly<Record<string, CommandStat>>;
}

/**
 * Reads Redis's CPU time and command counters around each timed round. The counters are read outside
 * the CPU readings, so the CPU window holds the round and one INFO cpu only; INFO itself is left out of
 * the command counts.
 */
function redisRounds(probe: RedisProbe): RoundProbe<RoundCost> {
  return async () => {
    const commands0 = await probe.commandStats();
    const cpu0 = await probe.cpuSeconds();
    const client0 = process.cpuUsage();
    return async (operations) => {
      const client = process.cpuUsage(client0);
      const cpu1 = await probe.cpuSeconds();
      const commands1 = await probe.commandStats();
      const commands: Record<string, CommandStat> = {};
      for (const [name, stat] of commands1) {
        const calls = stat.calls - (commands0.get(name)?.calls ?? 0);
        const usec = stat.usec - (commands0.get(name)?.usec ?? 0);
        if (name !== 'info' && calls > 0) commands[name] = { calls, usec };
      }
      return {
        operations,
        cpuSeconds: cpu1 - cpu0,
        clientCpuSeconds: (client.user + client.system) / 1e6,
        commands,
      };
    };
  };
}

/**
 * herdcache with `local: false` against a bare GET + JSON.parse of the same `value`, `concurrency` callers,
 * Redis's CPU time and command counters read around every timed round.
 */
export async function sharedTier(
  redisUrl: string,
  namespace: string,
  flags: HitPathFlags,
  value: unknown,
  concurrency: number,
): Promise<RoundsResult<RoundCost>[]> {
  const { createCache } = await import('herdcache');
  const cache = createCache({
    redis: redisUrl,
    prefix: `${namespace}:shared${concurrency}:`,
    ttl: 600_000,
    local: false,
  });
  cache.on('error', () => {});
  await cache.ready();
  const loader = async () => value;
  // One key per caller: callers of one key would share a round trip through herdcache's single-flight,
  // which is real but would hide the cost of a hit.
  const keys = Array.from({ length: concurrency }, (_, i) => `warm${i}`);
  const redis = new Redis(redisUrl);
  const probe = new RedisProbe(redisUrl);
  const bareKeys = keys.map((key) => `${namespace}:bare${concurrency}:${key}`);
  for (const [i, key] of keys.entries()) {
    await cache.cached(key, loader);
    await redis.set(bareKeys[i]!, JSON.stringify(value));
  }
  const bareGet = async (caller: number) => {
    const text = await redis.get(bareKeys[caller]!);
    return text === null ? undefined : JSON.parse(text);
  };
  try {
    return await interleavedRounds(
      [
        {
          name: 'herdcache cached() shared hit (local: false)',
          op: (caller) => cache.cached(keys[caller]!, loader),
        },
        { name: 'ioredis GET + JSON.parse', op: bareGet },
      ],
      {
        rounds: flags.rounds,
        ms: flags['round-ms'],
        concurrency,
        probe: redisRounds(probe),
      },
    );
  } finally {
    await cache.close();
    redis.disconnect();
    await probe.close();
  }
}

/** Redis CPU (or, with `client`, this process's CPU) per read in each round, in µs; the median. */
export function cpuMicrosPerRead(result: RoundsResult<RoundCost>, client = false): number {
  return median(
    result.probes.map(
      (r) => ((client ? r.clientCpuSeconds : r.cpuSeconds) * 1e6) / Math.max(1, r.operations),
    ),
  );
}

/**
 * Commands per read over all timed rounds, most frequent first, each with Redis's time inside one call:
 * e.g. `evalsha 1.00 × 4.10 µs, get 1.00 × 0.30 µs`. The time inside shows what a command costs Redis
 * where syscalls are shared by many clients' commands (a busy server), which CPU per read here does not.
 */
export function commandsPerRead(result: RoundsResult<RoundCost>): string {
  const operations = result.probes.reduce((sum, r) => sum + r.operations, 0);
  const totals = new Map<string, { calls: number; usec: number }>();
  for (const round of result.probes) {
    for (const [name, stat] of Object.entries(round.commands)) {
      const total = totals.get(name) ?? { calls: 0, usec: 0 };
      totals.set(name, { calls: total.calls + stat.calls, usec: total.usec + stat.usec });
    }
  }
  // Heartbeats and the like run a few times a second: below 0.01 per read they are not a read's cost.
  const perRead = [...totals]
    .map(([name, total]) => ({
      name,
      perRead: total.calls / Math.max(1, operations),
      each: total.usec / total.calls,
    }))
    .filter((command) => command.perRead >= 0.01)
    .sort((a, b) => b.perRead - a.perRead || b.each - a.each);
  return (
    perRead
      .map((command) => `${command.name} ${command.perRead.toFixed(2)} × ${command.each.toFixed(2)} µs`)
      .join(', ') || 'none'
  );
}
