/**
 * HTTP hit path: each adapter's cached route against its bare framework answering the same body (Express,
 * a Web fetch handler, Fastify), interleaved autocannon rounds.
 */
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

/** Each adapter's cached server and its bare twin: rows 2k and 2k + 1 of the table. */
export const HIT_PAIRS: readonly {
  readonly adapter: string;
  readonly cached: { readonly name: string; readonly variant: ServerVariant };
  readonly bare: { readonly name: string; readonly variant: ServerVariant };
}[] = [
  {
    adapter: 'Express',
    cached: { name: 'herdcache cacheResponses, cached route (hit)', variant: 'herdcache' },
    bare: { name: 'bare Express, same body', variant: 'bare' },
  },
  {
    adapter: 'fetch',
    cached: { name: 'herdcache cacheFetch, cached handler (hit)', variant: 'fetch herdcache' },
    bare: { name: 'bare fetch handler (same node:http bridge), same body', variant: 'fetch bare' },
  },
  {
    adapter: 'Fastify',
    cached: { name: 'herdcache fastifyCache, cached route (hit)', variant: 'fastify herdcache' },
    bare: { name: 'bare Fastify, same body', variant: 'fastify bare' },
  },
];

/** Runs the rounds; a server that cannot start keeps its row with the reason. */
export async function hitPath(flags: HttpFlags, config: ServerConfig): Promise<HitRow[]> {
  const variants = HIT_PAIRS.flatMap((pair) => [pair.cached, pair.bare]);
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
    // Warm-up: fills the caches and lets every server's JIT settle; not measured.
    for (const i of live) await drive(fleets[i]!.urls, { connections: flags.connections, seconds: 1 });
    for (let round = 0; round < flags.rounds; round += 1) {
      // The two servers of each pair take turns going first, the pairs keeping their order, so no server
      // ever runs twice in a row. Reversing the whole list did that to the server at the end of a round:
      // bare Fastify got two runs back to back in every odd round, and the cached Fastify server, run
      // right after it, fell from ~95% of bare in even rounds to ~75% in every odd one.
      const order = round % 2 === 0 ? live : [...live].sort((a, b) => (a >> 1) - (b >> 1) || b - a);
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

/** The hit-path table, and each adapter's req/s as a share of its bare framework's (NaN if one failed). */
export function hitTable(rows: readonly HitRow[]): {
  markdown: string;
  ratios: { adapter: string; ratio: number }[];
} {
  const rps = rows.map((row) =>
    row.failure ? Number.NaN : median(row.rounds.map((r) => r.requestsPerSecond)),
  );
  // The two servers of a pair run back to back in every round: the ratio within a round cancels a burst of
  // load from other processes that a ratio of the two medians would charge to whichever server it hit.
  const pairedRatio = (k: number) => {
    const cached = rows[2 * k];
    const bare = rows[2 * k + 1];
    if (!cached || !bare || cached.failure || bare.failure) return Number.NaN;
    return median(
      cached.rounds.map((r, round) => r.requestsPerSecond / bare.rounds[round]!.requestsPerSecond),
    );
  };
  const ratios = HIT_PAIRS.map((pair, k) => ({ adapter: pair.adapter, ratio: pairedRatio(k) }));
  const body = rows.map((row, i) =>
    row.failure
      ? [row.name, '–', '–', '–', '–', '–']
      : [
          row.name,
          fmt.int(rps[i]!),
          i % 2 === 1 ? fmt.pct(1, 0) : fmt.pct(ratios[i >> 1]!.ratio, 0),
          fmt.ms(median(row.rounds.map((r) => r.p99))),
          `${fmt.ratio(median(row.cpuPerRequest), 1)} µs`,
          fmt.int(row.rounds.reduce((sum, r) => sum + r.non2xx + r.errors, 0)),
        ],
  );
  return {
    markdown: table(
      [
        'server',
        'req/s (median)',
        'vs bare (median of rounds)',
        'p99 (median)',
        'server CPU / request',
        'errors',
      ],
      body,
    ),
    ratios,
  };
}
