/**
 * Follower wake-up: how long after the leader's loader returns do followers in other processes get the
 * value? herdcache pushes a pub/sub message; beside it, simulated pollers re-read Redis every 50 or
 * 200 ms (how FusionCache's distributed lock and nginx's proxy_cache_lock wait).
 *
 *   npx tsx bench/wakeup.ts --processes 4 --callers 4 --rounds 40
 */
import { pathToFileURL } from 'node:url';
import { type Flags, parseFlags } from './lib/args.js';
import { withCluster, withRedis } from './lib/redis.js';
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
import { median, percentileOf } from './lib/stats.js';
import { startWorkers, stopAll } from './lib/workers.js';
import type { PlainRedisConnection } from './peers/types.js';
import type { FromWakeupWorker, ToWakeupWorker, WakeMode } from './workers/wakeup-protocol.js';

/** Flags and defaults (the suite runs the defaults). */
export const WAKEUP_FLAGS = {
  processes: { default: 4, help: 'processes: 1 leader + the rest followers' },
  callers: { default: 4, help: 'waiting callers per follower process' },
  rounds: { default: 40, help: 'rounds per mode (one fresh key each)' },
  'loader-ms': { default: 100, help: 'loader duration in ms' },
  cluster: {
    default: 0,
    help: '1: the caches on a spawned Redis Cluster (3 masters + 3 replicas); pollers stay on one Redis',
  },
} as const;

export type WakeupFlags = Flags<keyof typeof WAKEUP_FLAGS>;

export const WAKEUP_P50_TARGET_MS = 5;
const WORKER = new URL('./workers/wakeup-worker.ts', import.meta.url);
const MODES: readonly WakeMode[] = ['herdcache', 'poll-50', 'poll-200'];
const MODE_LABEL: Record<WakeMode, string> = {
  herdcache: 'herdcache (pub/sub wake-up)',
  'poll-50': 'poll Redis every 50 ms',
  'poll-200': 'poll Redis every 200 ms',
};

interface ModeResult {
  readonly mode: WakeMode;
  readonly samples: number[];
  followerLoads: number;
  readonly errors: string[];
}

