/**
 * The codec decision (issue 12): the default codec either keeps the types `cached<T>` promises (typed JSON,
 * the default since 0.2) or stays plain JSON and the types say what JSON gives back (a Date field typed
 * `string`, which every caller then turns back into a Date itself). What each costs on the hit path, in one
 * run, interleaved rounds, medians:
 * - decode alone (no I/O): what a shared-tier hit adds to the round trip;
 * - a shared-tier hit (`local: false`: a Redis round trip and a decode on every read);
 * - a local-tier hit (decoded once, then served from memory), against a JSON local hit whose caller
 *   revives its Date fields, which is what the plain-JSON choice asks of every caller on every read.
 *
 *   npx tsx bench/codec.ts --rounds 9 --round-ms 500
 */
import { pathToFileURL } from 'node:url';
import { createCache, jsonCodec, typedJsonCodec } from '../src/index.js';
import { type Flags, parseFlags } from './lib/args.js';
import { withRedis } from './lib/redis.js';
import { fmt, machineLine, newRunId, table } from './lib/report.js';
import { interleavedRounds, type RoundsResult } from './lib/rounds.js';

const FLAGS = {
  rounds: { default: 9, help: 'interleaved rounds per contender (the median is reported)' },
  'round-ms': { default: 500, help: 'length of one round in ms' },
  concurrency: { default: 16, help: 'concurrent callers for the shared-tier comparison' },
} as const;

type CodecFlags = Flags<keyof typeof FLAGS>;

/** An ORM-style row with two date columns: what issue 12 saw break. */
const ROW = {
  id: 4711,
  name: 'Stainless steel kettle, 1.7 l',
  price: { amount: 3499, currency: 'EUR' },
  tags: ['kitchen', 'appliances', 'bestseller'],
  stock: 42,
  createdAt: new Date('2025-06-01T08:30:00.000Z'),
  updatedAt: new Date('2026-01-01T00:00:00.000Z'),
};

/** The same row with its dates as strings: what plain JSON stores, and a row with no special type. */
const PLAIN_ROW = { ...ROW, createdAt: ROW.createdAt.toISOString(), updatedAt: ROW.updatedAt.toISOString() };

type JsonRow = typeof PLAIN_ROW;

/** What a caller of a JSON-typed cache writes to get its row's Dates back. */
const revive = (row: JsonRow) => ({
  ...row,
  createdAt: new Date(row.createdAt),
  updatedAt: new Date(row.updatedAt),
});

// Decoding is sub-microsecond: many per operation, so the loop's own await does not dominate.
const DECODES_PER_OP = 64;

function decodeOp(decode: (text: string) => unknown, text: string) {
  return async () => {
    for (let i = 0; i < DECODES_PER_OP; i += 1) decode(text);
  };
}

async function decodeOnly(flags: CodecFlags): Promise<RoundsResult[]> {
  return interleavedRounds(
    [
      { name: 'JSON codec, row with 2 dates', op: decodeOp(jsonCodec.decode, jsonCodec.encode(ROW)) },
      {
        name: 'typed JSON, row with 2 Dates',
        op: decodeOp(typedJsonCodec.decode, typedJsonCodec.encode(ROW)),
      },
      {
        name: 'typed JSON, row with no special type (plain JSON)',
        op: decodeOp(typedJsonCodec.decode, typedJsonCodec.encode(PLAIN_ROW)),
      },
    ],
    { rounds: flags.rounds, ms: flags['round-ms'] },
  );
}

async function sharedHits(redisUrl: string, namespace: string, flags: CodecFlags): Promise<RoundsResult[]> {
  const keys = Array.from({ length: flags.concurrency }, (_, i) => `row${i}`);
  const json = createCache({ redis: redisUrl, prefix: `${namespace}:json:`, local: false, codec: jsonCodec });
  const typed = createCache({ redis: redisUrl, prefix: `${namespace}:typed:`, local: false });
  const caches = [json, typed];
  try {
    for (const cache of caches) {
      cache.on('error', () => {});
      await cache.ready();
      for (const key of keys) await cache.cached(key, () => ROW);
    }
    const load = async () => ROW;
    return await interleavedRounds(
      [
        { name: 'JSON codec shared hit', op: (caller) => json.cached(keys[caller]!, load) },
        { name: 'typed JSON shared hit', op: (caller) => typed.cached(keys[caller]!, load) },
      ],
      { rounds: flags.rounds, ms: flags['round-ms'], concurrency: flags.concurrency },
    );
  } finally {
    await Promise.all(caches.map((cache) => cache.close()));
  }
}

async function localHits(redisUrl: string, namespace: string, flags: CodecFlags): Promise<RoundsResult[]> {
  const json = createCache({
    redis: redisUrl,
    prefix: `${namespace}:ljson:`,
    codec: jsonCodec,
    ttl: 600_000,
  });
  const typed = createCache({ redis: redisUrl, prefix: `${namespace}:ltyped:`, ttl: 600_000 });
  const caches = [json, typed];
  try {
    for (const cache of caches) {
      cache.on('error', () => {});
      await cache.ready();
    }
    // The JSON-typed cache's loader returns what it will hand out: the row as JSON gives it back.
    const loadJson = async (): Promise<JsonRow> => PLAIN_ROW;
    const load = async () => ROW;
    await json.cached('row', loadJson);
    await typed.cached('row', load);
    return await interleavedRounds(
      [
        {
          name: 'JSON codec local hit + caller revives 2 Dates',
          op: () => json.cached('row', loadJson).then(revive),
        },
        { name: 'typed JSON local hit', op: () => typed.cached('row', load) },
        {
          name: 'JSON codec local hit, no revive (types say string)',
          op: () => json.cached('row', loadJson),
        },
      ],
      { rounds: flags.rounds, ms: flags['round-ms'] },
    );
  } finally {
    await Promise.all(caches.map((cache) => cache.close()));
  }
}

function rows(results: readonly RoundsResult[], perOp = 1): string[][] {
  const baseline = results[0]!.median;
  return results.map((r) => [
    r.name,
    fmt.int(r.median * perOp),
    `${fmt.ratio(1e6 / (r.median * perOp), 3)} µs`,
    fmt.pct(r.median / baseline, 0),
  ]);
}

async function main(): Promise<void> {
  const flags = parseFlags('codec', FLAGS);
  const namespace = `hcbench:${newRunId()}:codec`;
  const headers = ['operation', 'per second (median)', 'time each', 'vs first row'];
  process.stdout.write('codec: decode ... ');
  const decode = await decodeOnly(flags);
  const [shared, local] = await withRedis(async (redis) => {
    process.stdout.write('shared-tier hits ... ');
    const sharedResults = await sharedHits(redis.url, namespace, flags);
    process.stdout.write('local-tier hits ... ');
    return [sharedResults, await localHits(redis.url, namespace, flags)] as const;
  });
  console.log('done\n');
  console.log(
    [
      `${machineLine()}. ${flags.rounds} interleaved rounds of ${flags['round-ms']} ms per contender, one warm-up round dropped; medians.`,
      '',
      '**Decode alone** (what a shared-tier hit pays on top of its round trip):',
      '',
      table(headers, rows(decode, DECODES_PER_OP)),
      '',
      `**Shared-tier hit** (\`local: false\`, ${flags.concurrency} concurrent callers, a Redis round trip and a decode per read):`,
      '',
      table(headers, rows(shared)),
      '',
      '**Local-tier hit** (one sequential caller; the value was decoded once when it entered the local tier):',
      '',
      table(headers, rows(local)),
    ].join('\n'),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
