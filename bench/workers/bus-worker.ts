/**
 * One process of the bus benchmark. An idle process holds several cache instances (nodes) that never call
 * the cache: they only sit subscribed, heartbeating with the defaults. The writer process holds one more
 * instance and, when told, makes misses on fresh keys at a fixed rate.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Cache, createCache } from '../../src/index.js';
import { Parent, sleepUntil } from '../lib/workers.js';
import type { FromBusWorker, MissResult, ToBusWorker } from './bus-protocol.js';

const parent = new Parent<FromBusWorker, ToBusWorker>();
const init = await parent.receive('init');

let errorEvents = 0;
// Default options on purpose: the benchmark measures what a fleet costs out of the box.
const caches: Cache[] = Array.from({ length: init.instances }, () =>
  createCache({ redis: init.redisUrl, prefix: init.prefix }),
);
for (const cache of caches) {
  cache.on('error', () => {
    errorEvents += 1;
  });
}
await Promise.all(caches.map((cache) => cache.ready()));
await parent.send({ type: 'ready' });

// A timer tick of a few ms issues every miss that has come due: setTimeout cannot fire every 2 ms
// reliably, and an open loop keeps the rate fixed even if one call is slow.
const TICK_MS = 5;

/** A value whose JSON encoding is exactly `bytes` characters long and differs per key. */
function valueFor(key: string, bytes: number, filler: string): string {
  return `${key}:${filler}`.slice(0, Math.max(0, bytes - 2));
}

async function makeMisses(cache: Cache, run: Extract<ToBusWorker, { type: 'misses' }>): Promise<MissResult> {
  const filler = Array.from(
    { length: run.valueBytes },
    (_, i) => 'abcdefghijklmnopqrstuvwxyz0123456789'[i % 36],
  ).join('');
  const total = Math.round(run.perSecond * run.seconds);
  const pending: Promise<void>[] = [];
  const errorSamples: string[] = [];
  let loads = 0;
  let errors = 0;
  const miss = async (index: number): Promise<void> => {
    const key = `miss:${index}`;
    try {
      await cache.cached(key, () => {
        loads += 1;
        return valueFor(key, run.valueBytes, filler);
      });
    } catch (error) {
      errors += 1;
      if (errorSamples.length < 5) errorSamples.push(String((error as Error).message));
    }
  };
  await sleepUntil(run.at);
  const started = performance.now();
  let issued = 0;
  while (issued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * run.perSecond) + 1);
    for (; issued < due; issued += 1) pending.push(miss(issued));
    await sleep(TICK_MS);
  }
  await Promise.all(pending);
  return { calls: issued, loads, errors, errorSamples, elapsedMs: performance.now() - started };
}

for (;;) {
  const message = await parent.receive(['misses', 'exit']);
  if (message.type === 'exit') break;
  if (init.role !== 'writer') throw new Error('only the writer makes misses');
  const result = await makeMisses(caches[0]!, message);
  await parent.send({ type: 'missed', result });
}
await Promise.all(caches.map((cache) => cache.close()));
await parent.send({ type: 'closed', errorEvents });
parent.done();
