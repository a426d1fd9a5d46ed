/**
 * What observability costs the local hit, in one run and one process, interleaved rounds, medians:
 * - this tree with herdcache/otel (a real OpenTelemetry SDK: tracer and meter providers with in-memory
 *   exporters) and herdcache/prometheus (a prom-client registry) subscribed, against the same tree with
 *   nothing subscribed (target >= 95%);
 * - this tree with nothing subscribed against the commit before the instrumentation existed (target:
 *   indistinguishable, >= 97%).
 * Both versions are compiled by tsc into temporary directories (see hit-path/previous.ts), as a shipped
 * build would be. The channels are process-wide, so the instrumentation is switched on only around the
 * rounds of its own contender. A shared hit (`local: false`, every call a Redis round trip and a span) is
 * measured too, for information.
 *
 *   npx tsx bench/observability.ts --rounds 9 --round-ms 1000
 *   BENCH_PREVIOUS=<commit> npx tsx bench/observability.ts   # compare with another commit
 */
import { pathToFileURL } from 'node:url';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { instrumentHerdcache } from '../src/otel/index.js';
import { prometheusMetrics } from '../src/prometheus/index.js';
import { buildVersion } from './hit-path/previous.js';
import { type Flags, parseFlags } from './lib/args.js';
import { withRedis } from './lib/redis.js';
import {
  fmt,
  machine,
  machineLine,
  newRunId,
  type ScenarioReport,
  table,
  verdict,
  writeReadmeSection,
  writeRecords,
} from './lib/report.js';
import { type Contender, interleavedRounds, type RoundsResult } from './lib/rounds.js';
import { median } from './lib/stats.js';

/** The last commit before the instrumentation (issue 13). */
export const DEFAULT_PREVIOUS = '957750e';

/** Traces and metrics on may cost a local hit at most 5%. */
export const ENABLED_TARGET = 0.95;

/** With nothing subscribed, a local hit must cost what it cost before: within the rounds' noise. */
export const UNSUBSCRIBED_TARGET = 0.97;

export const OBSERVABILITY_FLAGS = {
  rounds: { default: 9, help: 'interleaved rounds per contender (the median is reported)' },
  'round-ms': { default: 1000, help: 'length of one round in ms' },
  concurrency: { default: 16, help: 'concurrent callers for the shared-hit rows' },
} as const;

export type ObservabilityFlags = Flags<keyof typeof OBSERVABILITY_FLAGS>;

const VALUE = {
  id: 4711,
  name: 'Stainless steel kettle, 1.7 l',
  price: { amount: 3499, currency: 'EUR' },
  tags: ['kitchen', 'appliances', 'bestseller'],
  stock: 42,
  updatedAt: '2026-01-01T00:00:00.000Z',
};
const loader = async () => VALUE;

/** A metric reader that never exports on its own: the SDK aggregates as it would in production. */
class QuietReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** Switches herdcache/otel (real SDK) and herdcache/prometheus on; the returned function switches them off. */
function instrumentationOn(): () => void {
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())],
  });
  const meterProvider = new MeterProvider({ readers: [new QuietReader()] });
  const otel = instrumentHerdcache({ tracerProvider, meterProvider });
  const prometheus = prometheusMetrics({ registry: new Registry() });
  return () => {
    otel.disable();
    prometheus.disable();
    void meterProvider.shutdown();
    void tracerProvider.shutdown();
  };
}

type Create = Awaited<ReturnType<typeof buildVersion>>['createCache'];

/** A warm cache and the operation a contender repeats on it (shared: one key per caller). */
async function warm(create: Create, redisUrl: string, prefix: string, shared: boolean, concurrency: number) {
  const cache = create({ redis: redisUrl, prefix, ttl: 600_000, ...(shared ? { local: false } : {}) });
  cache.on('error', () => {});
  await cache.ready();
  const keys = Array.from({ length: shared ? concurrency : 1 }, (_, i) => `warm${i}`);
  for (const key of keys) await cache.cached(key, loader);
  const op: Contender['op'] = shared
    ? (caller) => cache.cached(keys[caller] as string, loader)
    : () => cache.cached('warm0', loader);
  return { op, close: () => cache.close() };
}

async function measure(
  versions: { current: Create; previous: Create; previousName: string },
  redisUrl: string,
  namespace: string,
  flags: ObservabilityFlags,
  shared: boolean,
): Promise<RoundsResult[]> {
  const concurrency = shared ? flags.concurrency : 1;
  const tag = shared ? 's' : 'l';
  const off = await warm(versions.current, redisUrl, `${namespace}:${tag}off:`, shared, concurrency);
  const on = await warm(versions.current, redisUrl, `${namespace}:${tag}on:`, shared, concurrency);
  const caches = [off, on];
  const contenders: Contender[] = [
    { name: 'this tree, nothing subscribed', op: off.op },
    { name: 'this tree, traces + metrics on', op: on.op, around: instrumentationOn },
  ];
  // No previous version in the shared-hit rows: the shared hit's cost is information, not a target.
  if (!shared) {
    const previous = await warm(versions.previous, redisUrl, `${namespace}:${tag}prev:`, false, 1);
    caches.push(previous);
    contenders.push({ name: `previous (${versions.previousName})`, op: previous.op });
  }
  try {
    return await interleavedRounds(contenders, { rounds: flags.rounds, ms: flags['round-ms'], concurrency });
  } finally {
    await Promise.all(caches.map((cache) => cache.close()));
  }
}

