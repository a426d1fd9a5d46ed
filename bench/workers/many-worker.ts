/**
 * One process of the batch-read fleet: C callers asking for B distinct Zipf-picked keys per call, through
 * one `cachedMany` or through B parallel `cached` calls, for D seconds. Counts every command the cache's
 * own Redis connection sends, by kind, and attributes batched lease scripts to the call that sent them.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, Redis } from 'ioredis';
import { createCache } from '../../src/index.js';
import { ACQUIRE, ACQUIRE_MANY, COMMIT, READ } from '../../src/redis/scripts.js';
import { seeded, zipf } from '../lib/random.js';
import { Parent, sleepUntil } from '../lib/workers.js';
import type { FromManyWorker, ToManyWorker } from './many-protocol.js';

const parent = new Parent<FromManyWorker, ToManyWorker>();
const init = await parent.receive('init');

const client =
  typeof init.redis === 'string'
    ? new Redis(init.redis)
    : new Cluster(
        init.redis.cluster.map((url) => {
          const u = new URL(url);
          return { host: u.hostname, port: Number(u.port) };
        }),
      );
client.on('error', () => {});

const kinds = new Map<string, 'lease' | 'commit'>([
  [ACQUIRE_MANY.sha, 'lease'],
  [ACQUIRE.sha, 'lease'],
  [READ.sha, 'lease'],
  [COMMIT.sha, 'commit'],
]);
let leaseCommands = 0;
let commitCommands = 0;
let otherCommands = 0;
/** The batch being started right now: ACQUIRE_MANY is sent synchronously inside cachedMany. */
let current: { scripts: number; groups: Set<string> } | undefined;
const send = client.sendCommand.bind(client) as (...args: unknown[]) => unknown;
(client as unknown as { sendCommand: (...args: unknown[]) => unknown }).sendCommand = (...args) => {
  const command = args[0] as { name: string; args: unknown[] };
  const kind =
    command.name === 'get'
      ? 'lease'
      : command.name === 'evalsha'
        ? kinds.get(String(command.args[0]))
        : undefined;
  if (kind === 'lease') leaseCommands += 1;
  else if (kind === 'commit') commitCommands += 1;
  else otherCommands += 1;
  if (current !== undefined && command.name === 'evalsha' && command.args[0] === ACQUIRE_MANY.sha) {
    current.scripts += 1;
    const count = Number(command.args[1]);
    for (const key of command.args.slice(2, 2 + count)) {
      const name = String(key);
      current.groups.add(name.slice(name.indexOf('{'), name.indexOf('}') + 1));
    }
  }
  return send(...args);
};

const cache = createCache({ redis: client, prefix: init.prefix, ttl: init.ttl });
cache.on('error', () => {});
await cache.ready();
await parent.send({ type: 'ready' });
const { at: t0 } = await parent.receive('start');

const names = Array.from({ length: init.keys }, (_, i) => `k${i}`);
const indexOf = new Map(names.map((name, i) => [name, i]));
const loads: [number, number][] = [];
let loaderCalls = 0;
const loadOne = async (key: string) => ({ key, loadedAt: Date.now() });

const loadMany = async (keys: readonly string[]) => {
  loaderCalls += 1;
  const start = Date.now();
  for (const key of keys) loads.push([indexOf.get(key) ?? -1, start]);
  await sleep(init.loaderMs);
  return Promise.all(keys.map(loadOne));
};
const loadSingle = async ({ key }: { key: string }) => {
  loaderCalls += 1;
  loads.push([indexOf.get(key) ?? -1, Date.now()]);
  await sleep(init.loaderMs);
  return loadOne(key);
};

const latencies: number[] = [];
const batches: [number, number][] = [];
let calls = 0;
let errors = 0;
const errorSamples = new Set<string>();

async function caller(seed: number): Promise<void> {
  const pick = zipf(init.keys, init.zipfS, seeded(seed));
  const deadline = t0 + init.durationMs;
  while (Date.now() < deadline) {
    const chosen = new Set<string>();
    while (chosen.size < init.batch) chosen.add(names[pick()] as string);
    const keys = [...chosen];
    const started = performance.now();
    try {
      let values: { key: string }[];
      if (init.mode === 'many') {
        current = { scripts: 0, groups: new Set() };
        const pending = cache.cachedMany(keys, loadMany);
        if (current.scripts > 0) batches.push([current.scripts, current.groups.size]);
        current = undefined;
        values = await pending;
      } else {
        values = await Promise.all(keys.map((key) => cache.cached(key, loadSingle)));
      }
      if (values.some((value, i) => value.key !== keys[i])) throw new Error('wrong value');
      calls += 1;
      latencies.push(performance.now() - started);
    } catch (error) {
      errors += 1;
      if (errorSamples.size < 3) errorSamples.add(String((error as Error).message).slice(0, 160));
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

await sleepUntil(t0);
await Promise.all(Array.from({ length: init.callers }, (_, c) => caller(init.index * 10_000 + c + 1)));
await parent.send({
  type: 'result',
  calls,
  errors,
  errorSamples: [...errorSamples],
  latencies,
  loads,
  loaderCalls,
  leaseCommands,
  commitCommands,
  otherCommands,
  batches,
});
await Promise.race([cache.close(), sleep(3_000)]).catch(() => {});
client.disconnect();
parent.done();
