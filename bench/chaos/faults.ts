import { Redis } from 'ioredis';
import type { SpawnedRedis } from '../../test/support/redis-server.js';

/** One fault: `run` injects it and returns once Redis is healthy again. */
export interface Fault {
  readonly name: string;
  run(redis: SpawnedRedis): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A short-lived admin connection that fails fast instead of retrying. */
async function admin(redis: SpawnedRedis, action: (client: Redis) => Promise<unknown>): Promise<void> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await action(client);
  } finally {
    client.disconnect();
  }
}

/** The schedule cycles through these, in order. */
export const FAULTS: readonly Fault[] = [
  {
    name: 'SIGKILL, down 3 s, restart (data and scripts lost)',
    async run(redis) {
      await redis.kill();
      await sleep(3_000);
      await redis.restart();
    },
  },
  {
    name: 'SIGSTOP 2 s (longer than the lease)',
    async run(redis) {
      redis.pause();
      await sleep(2_000);
      redis.resume();
    },
  },
  {
    name: 'CLIENT KILL TYPE pubsub',
    run: (redis) => admin(redis, (client) => client.call('CLIENT', 'KILL', 'TYPE', 'pubsub')),
  },
  {
    name: 'out of memory 3 s (maxmemory 1, noeviction)',
    async run(redis) {
      await admin(redis, async (client) => {
        await client.config('SET', 'maxmemory-policy', 'noeviction');
        await client.config('SET', 'maxmemory', '1');
      });
      await sleep(3_000);
      await admin(redis, (client) => client.config('SET', 'maxmemory', '0'));
    },
  },
  {
    name: 'SCRIPT FLUSH',
    run: (redis) => admin(redis, (client) => client.script('FLUSH')),
  },
  {
    name: 'SIGSTOP 400 ms (shorter than the lease)',
    async run(redis) {
      redis.pause();
      await sleep(400);
      redis.resume();
    },
  },
  {
    name: 'SIGKILL and immediate restart',
    async run(redis) {
      await redis.kill();
      await redis.restart();
    },
  },
];

export interface FaultRecord {
  readonly name: string;
  /** ms since the run started */
  readonly from: number;
  readonly to: number;
}

/**
 * Injects faults in turn from `warmup` ms after `startedAt`, with `gap` ms of health between them, and stops
 * early enough to leave the end of the run healthy.
 */
export async function runSchedule(
  redis: SpawnedRedis,
  startedAt: number,
  until: number,
  { warmup, gap }: { warmup: number; gap: number },
): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  await sleep(warmup);
  for (let i = 0; Date.now() + gap < until - gap; i += 1) {
    const fault = FAULTS[i % FAULTS.length] as Fault;
    const from = Date.now() - startedAt;
    await fault.run(redis);
    records.push({ name: fault.name, from, to: Date.now() - startedAt });
    await sleep(gap);
  }
  return records;
}
