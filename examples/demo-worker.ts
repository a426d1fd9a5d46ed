/**
 * One "app server" of the demo: callers hammer one hot key whose loader stands in for a 100 ms database
 * query, through one of three contenders. Started by examples/demo.ts, which sends one job per contender
 * over IPC; reports every query and, at the end of a job, the callers' latencies.
 */
import { createCache } from 'herdcache';
import { LRUCache } from 'lru-cache';

export type Contender = 'no cache' | 'per-process dedupe' | 'herdcache';

export interface Job {
  readonly contender: Contender;
  readonly redis: string | undefined;
  readonly prefix: string;
  readonly callers: number;
  readonly duration: number;
  readonly ttl: number;
}

export type WorkerMessage = { type: 'ready' } | { type: 'query' } | { type: 'done'; latencies: number[] };

const send = (message: WorkerMessage) =>
  new Promise<void>((resolve) => process.send?.(message, () => resolve()));

const query = async () => {
  void send({ type: 'query' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { id: 1, price: 42, at: new Date() };
};

type Product = Awaited<ReturnType<typeof query>>;

/** What every in-process cache library does: an LRU with a ttl, and one load per key per process. */
function perProcessDedupe(ttl: number): () => Promise<Product> {
  const lru = new LRUCache<string, Product>({ max: 1_000, ttl });
  const loading = new Map<string, Promise<Product>>();
  return () => {
    const hit = lru.get('product:1');
    if (hit !== undefined) return Promise.resolve(hit);
    let load = loading.get('product:1');
    if (load === undefined) {
      load = query()
        .then((value) => {
          lru.set('product:1', value);
          return value;
        })
        .finally(() => loading.delete('product:1'));
      loading.set('product:1', load);
    }
    return load;
  };
}

async function run(job: Job): Promise<number[]> {
  const cache =
    job.contender === 'herdcache'
      ? createCache({ redis: job.redis, prefix: job.prefix, ttl: job.ttl })
      : undefined;
  await cache?.ready();
  const get =
    job.contender === 'no cache'
      ? query
      : cache
        ? () => cache.cached('product:1', query)
        : perProcessDedupe(job.ttl);
  const latencies: number[] = [];
  const until = performance.now() + job.duration;
  await Promise.all(
    Array.from({ length: job.callers }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        await get();
        latencies.push(performance.now() - started);
        // A request every ~10 ms per caller, as an app server under load.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }),
  );
  await cache?.close();
  return latencies;
}

process.on('message', async (job: Job | 'exit') => {
  if (job === 'exit') {
    process.disconnect?.();
    return;
  }
  // Waiting for the report to be handed over before the next job, or a large one could be cut off.
  await send({ type: 'done', latencies: await run(job) });
});

void send({ type: 'ready' });
