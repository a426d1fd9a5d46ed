/**
 * HTTP: herdcache's Express middleware `cacheResponses`.
 * - Hit path: a cached route against bare Express returning the same body (autocannon, interleaved rounds).
 * - Stampede: two server processes behind one load generator, a 100 ms route, ttl 1 s: herdcache against
 *   apicache (over Redis) and no cache; route calls counted across both servers in Redis.
 *
 *   npx tsx bench/http.ts --rounds 5 --round-seconds 3 --duration 10
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { type Flags, parseFlags } from './lib/args.js';
import { drive, type LoadResult } from './lib/load.js';
import { withRedis } from './lib/redis.js';
import {
  fmt,
  installedVersion,
  machine,
  machineLine,
  newRunId,
  type ScenarioReport,
  table,
  verdict,
  writeReadmeSection,
  writeRecords,
} from './lib/report.js';
import { median } from './lib/stats.js';
import { stopAll, Worker } from './lib/workers.js';
import type { FromHttpServer, ServerVariant, ToHttpServer } from './workers/http-protocol.js';

/** Flags and defaults (the suite runs the defaults). */
export const HTTP_FLAGS = {
  rounds: { default: 5, help: 'interleaved hit-path rounds per server (median reported)' },
  'round-seconds': { default: 3, help: 'seconds of load per hit-path round' },
  connections: { default: 50, help: 'autocannon connections for the hit path' },
  duration: { default: 10, help: 'seconds of load per stampede row' },
  'stampede-connections': { default: 100, help: 'autocannon connections for the stampede' },
  ttl: { default: 1000, help: 'fresh time of cached responses in the stampede, ms' },
  'handler-ms': { default: 100, help: 'route handler duration in the stampede, ms' },
} as const;

export type HttpFlags = Flags<keyof typeof HTTP_FLAGS>;

export const HTTP_HIT_TARGET = 0.85;
const CALLS_PER_WINDOW_TARGET = 1.05;
const SERVER = new URL('./workers/http-server.ts', import.meta.url);

type Server = Worker<ToHttpServer, FromHttpServer>;

interface Fleet {
  readonly servers: Server[];
  readonly urls: string[];
}

interface ServerConfig {
  readonly redisUrl: string;
  readonly namespace: string;
  readonly ttl: number;
  readonly handlerMs: number;
}

/** Starts `count` servers of one variant; rejects with the server's reason if one cannot start. */
async function startFleet(variant: ServerVariant, count: number, config: ServerConfig): Promise<Fleet> {
  const servers = Array.from(
    { length: count },
    (_, i) => new Worker<ToHttpServer, FromHttpServer>(SERVER, `${variant} server #${i}`),
  );
  try {
    for (const server of servers) {
      server.send({
        type: 'init',
        variant,
        ...config,
        counterKey: `${config.namespace}:handler-calls`,
        windowsKey: `${config.namespace}:handler-calls-by-window`,
      });
    }
    const replies = await Promise.all(servers.map((server) => server.receive(['ready', 'failed'], 60_000)));
    const urls: string[] = [];
    for (const reply of replies) {
      if (reply.type === 'failed') throw new Error(reply.reason);
      urls.push(`http://127.0.0.1:${reply.port}/item`);
    }
    return { servers, urls };
  } catch (error) {
    await stopFleet({ servers, urls: [] });
    throw error;
  }
}

async function stopFleet(fleet: Fleet): Promise<void> {
  for (const server of fleet.servers) server.send({ type: 'exit' });
  await stopAll(fleet.servers, 5_000);
}

interface HitRow {
  readonly name: string;
  readonly failure?: string;
  readonly rounds: LoadResult[];
  /** Server CPU time per request in each round, µs: robust where req/s is bounded by the load generator. */
  readonly cpuPerRequest: number[];
}

async function serverCpu(server: Server): Promise<number> {
  server.send({ type: 'cpu' });
  return (await server.receive('cpu', 10_000)).micros;
}

