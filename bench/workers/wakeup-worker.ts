/**
 * One process of the wake-up benchmark. The leader runs a loader that records the instant it returns;
 * followers, arriving while it runs, record the instant their call returns. herdcache followers are
 * woken by its pub/sub message; the simulated pollers re-read Redis every N ms.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createCache } from '../../src/index.js';
import { seeded } from '../lib/random.js';
import { Parent, sleepUntil } from '../lib/workers.js';
import type { FromWakeupWorker, ToWakeupWorker, WakeMode } from './wakeup-protocol.js';

const parent = new Parent<FromWakeupWorker, ToWakeupWorker>();
const init = await parent.receive('init');
const random = seeded(init.seed);

/** Wall clock with sub-millisecond precision, comparable across processes on one machine. */
const clock = () => performance.timeOrigin + performance.now();

const cache = createCache({
  redis: init.cacheRedis ?? init.redisUrl,
  prefix: `${init.namespace}:`,
  ttl: 60_000,
});
cache.on('error', () => {});
await cache.ready();
const redis = new Redis(init.redisUrl);
redis.on('error', () => {});
await redis.ping();

let loaderCalls = 0;
let finishedAt: number | undefined;
async function loader(): Promise<{ at: number }> {
  loaderCalls += 1;
  await sleep(init.loaderMs);
  finishedAt = clock();
  return { at: Date.now() };
}

/** A poll-based wait: GET every `interval` ms until the value is there. */
async function poll(key: string, interval: number): Promise<void> {
  for (;;) {
    if ((await redis.get(key)) !== null) return;
    await sleep(interval);
  }
}

async function lead(mode: WakeMode, key: string): Promise<void> {
  if (mode === 'herdcache') {
    await cache.cached(key, loader);
    return;
  }
  const value = await loader();
  await redis.set(key, JSON.stringify(value), 'PX', 60_000);
}

async function follow(mode: WakeMode, key: string, at: number): Promise<number> {
  await sleepUntil(at + init.arriveFromMs + random() * (init.arriveToMs - init.arriveFromMs));
  if (mode === 'herdcache') await cache.cached(key, loader);
  else await poll(key, mode === 'poll-50' ? 50 : 200);
  return clock();
}

await parent.send({ type: 'ready' });
for (;;) {
  const message = await parent.receive(['round', 'exit']);
  if (message.type === 'exit') break;
  loaderCalls = 0;
  finishedAt = undefined;
  const errors: string[] = [];
  const returnedAt: number[] = [];
  if (init.leader) {
    await sleepUntil(message.at);
    await lead(message.mode, message.key).catch((error: Error) => errors.push(error.message));
  } else {
    const results = await Promise.allSettled(
      Array.from({ length: init.callers }, () => follow(message.mode, message.key, message.at)),
    );
    for (const result of results) {
      if (result.status === 'fulfilled') returnedAt.push(result.value);
      else errors.push(String((result.reason as Error).message));
    }
  }
  await parent.send({
    type: 'done',
    returnedAt,
    loaderCalls,
    errors,
    ...(finishedAt === undefined ? {} : { finishedAt }),
  });
}
await cache.close();
redis.disconnect();
parent.done();
