/**
 * `npm run conformance`: the HTTP caching test suite (cache-tests) against `cacheResponses` as a reverse
 * proxy, in single-process mode and on a throwaway redis-server, beside the published results of the other
 * shared caches. Flags: `--mode single|redis|both` (default both), `--id TEST_ID` (one test, verbose),
 * `--report` (rewrite the conformance section of bench/README.md), `--adapter express|fetch|fastify|all` (default
 * express: which adapter of the one HTTP cache core stands as the proxy).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Cache, createCache } from '../../src/index.js';
import { withOwnRedis } from '../lib/redis.js';
import { machineLine, newRunId, type ScenarioReport, writeReadmeSection } from '../lib/report.js';
import {
  type Column,
  differences,
  fullTable,
  groupTable,
  loadScorer,
  missedCommonPasses,
  passed,
  type Scorer,
  summaryTable,
} from './compare.js';
import { startFastifyProxy } from './fastify-proxy.js';
import { startFetchProxy } from './fetch-proxy.js';
import { startProxy } from './proxy.js';
import {
  type Outcome,
  prepareSuite,
  runSuite,
  type Suite,
  startOrigin,
  suiteConfig,
  suiteSource,
} from './suite.js';

// The cache's own ttl: a realistic one, so a response the cache must not store is tested against a long
// lifetime, not saved by a tiny one.
const TTL = 60_000;
// The tests a long ttl would expose if a response that must not be stored were stored anyway.
const NEVER_STORED = [
  'cc-resp-no-store',
  'cc-resp-no-store-case-insensitive',
  'cc-resp-no-store-fresh',
  'cc-resp-private-shared',
];

/** How the numbers were made, beside them in the README. */
const SETUP = [
  'The app: `app.use(cacheResponses(cache, { ttl, statuses }))` in front of a reverse proxy to',
  "the suite's origin, with `ttl: 'heuristic'` (as a reverse proxy would: a response that states no",
  "freshness is not reused without `Last-Modified`, which the suite's `freshness-none` check and the many",
  'tests depending on it expect) and every final status but 206 and 304 allowed (the middleware stores the',
  'statuses RFC 9110 does not call heuristically cacheable only with explicit freshness). The cache ttl is',
  '60 s. "Passed" counts what cache-tests.fyi shows as a pass, dependencies honoured (checks, kind',
  '`check`, are counted apart). Interim responses (102, 103) are forwarded by the proxy, not the middleware,',
  "which never sees them. The run with ttl 60 s gives responses without freshness the cache's 60 s, as an",
  "app's own routes would have: most tests then depend on a failed `freshness-none`, but those of what must",
  'never be stored are judged against a long lifetime.',
  '',
  'The same proxy stands on each adapter of the one HTTP cache core: `cacheResponses` (Express),',
  '`cacheFetch` (a Web fetch handler behind a node:http bridge) and `fastifyCache` (a catch-all Fastify 5',
  "route that sends the origin's answer as a Buffer, the payload the plugin stores). Where they differ, the",
  'proxy differs, not the core: a fetch handler has no way to send interim responses (the four',
  '`interim-*` tests), and a buffered Fastify payload gets the Content-Length of its bytes, so an origin',
  "whose Content-Length does not match its body (`headers-store-Content-Length`) can't be passed on as it is.",
].join('\n');

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'both' },
    id: { type: 'string' },
    report: { type: 'boolean', default: false },
    // The middleware's ttl for responses that state no freshness. A reverse proxy leaves them to RFC 9111's
    // heuristic; `--ttl 60000` gives them the cache's ttl, as an app's own routes would have.
    ttl: { type: 'string', default: 'heuristic' },
    adapter: { type: 'string', default: 'express' },
  },
  strict: true,
});
const mode = values.mode;
if (mode !== 'single' && mode !== 'redis' && mode !== 'both') {
  throw new Error(`--mode must be single, redis or both, not ${mode}`);
}

const adapter = values.adapter;
const PROXIES = { express: startProxy, fetch: startFetchProxy, fastify: startFastifyProxy } as const;
type Adapter = keyof typeof PROXIES;
if (adapter !== 'all' && !Object.hasOwn(PROXIES, adapter)) {
  throw new Error(`--adapter must be express, fetch, fastify or all, not ${adapter}`);
}
const adapters = adapter === 'all' ? (Object.keys(PROXIES) as Adapter[]) : [adapter as Adapter];
/** Column names carry the adapter unless it is the default one. */
const named = (name: string, of: Adapter) =>
  of === 'express' ? name : name.replace('herdcache', `herdcache (${of})`);

const ttl = values.ttl === 'heuristic' ? 'heuristic' : Number(values.ttl);
if (ttl !== 'heuristic' && (!Number.isInteger(ttl) || ttl < 1)) {
  throw new Error(`--ttl must be heuristic or a positive integer, not ${values.ttl}`);
}

const source = suiteSource();
const suite = await prepareSuite(source);
if (suite === undefined) {
  console.log(`cache-tests not found at ${source} (set CACHE_TESTS_DIR to its folder); skipping conformance`);
  process.exit(0);
}

