/**
 * One process of the stampede fleet: C callers hammering one library for D seconds, each get timed,
 * each answer checked (right key, age), each loader call counted in Redis so the fleet's total is exact.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { seeded, zipf } from '../lib/random.js';
import { Histogram } from '../lib/stats.js';
import { Parent, sleepUntil } from '../lib/workers.js';
import { peerNamed } from '../peers/index.js';
import type { Load, PeerCache } from '../peers/types.js';
import type { FromStampedeWorker, ToStampedeWorker } from './stampede-protocol.js';

const parent = new Parent<FromStampedeWorker, ToStampedeWorker>();
const init = await parent.receive('init');

// Every caller yields to the event loop between gets, as a server does between requests: without it a
// library answering from memory would spin in microtasks and starve its own timers and sockets.
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

const counter = new Redis(init.redisUrl, { maxRetriesPerRequest: 1 });
counter.on('error', () => {});
let cache: PeerCache;
try {
  cache = await peerNamed(init.peer).create({
    redisUrl: init.redisUrl,
    cacheRedis: init.cacheRedis,
    namespace: init.namespace,
    ttl: init.ttl,
  });
} catch (error) {
  await parent.send({ type: 'failed', reason: (error as Error).message ?? String(error) });
  process.exit(1);
}
await parent.send({ type: 'ready' });
const { at: t0 } = await parent.receive('start');

const windows = Math.max(1, Math.ceil(init.durationMs / init.ttl));
const windowOf = (ms: number) => Math.min(windows - 1, Math.floor(ms / init.ttl));
const names = Array.from({ length: init.keys }, (_, i) => `${init.namespace}:k${i}`);
const indexOfName = new Map(names.map((name, i) => [name, i]));
const requested = new Uint8Array(init.keys * windows);
const loads: number[] = [];
let counterErrors = 0;

const load: Load = async (key) => {
  const start = Date.now();
  const index = indexOfName.get(key) ?? -1;
  // Counted at the start (fire and forget, off the loader's clock) so a call counts even if it never ends.
  counter.incr(init.counterKey).catch(() => {
    counterErrors += 1;
  });
  await sleep(init.loaderMs + (jitter() * 2 - 1) * init.loaderJitterMs);
  const loadedAt = Date.now();
  loads.push(index, start - t0, loadedAt - t0);
  return { key, loadedAt };
};

const latency = new Histogram();
let ok = 0;
let errors = 0;
let wrongValues = 0;
let stale = 0;
let tooOld = 0;
let slow = 0;
const jitter = seeded(init.index + 7_919);
let oldestMs = 0;
const errorSamples = new Set<string>();

async function caller(seed: number): Promise<void> {
  const pick = zipf(init.keys, init.zipfS, seeded(seed));
  const deadline = t0 + init.durationMs;
  for (;;) {
    const now = Date.now();
    if (now >= deadline) return;
    const index = pick();
    requested[index * windows + windowOf(now - t0)] = 1;
    const started = performance.now();
    try {
      const value = await cache.get(names[index]!, load);
      const took = performance.now() - started;
      latency.record(took * 1e6);
      if (took > 10) slow += 1;
      if (value?.key !== names[index]) {
        wrongValues += 1;
        errors += 1;
        if (errorSamples.size < 3) errorSamples.add(`wrong value: ${JSON.stringify(value)?.slice(0, 80)}`);
      } else {
        ok += 1;
        const age = Date.now() - value.loadedAt;
        if (age > init.ttl) stale += 1;
        if (age > init.ttl + 50) tooOld += 1;
        if (age > oldestMs) oldestMs = age;
      }
    } catch (error) {
      errors += 1;
      if (errorSamples.size < 3) errorSamples.add(String((error as Error).message ?? error).slice(0, 160));
    }
    await yieldToLoop();
  }
}

// A get that never settles must not hang the suite: past this grace the worker reports without it.
const HUNG_AFTER_MS = 15_000;
await sleepUntil(t0);
let finished = 0;
const callers = Array.from({ length: init.callers }, (_, c) =>
  caller(init.index * 10_000 + c + 1).then(() => {
    finished += 1;
  }),
);
await Promise.race([Promise.all(callers), sleep(init.durationMs + HUNG_AFTER_MS)]);
if (finished < init.callers) {
  errors += init.callers - finished;
  errorSamples.add(`${init.callers - finished} gets still pending ${HUNG_AFTER_MS / 1000} s after the end`);
}

const requestedList: number[] = [];
requested.forEach((flag, i) => {
  if (flag) requestedList.push(i);
});
const libraryStats = cache.stats?.();
await parent.send({
  type: 'result',
  latency: latency.toJSON(),
  ok,
  errors,
  errorSamples: [...errorSamples],
  wrongValues,
  stale,
  tooOld,
  slow,
  oldestMs,
  requested: requestedList,
  loads,
  counterErrors,
  ...(libraryStats ? { libraryStats } : {}),
});
// A background refresh may still be counting; give it its round trip before closing.
await sleep(50);
await Promise.race([cache.close(), sleep(3_000)]).catch(() => {});
counter.disconnect();
parent.done();
