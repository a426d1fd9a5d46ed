/**
 * HTTP: herdcache's Express middleware `cacheResponses`.
 * - Hit path: a cached route against bare Express returning the same body (autocannon, interleaved rounds).
 * - Stampede: two server processes behind one load generator, a 100 ms route, ttl 1 s: herdcache against
 *   apicache (over Redis) and no cache; route calls counted across both servers in Redis.
 *
 * The servers run the built package, imported by name as an app imports it (built first).
 *
 *   npx tsx bench/http.ts --rounds 5 --round-seconds 3 --duration 10
 */
import { pathToFileURL } from 'node:url';
import { hitPath, hitTable } from './http/hit.js';
import type { ServerConfig } from './http/servers.js';
import { CALLS_PER_WINDOW_TARGET, stampede, stampedeTable } from './http/stampede.js';
import { type Flags, parseFlags } from './lib/args.js';
import { buildPackage } from './lib/build.js';
import { withRedis } from './lib/redis.js';
import {
  fmt,
  installedVersion,
  machine,
  machineLine,
  newRunId,
  type ScenarioReport,
  verdict,
  writeReadmeSection,
  writeRecords,
} from './lib/report.js';

/** Flags and defaults (the suite runs the defaults). */
export const HTTP_FLAGS = {
  rounds: { default: 11, help: 'interleaved hit-path rounds per server (median reported)' },
  'round-seconds': { default: 3, help: 'seconds of load per hit-path round' },
  connections: { default: 50, help: 'autocannon connections for the hit path' },
  duration: { default: 10, help: 'seconds of load per stampede row' },
  'stampede-connections': { default: 100, help: 'autocannon connections for the stampede' },
  ttl: { default: 1000, help: 'fresh time of cached responses in the stampede, ms' },
  'handler-ms': { default: 100, help: 'route handler duration in the stampede, ms' },
} as const;

export type HttpFlags = Flags<keyof typeof HTTP_FLAGS>;

export const HTTP_HIT_TARGET = 0.85;

export async function runHttp(flags: HttpFlags, redisUrl: string): Promise<ScenarioReport> {
  const m = machine();
  const config: ServerConfig = {
    redisUrl,
    namespace: `hcbench:${newRunId()}:http`,
    ttl: 60_000,
    handlerMs: 0,
  };
  process.stdout.write('http: building the package ... ');
  buildPackage();
  process.stdout.write('hit path ... ');
  const hits = await hitPath(flags, config);
  console.log('done');
  const stampedeRows = await stampede(flags, config);
  const hit = hitTable(hits);
  const hitVerdicts = hit.ratios.map(({ adapter, ratio }) => ({
    adapter,
    ratio,
    verdict: verdict(ratio >= HTTP_HIT_TARGET),
  }));
  const hitSummary = hitVerdicts
    .map(({ adapter, ratio, verdict: v }) => `${adapter} **${fmt.pct(ratio, 0)}** (${v.text})`)
    .join(', ');
  const failures = [...hits, ...stampedeRows].filter((row) => row.failure);
  const markdown = [
    `${machineLine(m)}. Servers are child processes on 127.0.0.1; autocannon runs in the coordinating process. Express ${installedVersion('express')}, Fastify ${installedVersion('fastify')}, autocannon ${installedVersion('autocannon')}, ETag generation off in every Express server so all send the same bytes.`,
    '',
    `**Hit path**: one server each, ${flags.connections} connections, ${flags.rounds} interleaved rounds of ${flags['round-seconds']} s after a 1 s warm-up; each adapter (ttl 60 s, Redis configured) serves this share of its bare framework's req/s (median of the per-round ratios of each pair), target ≥ ${fmt.pct(HTTP_HIT_TARGET, 0)}: ${hitSummary}.`,
    '',
    hit.markdown,
    '',
    `**Stampede**: 2 server processes, ${flags['stampede-connections']} connections spread over both, ${flags.duration} s, route takes ${flags['handler-ms']} ms, ttl ${flags.ttl} ms. Route calls counted in Redis across both servers; calls per window = route calls in ttl windows 1 to ${Math.ceil((flags.duration * 1000) / flags.ttl) - 1} / their number (window 0 is warm-up; ideal ≤ 1).`,
    '',
    stampedeTable(stampedeRows),
    ...(failures.length > 0
      ? ['', ...failures.map((row) => `- **${row.name}**: not run: ${row.failure}`)]
      : []),
  ].join('\n');
  console.log(`\n${markdown}\n`);
  const verdicts: ScenarioReport['verdicts'][number][] = [];
  for (const { adapter, ratio, verdict: v } of hitVerdicts) {
    if (Number.isNaN(ratio)) continue;
    verdicts.push({ what: `HTTP hit vs bare ${adapter} req/s`, figure: fmt.pct(ratio, 0), verdict: v });
  }
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
    title: 'HTTP (Express, fetch and Fastify adapters)',
    markdown,
    records: [
      ...hits.map((row) => ({ part: 'hit', ...row })),
      ...stampedeRows.map((row) => ({ part: 'stampede', ...row })),
      { part: 'summary', hitRatios: hit.ratios, params: { ...flags } },
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
