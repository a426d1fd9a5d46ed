/**
 * The hit path against a previous version of herdcache, in the same run and process: what a change (the
 * Redis client port of issue 12, first) costs a local hit and a shared hit. This working tree and the
 * previous version are both built with tsc into temporary directories at bench time (see
 * hit-path/previous.ts), loaded side by side, and removed afterwards.
 *
 *   npx tsx bench/hit-path-previous.ts --previous d88eea5 --rounds 9 --round-ms 1000
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { createCache } from '../src/index.js';
import { buildVersion } from './hit-path/previous.js';
import { withRedis } from './lib/redis.js';
import { fmt, machine, machineLine, newRunId, table } from './lib/report.js';
import { type Contender, interleavedRounds, type RoundsResult } from './lib/rounds.js';

/** The release before the client port. */
export const DEFAULT_PREVIOUS = 'd88eea5';

/** The port may cost a hit at most 3%: this tree must reach 97% of the previous version's throughput. */
export const TARGET = 0.97;

const VALUE = {
  id: 4711,
  name: 'Stainless steel kettle, 1.7 l',
  price: { amount: 3499, currency: 'EUR' },
  tags: ['kitchen', 'appliances', 'bestseller'],
  stock: 42,
  updatedAt: '2026-01-01T00:00:00.000Z',
};
const loader = async () => VALUE;

type Create = typeof createCache;

interface Flags {
  readonly previous: string;
  readonly rounds: number;
  readonly roundMs: number;
  readonly concurrency: number;
}

function parseFlags(): Flags {
  const { values } = parseArgs({
    options: {
      previous: { type: 'string', default: DEFAULT_PREVIOUS },
      rounds: { type: 'string', default: '9' },
      'round-ms': { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '16' },
    },
    strict: true,
  });
  const number = (name: string, raw: string) => {
    const parsed = Number(raw);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name} must be a positive number`);
    return parsed;
  };
  return {
    previous: values.previous,
    rounds: number('rounds', values.rounds),
    roundMs: number('round-ms', values['round-ms']),
    concurrency: number('concurrency', values.concurrency),
  };
}

/** A warm cache of one version, and the operation a contender repeats on it. */
async function warm(
  create: Create,
  redisUrl: string,
  prefix: string,
  shared: boolean,
  concurrency: number,
): Promise<{ op: Contender['op']; close: () => Promise<void> }> {
  const cache = create({ redis: redisUrl, prefix, ttl: 600_000, ...(shared ? { local: false } : {}) });
  cache.on('error', () => {});
  await cache.ready();
  // Shared: one key per caller (callers of one key would share a round trip through single-flight).
  const keys = Array.from({ length: shared ? concurrency : 1 }, (_, i) => `warm${i}`);
  for (const key of keys) await cache.cached(key, loader);
  return {
    op: shared
      ? (caller) => cache.cached(keys[caller] as string, loader)
      : () => cache.cached('warm0', loader),
    close: () => cache.close(),
  };
}

async function compare(
  versions: readonly { name: string; create: Create }[],
  redisUrl: string,
  namespace: string,
  flags: Flags,
  shared: boolean,
): Promise<RoundsResult[]> {
  const caches = await Promise.all(
    versions.map((v, i) =>
      warm(v.create, redisUrl, `${namespace}:${shared ? 's' : 'l'}${i}:`, shared, flags.concurrency),
    ),
  );
  try {
    return await interleavedRounds(
      versions.map((v, i) => ({ name: v.name, op: (caches[i] as { op: Contender['op'] }).op })),
      { rounds: flags.rounds, ms: flags.roundMs, concurrency: shared ? flags.concurrency : 1 },
    );
  } finally {
    await Promise.all(caches.map((cache) => cache.close()));
  }
}

async function main(): Promise<void> {
  const flags = parseFlags();
  process.stdout.write(`building this tree and ${flags.previous} ... `);
  const [current, previous] = await Promise.all([buildVersion(undefined), buildVersion(flags.previous)]);
  console.log(previous.commit);
  try {
    const versions = [
      { name: 'this tree', create: current.createCache },
      { name: `previous (${previous.commit})`, create: previous.createCache },
    ];
    const namespace = `hcbench:${newRunId()}:prev`;
    const [local, shared] = await withRedis(async (redis) => [
      await compare(versions, redis.url, namespace, flags, false),
      await compare(versions, redis.url, namespace, flags, true),
    ]);
    const rows = (label: string, results: readonly RoundsResult[]) => {
      const ratio = (results[0] as RoundsResult).median / (results[1] as RoundsResult).median;
      return [
        label,
        fmt.int((results[0] as RoundsResult).median),
        fmt.int((results[1] as RoundsResult).median),
        `${(ratio * 100).toFixed(1)}%`,
        ratio >= TARGET ? 'pass' : 'FAIL',
      ];
    };
    console.log(
      [
        '',
        `${machineLine(machine())}. One process, ${flags.rounds} interleaved rounds of ${flags.roundMs} ms per version (order alternating, one warm-up round dropped); median ops/s. Target: this tree ≥ ${TARGET * 100}% of ${previous.commit}.`,
        '',
        table(
          ['hit', 'this tree ops/s', `${previous.commit} ops/s`, 'ratio', 'verdict'],
          [
            rows('local hit (cached(), one caller)', local as RoundsResult[]),
            rows(`shared hit (local: false, ${flags.concurrency} callers)`, shared as RoundsResult[]),
          ],
        ),
      ].join('\n'),
    );
  } finally {
    await Promise.all([current.remove(), previous.remove()]);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
