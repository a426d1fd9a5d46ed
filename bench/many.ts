/**
 * Batch reads: a fleet of P processes x C callers, each call asking for B distinct Zipf-picked keys of K,
 * through one `cachedMany` and, in the same run, through B parallel `cached` calls. Reports loads per key
 * per ttl window across the fleet (ideal 1), the Redis commands one call costs (lease questions and
 * commits, counted on each cache's own connection), batched lease scripts against the hash-tag groups they
 * touched, and latency.
 *
 *   npx tsx bench/many.ts --processes 4 --callers 50 --keys 1000 --batch 20 --duration 10 --ttl 1000 --loader-ms 100
 *   npx tsx bench/many.ts --cluster 1   (the caches on a local Redis Cluster of 3 masters + 3 replicas)
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { type Flags, parseFlags } from './lib/args.js';
import { withCluster, withRedis } from './lib/redis.js';
import {
  fmt,
  machine,
  machineLine,
  type ScenarioReport,
  table,
  verdict,
  writeReadmeSection,
} from './lib/report.js';
import { percentileOf } from './lib/stats.js';
import { startWorkers, stopAll } from './lib/workers.js';
import type { FromManyWorker, ManyInit, ManyResult, ToManyWorker } from './workers/many-protocol.js';

/** Flags and defaults (the suite runs the defaults). */
export const MANY_FLAGS = {
  processes: { default: 4, help: 'worker processes (the fleet)' },
  callers: { default: 50, help: 'concurrent callers per process' },
  keys: { default: 1000, help: 'key count' },
  batch: { default: 20, help: 'distinct keys per call' },
  zipf: { default: 1, help: 'Zipf exponent s of the key popularity' },
  duration: { default: 10, help: 'seconds per mode' },
  ttl: { default: 1000, help: 'fresh time in ms' },
  'loader-ms': { default: 100, help: 'loader (and loadMany) duration in ms' },
  cluster: { default: 0, help: '1: the caches on a spawned Redis Cluster (3 masters + 3 replicas)' },
} as const;

export type ManyFlags = Flags<keyof typeof MANY_FLAGS>;

const WORKER = new URL('./workers/many-worker.ts', import.meta.url);

interface ModeFigures {
  readonly mode: 'many' | 'single';
  readonly calls: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly loads: number;
  /** Loads that started less than ttl/2 after the previous load of the same key: a second load in one window. */
  readonly duplicates: number;
  readonly loadsPerWindow: number;
  readonly loaderCalls: number;
  readonly leasePerCall: number;
  readonly commitsPerCall: number;
  readonly otherPerCall: number;
  /** Batched calls that sent more lease scripts than hash-tag groups touched. */
  readonly overBudget: number;
  readonly scriptsPerBatch: number;
  readonly groupsPerBatch: number;
  readonly p50: number;
  readonly p99: number;
}

async function runMode(
  flags: ManyFlags,
  redis: ManyInit['redis'],
  mode: 'many' | 'single',
): Promise<ModeFigures> {
  const workers = startWorkers<ToManyWorker, FromManyWorker>(WORKER, flags.processes, `many ${mode}`);
  try {
    const prefix = `bench:many:${randomUUID()}:`;
    workers.forEach((worker, index) => {
      worker.send({
        type: 'init',
        index,
        redis,
        prefix,
        mode,
        callers: flags.callers,
        keys: flags.keys,
        batch: flags.batch,
        zipfS: flags.zipf,
        ttl: flags.ttl,
        loaderMs: flags['loader-ms'],
        durationMs: flags.duration * 1000,
      });
    });
    await Promise.all(workers.map((worker) => worker.receive('ready')));
    const at = Date.now() + 500;
    for (const worker of workers) worker.send({ type: 'start', at });
    const results: ManyResult[] = await Promise.all(
      workers.map((worker) => worker.receive('result', flags.duration * 1000 + 60_000)),
    );
    return figures(mode, results, flags.ttl);
  } finally {
    await stopAll(workers);
  }
}