/** Runs the suite (or one test, verbosely) against an app on `cache`; closes the cache afterwards. */
async function runAgainst(
  current: Suite,
  of: Adapter,
  cache: Cache,
  appTtl: number | 'heuristic' = ttl,
): Promise<Record<string, Outcome> | undefined> {
  const origin = await startOrigin(current);
  const proxy = await PROXIES[of]({ cache, origin: origin.url, ttl: appTtl });
  try {
    if (values.id !== undefined) {
      await runOne(current, proxy.url, values.id);
      return undefined;
    }
    return await runSuite(current, proxy.url);
  } finally {
    await proxy.close();
    await cache.close();
    await origin.stop();
  }
}

async function runOne(current: Suite, base: string, id: string): Promise<void> {
  const child = spawn(process.execPath, ['--no-warnings', join('test-engine', 'cli.mjs')], {
    cwd: current.dir,
    env: { ...process.env, ...suiteConfig(base, id) },
    stdio: 'inherit',
  });
  await new Promise((done) => child.once('exit', done));
}

const runId = newRunId();
const ours: Column[] = [];
const withTtl: Column[] = [];
for (const of of adapters) {
  const prefix = `conformance:${runId}:${of}:`;
  if (mode !== 'redis') {
    const results = await runAgainst(suite, of, createCache({ prefix, ttl: TTL }));
    if (results) ours.push({ name: named('herdcache', of), results });
  }
  // The ttl the app's own routes would have: responses that state no freshness get 60 s. Run so the tests
  // of what must never be stored are checked against a long lifetime (freshness-none, which many tests
  // depend on, then fails: such a response is reused, as RFC 9111 §4.2.2 allows).
  if (mode !== 'redis' && values.id === undefined && ttl === 'heuristic') {
    const results = await runAgainst(suite, of, createCache({ prefix: `${prefix}ttl:`, ttl: TTL }), TTL);
    if (results) withTtl.push({ name: named(`herdcache, ttl ${TTL / 1000} s`, of), results });
  }
  if (mode !== 'single') {
    await withOwnRedis(async (redis) => {
      const cache = createCache({ redis, prefix, ttl: TTL });
      await cache.ready();
      const results = await runAgainst(suite, of, cache);
      if (results) ours.push({ name: named('herdcache + Redis', of), results });
    });
  }
}
if (ours.length === 0) process.exit(0);

const scorer = await loadScorer(suite);
const published: Column[] = suite.published
  .filter((cache) => cache.type !== 'browser')
  .map((cache) => ({
    name: cache.name,
    results: JSON.parse(readFileSync(join(suite.dir, 'results', cache.file), 'utf8')) as Record<
      string,
      Outcome
    >,
  }));
const columns = [...ours, ...withTtl, ...published];
const reference = ['Varnish', 'nginx'].map((name) => published.find((c) => c.name === name));

function lines(scorerOf: Scorer): string[] {
  const out = [
    summaryTable(scorerOf, columns),
    '',
    `Passed per group of the suite (${scorerOf.ids.length} tests a shared cache runs):`,
    '',
    groupTable(scorerOf, columns),
  ];
  for (const column of ours) {
    const missed = reference.every((c) => c !== undefined)
      ? missedCommonPasses(scorerOf, column, reference as Column[])
      : [];
    out.push('', `${column.name}: failed among the tests both Varnish and nginx pass: ${missed.length}`);
    for (const id of missed) out.push(`- \`${id}\``);
  }
  for (const column of withTtl) {
    const verdicts = NEVER_STORED.map((id) => `\`${id}\` ${scorerOf.verdict(column.results, id)}`);
    out.push('', `${column.name}, what must never be stored: ${verdicts.join(', ')}`);
  }
  const [first, ...others] = ours;
  for (const other of first ? others : []) {
    const differ = differences(scorerOf, first as Column, other);
    out.push('', `Verdicts that differ between ${first?.name} and ${other.name}: ${differ.length}`);
    for (const id of differ) out.push(`- \`${id}\``);
  }
  return out;
}

const text = lines(scorer).join('\n');
console.log(text);
const scratch = join(suite.dir, '..');
mkdirSync(scratch, { recursive: true });
const full = join(scratch, 'results.md');
writeFileSync(full, `${fullTable(scorer, columns, ours[0] as Column)}\n`);
for (const column of ours) {
  writeFileSync(
    join(scratch, `${column.name.replace(/\W+/g, '-')}.json`),
    JSON.stringify(column.results, null, 2),
  );
}
console.log(`\nEvery test id side by side: ${full}`);

if (values.report) {
  const summary = ours.map((c) => `${c.name} ${passed(scorer, c)}`).join(', ');
  const report: ScenarioReport = {
    id: 'conformance',
    title: 'HTTP caching conformance (cache-tests)',
    markdown: [
      `\`npm run conformance -- --report\` · ${machineLine()} · suite at commit ${suiteCommit(source)}`,
      '',
      `Passed of ${scorer.ids.length}: ${summary}. Published results are the suite's own files.`,
      '',
      SETUP,
      '',
      text,
    ].join('\n'),
    records: [],
    verdicts: [],
  };
  writeReadmeSection(report);
}

function suiteCommit(dir: string): string {
  try {
    return readFileSync(join(dir, 'COMMIT'), 'utf8').trim().slice(0, 12);
  } catch {
    return 'unknown';
  }
}