/**
 * The median over rounds of `a`'s throughput divided by `b`'s in the same round. The two ran back to back,
 * so a colleague's burst on the shared cores that slows a whole round cancels out, where a ratio of the two
 * medians would carry it.
 */
function pairedRatio(a: RoundsResult, b: RoundsResult): number {
  return median(a.rounds.map((ops, round) => ops / (b.rounds[round] as number)));
}

function range(result: RoundsResult): string {
  return `${fmt.int(Math.min(...result.rounds))} – ${fmt.int(Math.max(...result.rounds))}`;
}

export async function runObservability(flags: ObservabilityFlags, redisUrl: string): Promise<ScenarioReport> {
  const ref = process.env.BENCH_PREVIOUS ?? DEFAULT_PREVIOUS;
  process.stdout.write(`observability: building this tree and ${ref} ... `);
  const [current, previous] = await Promise.all([buildVersion(undefined), buildVersion(ref)]);
  const namespace = `hcbench:${newRunId()}:obs`;
  let local: RoundsResult[];
  let shared: RoundsResult[];
  try {
    const versions = {
      current: current.createCache,
      previous: previous.createCache,
      previousName: previous.commit,
    };
    process.stdout.write('local hit ... ');
    local = await measure(versions, redisUrl, namespace, flags, false);
    process.stdout.write('shared hit ... ');
    shared = await measure(versions, redisUrl, namespace, flags, true);
    console.log('done');
  } finally {
    await Promise.all([current.remove(), previous.remove()]);
  }
  const [off, on, before] = local as [RoundsResult, RoundsResult, RoundsResult];
  const enabledRatio = pairedRatio(on, off);
  const unsubscribedRatio = pairedRatio(off, before);
  const sharedRatio = pairedRatio(shared[1] as RoundsResult, shared[0] as RoundsResult);
  const enabledVerdict = verdict(enabledRatio >= ENABLED_TARGET);
  const unsubscribedVerdict = verdict(unsubscribedRatio >= UNSUBSCRIBED_TARGET);
  const row = (result: RoundsResult, base: RoundsResult) => [
    result.name,
    fmt.int(result.median),
    range(result),
    `${(100 * (result.median / base.median)).toFixed(1)}%`,
  ];
  const headers = ['contender', 'ops/s (median)', 'range over rounds', 'medians vs nothing subscribed'];
  const markdown = [
    `${machineLine(machine())}. One process, ${flags.rounds} interleaved rounds of ${flags['round-ms']} ms per contender (order alternating, one warm-up round dropped); median ops/s per contender in the tables; each ratio is the median over rounds of the two contenders' ratio within a round (they ran back to back). Both versions compiled by tsc. "On" = herdcache/otel with a real OpenTelemetry SDK (tracer and meter providers, in-memory exporter) plus herdcache/prometheus with a prom-client registry, subscribed only around that contender's rounds.`,
    '',
    `**Local hit** (\`cached()\` on a warm key, one caller): traces + metrics on reach **${(100 * enabledRatio).toFixed(1)}%** of nothing subscribed, target ≥ ${ENABLED_TARGET * 100}%: **${enabledVerdict.text}**; nothing subscribed reaches **${(100 * unsubscribedRatio).toFixed(1)}%** of ${previous.commit} (before the instrumentation), target ≥ ${UNSUBSCRIBED_TARGET * 100}% (indistinguishable): **${unsubscribedVerdict.text}**.`,
    '',
    table(headers, [row(off, off), row(on, off), row(before, off)]),
    '',
    `**Shared hit** (\`local: false\`, ${flags.concurrency} concurrent callers, each call a Redis round trip; information, no target): with a lookup span and metrics per call, **${(100 * sharedRatio).toFixed(1)}%** of nothing subscribed.`,
    '',
    table(
      headers,
      shared.map((result) => row(result, shared[0] as RoundsResult)),
    ),
  ].join('\n');
  console.log(`\n${markdown}\n`);
  return {
    id: 'observability',
    title: 'Observability cost',
    markdown,
    records: [
      ...[...local, ...shared].map((r) => ({ name: r.name, median: r.median, rounds: r.rounds })),
      { enabledRatio, unsubscribedRatio, sharedRatio, previous: previous.commit, params: { ...flags } },
    ],
    verdicts: [
      {
        what: 'local hit, traces + metrics on vs nothing subscribed',
        figure: fmt.pct(enabledRatio, 0),
        verdict: enabledVerdict,
      },
      {
        what: `local hit, nothing subscribed vs ${previous.commit} (before instrumentation)`,
        figure: fmt.pct(unsubscribedRatio, 0),
        verdict: unsubscribedVerdict,
      },
    ],
  };
}

async function main(): Promise<void> {
  const flags = parseFlags('observability', OBSERVABILITY_FLAGS);
  const report = await withRedis((redis) => runObservability(flags, redis.url));
  const file = writeRecords(report, newRunId(), machine());
  if (flags.report) writeReadmeSection(report);
  console.log(`JSON lines: ${file}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