async function hitPath(flags: HttpFlags, config: ServerConfig): Promise<HitRow[]> {
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

interface StampedeRow {
  readonly name: string;
  readonly failure?: string;
  readonly load?: LoadResult;
  readonly handlerCalls?: number;
  readonly windows?: number;
  readonly maxInOneWindow?: number;
}

async function stampede(flags: HttpFlags, config: ServerConfig): Promise<StampedeRow[]> {
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
      const windows = Math.ceil((flags.duration * 1000) / flags.ttl);
      const redis = new Redis(config.redisUrl);
      const byWindow = await redis.hgetall(`${namespace}:handler-calls-by-window`);
      redis.disconnect();
      let handlerCalls = 0;
      let maxInOneWindow = 0;
      for (const [window, count] of Object.entries(byWindow)) {
        if (Number(window) < 0 || Number(window) >= windows) continue;
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

function hitTable(rows: readonly HitRow[]): { markdown: string; ratio: number } {
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

function stampedeTable(rows: readonly StampedeRow[]): string {
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

export async function runHttp(flags: HttpFlags, redisUrl: string): Promise<ScenarioReport> {
  const m = machine();
  const config: ServerConfig = {
    redisUrl,
    namespace: `hcbench:${newRunId()}:http`,
    ttl: 60_000,
    handlerMs: 0,
  };
  process.stdout.write('http: hit path ... ');
  const hits = await hitPath(flags, config);
  console.log('done');
  const stampedeRows = await stampede(flags, config);
  const hit = hitTable(hits);
  const hitVerdict = verdict(hit.ratio >= HTTP_HIT_TARGET);
  const failures = [...hits, ...stampedeRows].filter((row) => row.failure);
  const markdown = [
    `${machineLine(m)}. Servers are child processes on 127.0.0.1; autocannon runs in the coordinating process. Express ${installedVersion('express')}, autocannon ${installedVersion('autocannon')}, ETag generation off in every server so all send the same bytes.`,
    '',
    `**Hit path**: one server each, ${flags.connections} connections, ${flags.rounds} interleaved rounds of ${flags['round-seconds']} s after a 1 s warm-up; herdcache (ttl 60 s, Redis configured) serves **${fmt.pct(hit.ratio, 0)}** of bare Express's req/s, target ≥ ${fmt.pct(HTTP_HIT_TARGET, 0)}: **${hitVerdict.text}**.`,
    '',
    hit.markdown,
    '',
    `**Stampede**: 2 server processes, ${flags['stampede-connections']} connections spread over both, ${flags.duration} s, route takes ${flags['handler-ms']} ms, ttl ${flags.ttl} ms. Route calls counted in Redis across both servers; calls per window = route calls / ${Math.ceil((flags.duration * 1000) / flags.ttl)} ttl windows (ideal ≤ 1).`,
    '',
    stampedeTable(stampedeRows),
    ...(failures.length > 0
      ? ['', ...failures.map((row) => `- **${row.name}**: not run: ${row.failure}`)]
      : []),
  ].join('\n');
  console.log(`\n${markdown}\n`);
  const verdicts: ScenarioReport['verdicts'][number][] = [];
  if (!hits[0]?.failure)
    verdicts.push({
      what: 'HTTP hit vs bare Express req/s',
      figure: fmt.pct(hit.ratio, 0),
      verdict: hitVerdict,
    });
  const herdRow = stampedeRows[0];
  if (herdRow?.load) {
    const perWindow = herdRow.handlerCalls! / herdRow.windows!;
    verdicts.push({
      what: 'HTTP stampede: herdcache route calls per window',
      figure: fmt.ratio(perWindow, 2),
      verdict: verdict(perWindow <= CALLS_PER_WINDOW_TARGET),
    });
  }
  return {
    id: 'http',
    title: 'HTTP (Express middleware)',
    markdown,
    records: [
      ...hits.map((row) => ({ part: 'hit', ...row })),
      ...stampedeRows.map((row) => ({ part: 'stampede', ...row })),
      { part: 'summary', hitRatio: hit.ratio, params: { ...flags } },
    ],
    verdicts,
  };
}

async function main(): Promise<void> {
  const flags = parseFlags('http', HTTP_FLAGS);
  const report = await withRedis((redis) => runHttp(flags, redis.url));
  const file = writeRecords(report, newRunId(), machine());
  if (flags.report) writeReadmeSection(report);
  console.log(`JSON lines: ${file}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
