/** HTTP hit path: a cached route against bare Express, interleaved autocannon rounds. */
import type { HttpFlags } from '../http.js';
import { drive, type LoadResult } from '../lib/load.js';
import { fmt, table } from '../lib/report.js';
import { median } from '../lib/stats.js';
import type { ServerVariant } from '../workers/http-protocol.js';
import { type Fleet, type ServerConfig, serverCpu, startFleet, stopFleet } from './servers.js';

export interface HitRow {
  readonly name: string;
  readonly failure?: string;
  readonly rounds: LoadResult[];
  /** Server CPU time per request in each round, µs: robust where req/s is bounded by the load generator. */
  readonly cpuPerRequest: number[];
}

/** Runs the rounds; a server that cannot start keeps its row with the reason. */
export async function hitPath(flags: HttpFlags, config: ServerConfig): Promise<HitRow[]> {
  const variants: { name: string; variant: ServerVariant }[] = [
    { name: 'herdcache cacheResponses, cached route (hit)', variant: 'herdcache' },
    { name: 'bare Express, same body', variant: 'bare' },
  ];
  const rows: HitRow[] = [];
  const fleets: (Fleet | undefined)[] = [];
  for (const { name, variant } of variants) {
    try {
      fleets.push(await startFleet(variant, 1, { ...config, namespace: `${config.namespace}:${variant}` }));
      rows.push({ name, rounds: [], cpuPerRequest: [] });
    } catch (error) {
      fleets.push(undefined);
      rows.push({ name, failure: (error as Error).message, rounds: [], cpuPerRequest: [] });
    }
  }
  try {
    const live = rows.map((_, i) => i).filter((i) => fleets[i] !== undefined);
    // Warm-up: fills the cache and lets both servers' JIT settle; not measured.
    for (const i of live) await drive(fleets[i]!.urls, { connections: flags.connections, seconds: 1 });
    for (let round = 0; round < flags.rounds; round += 1) {
      const order = round % 2 === 0 ? live : [...live].reverse();
      for (const i of order) {
        const server = fleets[i]!.servers[0]!;
        const cpuBefore = await serverCpu(server);
        const result = await drive(fleets[i]!.urls, {
          connections: flags.connections,
          seconds: flags['round-seconds'],
        });
        const cpu = (await serverCpu(server)) - cpuBefore;
        rows[i]!.rounds.push(result);
        rows[i]!.cpuPerRequest.push(cpu / Math.max(1, result.total));
      }
    }
  } finally {
    for (const fleet of fleets) if (fleet) await stopFleet(fleet);
  }
  return rows;
}

/** The hit-path table and herdcache's req/s as a share of bare Express's. */
export function hitTable(rows: readonly HitRow[]): { markdown: string; ratio: number } {
  const rps = rows.map((row) => median(row.rounds.map((r) => r.requestsPerSecond)));
  const baseline = rps[1] ?? Number.NaN;
  const body = rows.map((row, i) =>
    row.failure
      ? [row.name, '–', '–', '–', '–', '–']
      : [
          row.name,
          fmt.int(rps[i]!),
          fmt.pct(rps[i]! / baseline, 0),
          fmt.ms(median(row.rounds.map((r) => r.p99))),
          `${fmt.ratio(median(row.cpuPerRequest), 1)} µs`,
          fmt.int(row.rounds.reduce((sum, r) => sum + r.non2xx + r.errors, 0)),
        ],
  );
  return {
    markdown: table(
      ['server', 'req/s (median)', 'vs bare', 'p99 (median)', 'server CPU / request', 'errors'],
      body,
    ),
    ratio: (rps[0] ?? Number.NaN) / baseline,
  };
}
