/**
 * One "app server" of the demo: callers hammer one hot key whose loader stands in for a 100 ms database
 * query. Started by examples/demo.ts; reports loader calls and latencies over IPC.
 */
import { createCache } from '../src/index.js';

interface Job {
  readonly mode: 'no-cache' | 'herdcache';
  readonly redis?: string;
  readonly prefix: string;
  readonly callers: number;
  readonly duration: number;
  readonly ttl: number;
}

const query = async () => {
  process.send?.({ type: 'load' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { price: 42, at: Date.now() };
};

process.once('message', async (job: Job) => {
  const cache =
    job.mode === 'herdcache'
      ? createCache({ redis: job.redis, prefix: job.prefix, ttl: job.ttl })
      : undefined;
  await cache?.ready();
  const get = cache ? () => cache.cached('product:1', query) : query;
  const latencies: number[] = [];
  const until = Date.now() + job.duration;
  await Promise.all(
    Array.from({ length: job.callers }, async () => {
      while (Date.now() < until) {
        const started = performance.now();
        await get();
        latencies.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }),
  );
  // Wait for the report to be written out before disconnecting, or a large one is cut off.
  await new Promise((resolve) => process.send?.({ type: 'done', latencies }, resolve));
  await cache?.close();
  process.disconnect?.();
});
