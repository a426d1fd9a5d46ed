/**
 * `npm run bench`: every scenario with its default flags against one redis-server of our own (or
 * REDIS_URL; stampede-cluster also spawns a Redis Cluster for its caches), then bench/README.md,
 * bench/charts/*.svg and bench/results/*.jsonl. Sized to finish in under 10 minutes on 2 cores.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseBusFlags, runBus } from './bus.js';
import { FRESHNESS_FLAGS, runFreshness } from './freshness.js';
import { HIT_PATH_FLAGS, runHitPath } from './hit-path.js';
import { HTTP_FLAGS, runHttp } from './http.js';
import { parseFlags } from './lib/args.js';
import { withCluster, withRedis } from './lib/redis.js';
import {
  machine,
  machineLine,
  newRunId,
  type ScenarioReport,
  table,
  writeReadmeSection,
  writeRecords,
} from './lib/report.js';
import { MANY_FLAGS, runMany } from './many.js';
import { OBSERVABILITY_FLAGS, runObservability } from './observability.js';
import { runStampede, STAMPEDE_FLAGS } from './stampede.js';
import { runStampedeCluster, STAMPEDE_CLUSTER_FLAGS } from './stampede-cluster.js';
import { runWakeup, WAKEUP_FLAGS } from './wakeup.js';

const SCENARIOS = [
  'hit-path',
  'wakeup',
  'wakeup-cluster',
  'stampede',
  'stampede-cluster',
  'freshness',
  'http',
  'bus',
  'many',
  'many-cluster',
  'observability',
] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values } = parseArgs({
  options: { only: { type: 'string' }, 'no-report': { type: 'boolean' }, help: { type: 'boolean' } },
  strict: true,
});
if (values.help === true) {
  console.log(
    [
      `usage: npm run bench -- [--only ${SCENARIOS.join(',')}] [--no-report]`,
      '  --only <a,b>   run only these scenarios (with their default flags)',
      '  --no-report    leave bench/README.md and bench/charts alone; JSON lines only',
    ].join('\n'),
  );
  process.exit(0);
}
const selected = (values.only?.split(',').map((s) => s.trim()) ?? [...SCENARIOS]) as Scenario[];
for (const name of selected) {
  if (!SCENARIOS.includes(name))
    throw new Error(`unknown scenario '${name}'; known: ${SCENARIOS.join(', ')}`);
}
const report = values['no-report'] !== true;

// Each scenario with its own defaults (an empty argv), plus --report so its charts are written.
const argv = report ? ['--report'] : [];
const runners: Record<Scenario, (redisUrl: string) => Promise<ScenarioReport>> = {
  'hit-path': (url) => runHitPath(parseFlags('hit-path', HIT_PATH_FLAGS, argv), url),
  wakeup: (url) => runWakeup(parseFlags('wakeup', WAKEUP_FLAGS, argv), url),
  stampede: (url) => runStampede(parseFlags('stampede', STAMPEDE_FLAGS, argv), url),
  // Spawns its own Redis Cluster for the caches; the suite's Redis keeps the loader-call counters.
  'wakeup-cluster': (url) =>
    withCluster(3, 1, (cluster) =>
      runWakeup(parseFlags('wakeup', WAKEUP_FLAGS, argv), url, { cluster: [...cluster.urls] }),
    ),
  'stampede-cluster': (url) =>
    runStampedeCluster(parseFlags('stampede-cluster', STAMPEDE_CLUSTER_FLAGS, argv), url),
  freshness: (url) => runFreshness(parseFlags('freshness', FRESHNESS_FLAGS, argv), url),
  http: (url) => runHttp(parseFlags('http', HTTP_FLAGS, argv), url),
  bus: (url) => runBus(parseBusFlags(argv), url),
  many: (url) => runMany(parseFlags('many', MANY_FLAGS, argv), url),
  'many-cluster': (url) => runMany(parseFlags('many', MANY_FLAGS, [...argv, '--cluster', '1']), url),
  observability: (url) => runObservability(parseFlags('observability', OBSERVABILITY_FLAGS, argv), url),
};

const started = performance.now();
const runId = newRunId();
const m = machine();
console.log(`herdcache benchmarks: ${machineLine(m)}`);
const reports: { report: ScenarioReport; seconds: number }[] = [];
await withRedis(async (redis) => {
  console.log(`Redis: ${redis.origin} (${redis.url})\n`);
  for (const name of selected) {
    const t = performance.now();
    const result = await runners[name](redis.url);
    reports.push({ report: result, seconds: (performance.now() - t) / 1000 });
    writeRecords(result, runId, m);
    if (report) writeReadmeSection(result);
    console.log(`--- ${name} done in ${((performance.now() - t) / 1000).toFixed(0)} s\n`);
  }
});
const total = (performance.now() - started) / 1000;

const verdicts = reports.flatMap(({ report: r }) => r.verdicts);
const summary: ScenarioReport = {
  id: 'summary',
  title: 'Targets',
  markdown: [
    `${machineLine(m)}. Whole suite (${selected.join(', ')}): **${Math.floor(total / 60)} min ${Math.round(total % 60)} s** wall time (${reports.map(({ report: r, seconds }) => `${r.id} ${seconds.toFixed(0)} s`).join(', ')}).`,
    '',
    table(
      ['figure', 'value', 'verdict'],
      verdicts.map((v) => [v.what, v.figure, v.verdict.text]),
    ),
  ].join('\n'),
  records: [{ totalSeconds: total, verdicts: verdicts.map((v) => ({ ...v, verdict: v.verdict.text })) }],
  verdicts,
};
writeRecords(summary, runId, m);
if (report) writeReadmeSection(summary, { first: true });
console.log(`\n${summary.markdown}\n`);
console.log(
  report
    ? 'bench/README.md and bench/charts updated; JSON lines in bench/results/'
    : 'JSON lines in bench/results/',
);
