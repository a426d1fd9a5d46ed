/** HTTP stampede: two servers, a slow route, a short ttl; route calls counted across both in Redis. */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { HttpFlags } from '../http.js';
import { drive, type LoadResult } from '../lib/load.js';
import { fmt, installedVersion, table, verdict } from '../lib/report.js';
import type { ServerVariant } from '../workers/http-protocol.js';
import { type Fleet, type ServerConfig, startFleet, stopFleet } from './servers.js';

export const CALLS_PER_WINDOW_TARGET = 1.05;

export interface StampedeRow {
  readonly name: string;
  readonly failure?: string;
  readonly load?: LoadResult;
  readonly handlerCalls?: number;
  readonly windows?: number;
  readonly maxInOneWindow?: number;
}

/** herdcache, apicache and no cache in turn, each on a fresh pair of servers. */
export async function stampede(flags: HttpFlags, config: ServerConfig): Promise<StampedeRow[]> {
  const variants: { name: string; variant: ServerVariant }[] = [
    { name: 'herdcache cacheResponses', variant: 'herdcache' },
    { name: `apicache ${installedVersion('apicache')} (Redis)`, variant: 'apicache' },
    { name: 'no cache', variant: 'no cache' },
  ];
  const rows: StampedeRow[] = [];
  for (const { name, variant } of variants) {
    process.stdout.write(`http stampede: ${name} ... `);
    const namespace = `${config.namespace}:stampede:${variant.replace(' ', '-')}`;
    let fleet: Fleet;
    try {
      fleet = await startFleet(variant, 2, {
        ...config,
        namespace,
        ttl: flags.ttl,
        handlerMs: flags['handler-ms'],
      });
    } catch (error) {
      console.log(`cannot run: ${(error as Error).message}`);
      rows.push({ name, failure: (error as Error).message });
      continue;
    }
    try {
      const at = Date.now() + 100;
      for (const server of fleet.servers) server.send({ type: 'start', at });
      await sleep(at - Date.now());
      const load = await drive(fleet.urls, {
        connections: flags['stampede-connections'],
        seconds: flags.duration,
      });
      // Window 0 is warm-up (the cold fill and the first refresh both fall in it): windows 1.. are counted.
      const windows = Math.ceil((flags.duration * 1000) / flags.ttl) - 1;
      const redis = new Redis(config.redisUrl);
      const byWindow = await redis.hgetall(`${namespace}:handler-calls-by-window`);
      redis.disconnect();
      let handlerCalls = 0;
      let maxInOneWindow = 0;
      for (const [window, count] of Object.entries(byWindow)) {
        if (Number(window) < 1 || Number(window) > windows) continue;
        handlerCalls += Number(count);
        maxInOneWindow = Math.max(maxInOneWindow, Number(count));
      }
      rows.push({ name, load, handlerCalls, windows, maxInOneWindow });
      console.log(
        `${fmt.int(load.requestsPerSecond)} req/s, ${fmt.ratio(handlerCalls / windows, 2)} calls/window`,
      );
    } finally {
      await stopFleet(fleet);
    }
  }
  return rows;
}

/** The stampede table, route calls per window beside the target. */
export function stampedeTable(rows: readonly StampedeRow[]): string {
  return table(
    [
      'two servers',
      'req/s',
      'p50',
      'p99',
      'max',
      'errors',
      'route calls',
      'calls / window',
      `target ≤ ${CALLS_PER_WINDOW_TARGET}`,
      'max in 1 window',
    ],
    rows.map((row) => {
      if (!row.load) return [row.name, ...Array.from({ length: 9 }, () => '–')];
      const perWindow = row.handlerCalls! / row.windows!;
      return [
        row.name,
        fmt.int(row.load.requestsPerSecond),
        fmt.ms(row.load.p50),
        fmt.ms(row.load.p99),
        fmt.ms(row.load.max),
        fmt.int(row.load.non2xx + row.load.errors + row.load.timeouts),
        fmt.int(row.handlerCalls!),
        fmt.ratio(perWindow, 2),
        verdict(perWindow <= CALLS_PER_WINDOW_TARGET).text,
        fmt.int(row.maxInOneWindow!),
      ];
    }),
  );
}