function figures(mode: 'many' | 'single', results: readonly ManyResult[], ttl: number): ModeFigures {
  const sum = (pick: (result: ManyResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  const calls = sum((r) => r.calls);
  const byKey = new Map<number, number[]>();
  for (const [key, start] of results.flatMap((r) => r.loads)) {
    const starts = byKey.get(key) ?? [];
    starts.push(start);
    byKey.set(key, starts);
  }
  let duplicates = 0;
  for (const starts of byKey.values()) {
    starts.sort((a, b) => a - b);
    for (let i = 1; i < starts.length; i += 1) {
      if ((starts[i] as number) - (starts[i - 1] as number) < ttl / 2) duplicates += 1;
    }
  }
  const loads = sum((r) => r.loads.length);
  const batches = results.flatMap((r) => r.batches);
  const latencies = results.flatMap((r) => [...r.latencies]);
  return {
    mode,
    calls,
    errors: sum((r) => r.errors),
    errorSamples: [...new Set(results.flatMap((r) => r.errorSamples))].slice(0, 3),
    loads,
    duplicates,
    loadsPerWindow: loads / Math.max(1, loads - duplicates),
    loaderCalls: sum((r) => r.loaderCalls),
    leasePerCall: sum((r) => r.leaseCommands) / Math.max(1, calls),
    commitsPerCall: sum((r) => r.commitCommands) / Math.max(1, calls),
    otherPerCall: sum((r) => r.otherCommands) / Math.max(1, calls),
    overBudget: batches.filter(([scripts, groups]) => scripts > groups).length,
    scriptsPerBatch: batches.reduce((t, [scripts]) => t + scripts, 0) / Math.max(1, batches.length),
    groupsPerBatch: batches.reduce((t, [, groups]) => t + groups, 0) / Math.max(1, batches.length),
    p50: percentileOf(latencies, 0.5),
    p99: percentileOf(latencies, 0.99),
  };
}

/** Runs both modes on one Redis (or Cluster) and builds the report. */
export async function runMany(flags: ManyFlags, redisUrl: string): Promise<ScenarioReport> {
  const onCluster = flags.cluster === 1;
  const measure = async (redis: ManyInit['redis']) => [
    await runMode(flags, redis, 'many'),
    await runMode(flags, redis, 'single'),
  ];
  const modes = onCluster
    ? await withCluster(3, 1, (cluster) => measure({ cluster: [...cluster.urls] }))
    : await measure(redisUrl);
  const [many, single] = modes as [ModeFigures, ModeFigures];
  const id = onCluster ? 'many-cluster' : 'many';
  const where = onCluster ? 'a local Redis Cluster (3 masters + 3 replicas)' : 'one local redis-server';
  const loadsOk = many.loadsPerWindow <= 1.05 && many.errors === 0;
  const tripsOk = many.overBudget === 0;
  const verdicts = [
    {
      what: `${id}: cachedMany loads per key per window`,
      figure: fmt.ratio(many.loadsPerWindow, 3),
      verdict: verdict(loadsOk),
    },
    {
      what: `${id}: cachedMany calls with more lease scripts than hash-tag groups touched`,
      figure: fmt.int(many.overBudget),
      verdict: verdict(tripsOk),
    },
  ];
  const row = (m: ModeFigures, label: string) => [
    label,
    fmt.int(m.calls),
    fmt.int(m.errors),
    fmt.ratio(m.loadsPerWindow, 3),
    fmt.int(m.loaderCalls),
    fmt.ratio(m.leasePerCall),
    fmt.ratio(m.commitsPerCall),
    fmt.ratio(m.otherPerCall),
    fmt.ms(m.p50),
    fmt.ms(m.p99),
  ];
  const markdown = [
    `${machineLine(machine())}. ${flags.processes} processes x ${flags.callers} callers, each call ${flags.batch} distinct keys of ${flags.keys} (Zipf s=${flags.zipf}), ttl ${flags.ttl} ms, loader ${flags['loader-ms']} ms, ${flags.duration} s per mode, against ${where}, herdcache defaults.`,
    '',
    table(
      [
        'mode',
        'calls',
        'errors',
        'loads per key per window',
        'loader calls',
        'lease/read commands per call',
        'commits per call',
        'other commands per call',
        'p50',
        'p99',
      ],
      [row(many, `cachedMany(${flags.batch} keys)`), row(single, `${flags.batch} parallel cached`)],
    ),
    '',
    `Batched lease scripts: ${fmt.ratio(many.scriptsPerBatch)} per cachedMany call that sent any, touching ${fmt.ratio(many.groupsPerBatch)} hash-tag groups; calls sending more scripts than groups touched: ${many.overBudget} (${tripsOk ? 'PASS' : 'FALLS SHORT'}). Loads per key per window: ${fmt.ratio(many.loadsPerWindow, 3)} (${loadsOk ? 'PASS' : 'FALLS SHORT'}, target <= 1.05; a load counts twice when it starts less than ttl/2 after the previous load of its key). Commands are counted on each cache's command connection (pub/sub excluded): lease/read = ACQUIRE_MANY, ACQUIRE, READ, GET; other = ABANDON, RENEW, NOSCRIPT retries.`,
    ...[many, single]
      .filter((m) => m.errorSamples.length > 0)
      .map((m) => `\nErrors (${m.mode}): ${m.errorSamples.join('; ')}`),
  ].join('\n');
  return {
    id,
    title: onCluster ? 'Batch reads on a Redis Cluster' : 'Batch reads',
    markdown,
    records: [{ flags, many, single }],
    verdicts,
  };
}

async function main(): Promise<void> {
  const flags = parseFlags('many', MANY_FLAGS, process.argv.slice(2));
  const report = await withRedis((redis) => runMany(flags, redis.url));
  console.log(report.markdown);
  if (flags.report) writeReadmeSection(report);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