/** @param cacheRedis where the caches live, when not on `redisUrl` (a Redis Cluster's node list). */
export async function runWakeup(
  flags: WakeupFlags,
  redisUrl: string,
  cacheRedis?: PlainRedisConnection,
): Promise<ScenarioReport> {
  if (flags.processes < 2) throw new Error('--processes must be at least 2 (one leader, one follower)');
  const runId = newRunId();
  const namespace = `hcbench:${runId}:wakeup`;
  const m = machine();
  const workers = startWorkers<ToWakeupWorker, FromWakeupWorker>(WORKER, flags.processes, 'wakeup');
  const results = new Map<WakeMode, ModeResult>(
    MODES.map((mode) => [mode, { mode, samples: [], followerLoads: 0, errors: [] }]),
  );
  try {
    for (const [index, worker] of workers.entries()) {
      worker.send({
        type: 'init',
        redisUrl,
        ...(cacheRedis === undefined ? {} : { cacheRedis }),
        namespace,
        leader: index === 0,
        callers: flags.callers,
        loaderMs: flags['loader-ms'],
        // Followers arrive while the load runs, never after it (they would then simply hit).
        arriveFromMs: 5,
        arriveToMs: Math.max(6, flags['loader-ms'] - 10),
        seed: index + 1,
      });
    }
    await Promise.all(workers.map((worker) => worker.receive('ready', 60_000)));
    process.stdout.write('wakeup: ');
    // Modes interleaved round by round, so drift in machine load hits all three alike.
    for (let round = 0; round < flags.rounds; round += 1) {
      for (const mode of MODES) {
        const at = Date.now() + 30;
        const key = `${mode}:r${round}`;
        for (const worker of workers) worker.send({ type: 'round', mode, key, at });
        const done = await Promise.all(workers.map((worker) => worker.receive('done', 30_000)));
        const finishedAt = done[0]?.finishedAt;
        const result = results.get(mode)!;
        for (const [index, reply] of done.entries()) {
          result.errors.push(...reply.errors);
          if (index > 0) result.followerLoads += reply.loaderCalls;
          if (finishedAt !== undefined) for (const t of reply.returnedAt) result.samples.push(t - finishedAt);
        }
      }
      if (round % 10 === 9) process.stdout.write(`${round + 1} `);
    }
    console.log('rounds');
    for (const worker of workers) worker.send({ type: 'exit' });
    await stopAll(workers);
  } finally {
    await stopAll(workers, 1_000);
  }

  const rows = MODES.map((mode) => results.get(mode)!);
  const herd = results.get('herdcache')!;
  const herdP50 = percentileOf(herd.samples, 0.5);
  const target = verdict(herdP50 <= WAKEUP_P50_TARGET_MS);
  const markdown = [
    `${machineLine(m)}. 1 leader + ${flags.processes - 1} follower processes x ${flags.callers} waiting callers, ${flags.rounds} rounds per mode (interleaved), loader ${flags['loader-ms']} ms. Wake-up = follower's return minus the leader loader's return, both read as \`performance.timeOrigin + performance.now()\` (one machine, one clock).${cacheRedis === undefined ? '' : ' The herdcache caches on a local Redis Cluster (3 masters + 3 replicas, sharded pub/sub) sharing the cores; the pollers on a single Redis.'}`,
    '',
    table(
      [
        'how followers wait',
        'samples',
        'p50',
        'p99',
        'max',
        'mean',
        'loads by followers',
        'errors',
        `target p50 ≤ ${WAKEUP_P50_TARGET_MS} ms`,
      ],
      rows.map((r) => [
        MODE_LABEL[r.mode],
        fmt.int(r.samples.length),
        fmt.ms(percentileOf(r.samples, 0.5)),
        fmt.ms(percentileOf(r.samples, 0.99)),
        fmt.ms(Math.max(...r.samples)),
        fmt.ms(r.samples.reduce((a, b) => a + b, 0) / Math.max(1, r.samples.length)),
        fmt.int(r.followerLoads),
        fmt.int(r.errors.length),
        r.mode === 'herdcache' ? target.text : '–',
      ]),
    ),
    '',
    `herdcache followers wake ${fmt.ratio(median(results.get('poll-50')!.samples) / Math.max(0.001, median(herd.samples)), 0)}x sooner than a 50 ms poller and ${fmt.ratio(median(results.get('poll-200')!.samples) / Math.max(0.001, median(herd.samples)), 0)}x sooner than a 200 ms poller (medians).`,
  ].join('\n');
  console.log(`\n${markdown}\n`);
  const records = rows.map((r) => ({
    mode: r.mode,
    samples: r.samples.length,
    p50: percentileOf(r.samples, 0.5),
    p99: percentileOf(r.samples, 0.99),
    max: Math.max(...r.samples),
    followerLoads: r.followerLoads,
    errors: r.errors.slice(0, 5),
    params: {
      processes: flags.processes,
      callers: flags.callers,
      rounds: flags.rounds,
      loaderMs: flags['loader-ms'],
    },
  }));
  return {
    id: cacheRedis === undefined ? 'wakeup' : 'wakeup-cluster',
    title: cacheRedis === undefined ? 'Follower wake-up' : 'Follower wake-up on a Redis Cluster',
    markdown,
    records,
    verdicts: [
      {
        what: `herdcache follower wake-up p50${cacheRedis === undefined ? '' : ', Redis Cluster'}`,
        figure: fmt.ms(herdP50),
        verdict: target,
      },
    ],
  };
}

async function main(): Promise<void> {
  const flags = parseFlags('wakeup', WAKEUP_FLAGS);
  const report = await withRedis((redis) =>
    flags.cluster === 1
      ? withCluster(3, 1, (cluster) => runWakeup(flags, redis.url, { cluster: [...cluster.urls] }))
      : runWakeup(flags, redis.url),
  );
  const file = writeRecords(report, newRunId(), machine());
  if (flags.report) writeReadmeSection(report);
  console.log(`JSON lines: ${file}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
