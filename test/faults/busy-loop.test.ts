import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createCache } from '../../src/index.js';

const redisUrl = inject('redisUrl');
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Keeps the event loop busy, as a CPU-starved process would be. */
function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('a busy event loop', () => {
  it('does not blame Redis for an answer that arrived while the loop was blocked past the deadline', async () => {
    const client = new Redis(redisUrl);
    cleanup.push(() => client.quit());
    await client.ping();
    const prefix = `test:busy:${randomUUID()}:`;
    const cache = createCache({
      redis: client,
      prefix,
      redisTimeout: 50,
      heartbeatInterval: 0,
      breaker: { failureThreshold: 1, cooldown: 60_000 },
    });
    cleanup.push(() => cache.close());
    await cache.ready();
    const errors: Error[] = [];
    let opened = 0;
    cache.on('error', (error) => errors.push(error));
    cache.on('breakerOpen', () => opened++);

    // Every script is written to the socket synchronously; then the process is busy for 4 deadlines, and
    // Redis's answer waits in the socket while the deadline's timer expires.
    const evalsha = client.evalsha.bind(client);
    client.evalsha = ((...args: Parameters<typeof client.evalsha>) => {
      const reply = evalsha(...args);
      blockFor(200);
      return reply;
    }) as typeof client.evalsha;

    const first = await cache.lookup('k', () => 'loaded');
    expect(first).toMatchObject({ value: 'loaded', status: 'miss' });
    const second = await cache.lookup('k2', () => 'loaded');
    expect(second).toMatchObject({ value: 'loaded', status: 'miss' });
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(opened).toBe(0);
    // The loads went through Redis: the values are there for other nodes.
    const other = createCache({ redis: redisUrl, prefix, heartbeatInterval: 0 });
    cleanup.push(() => other.close());
    expect(await other.lookup('k', () => 'again')).toMatchObject({ value: 'loaded', tier: 'shared' });
  });
});
