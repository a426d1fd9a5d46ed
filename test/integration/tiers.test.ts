import { randomUUID } from 'node:crypto';
import { type Command, Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { type Cache, createCache } from '../../src/index.js';

const redisUrl = inject('redisUrl');
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function cache(options: Parameters<typeof createCache>[0]): Cache {
  const created = createCache({ prefix: `test:tiers:${randomUUID()}:`, ...options });
  cleanup.push(() => created.close());
  return created;
}

describe('tiers', () => {
  it('answers a local-tier hit without any Redis command', async () => {
    const client = new Redis(redisUrl);
    cleanup.push(() => client.quit());
    const c = cache({ redis: client, heartbeatInterval: 0 });
    await c.ready();
    await c.cached('k', () => 'v');
    const sent = vi.spyOn(client, 'sendCommand');
    for (let i = 0; i < 100; i += 1) expect(await c.cached('k', () => 'other')).toBe('v');
    expect(sent).not.toHaveBeenCalled();
    sent.mockRestore();
  });

  it('reads the shared tier on a local miss and fills the local tier', async () => {
    const prefix = `test:tiers:${randomUUID()}:`;
    const a = cache({ redis: redisUrl, prefix });
    const b = cache({ redis: redisUrl, prefix });
    // Until its subscription is up a node cannot hear invalidations, so it keeps nothing it read before.
    await b.ready();
    await a.cached('k', () => ({ n: 1 }));
    expect(await b.lookup('k', () => ({ n: 2 }))).toMatchObject({
      status: 'hit',
      tier: 'shared',
      value: { n: 1 },
    });
    expect(await b.lookup('k', () => ({ n: 3 }))).toMatchObject({
      status: 'hit',
      tier: 'local',
      value: { n: 1 },
    });
  });

  it('works with no local tier, every read going to Redis', async () => {
    const c = cache({ redis: redisUrl, local: false });
    const loader = vi.fn(() => 'v');
    await c.cached('k', loader);
    expect(await c.lookup('k', loader)).toMatchObject({ tier: 'shared', status: 'hit' });
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('reads a tagged entry from Redis in one round trip once this node knows its tags', async () => {
    const prefix = `test:tiers:${randomUUID()}:`;
    const writer = cache({ redis: redisUrl, prefix });
    await writer.cached('k', () => 'v', { tags: ['a', 'b'] });
    const client = new Redis(redisUrl);
    cleanup.push(() => client.quit());
    const reader = cache({ redis: client, prefix, local: false, heartbeatInterval: 0 });
    await reader.ready();
    // Time stands still, so the server clock learned by the first read stays trusted for all 50.
    vi.useFakeTimers({ toFake: ['performance'] });
    const sent = vi.spyOn(client, 'sendCommand');
    for (let i = 0; i < 50; i += 1) {
      expect(await reader.lookup('k', () => 'unused', { tags: ['a', 'b'] })).toMatchObject({
        tier: 'shared',
      });
    }
    vi.useRealTimers();
    // The first read asks the server's time too (a script); then a plain GET each; plus one read of each
    // tag's stamp the first time.
    const commands = dataCommands(sent).map((command) => {
      const target = String(command.args[command.name === 'evalsha' ? 2 : 0]);
      return `${command.name} ${target.slice(target.lastIndexOf(':'))}`;
    });
    expect(commands.sort()).toEqual(['evalsha :v', 'get :t', 'get :t', ...Array<string>(49).fill('get :v')]);
    sent.mockRestore();
  });

  it('judges a plain GET with a server clock it learned at most 500 ms before, else asks the time again', async () => {
    const prefix = `test:tiers:${randomUUID()}:`;
    await cache({ redis: redisUrl, prefix }).cached('k', () => 'v');
    const client = new Redis(redisUrl);
    cleanup.push(() => client.quit());
    const reader = cache({ redis: client, prefix, local: false, heartbeatInterval: 0 });
    await reader.ready();
    vi.useFakeTimers({ toFake: ['performance'] });
    const sent = vi.spyOn(client, 'sendCommand');
    const names = () => dataCommands(sent).map((command) => command.name);
    await reader.cached('k', () => 'unused');
    await reader.cached('k', () => 'unused');
    vi.advanceTimersByTime(500);
    await reader.cached('k', () => 'unused');
    expect(names()).toEqual(['evalsha', 'get', 'get']);
    vi.advanceTimersByTime(1);
    await reader.cached('k', () => 'unused');
    expect(names()).toEqual(['evalsha', 'get', 'get', 'evalsha']);
    vi.useRealTimers();
    sent.mockRestore();
  });

  it('leaves a client passed in open after close', async () => {
    const client = new Redis(redisUrl);
    cleanup.push(() => client.quit());
    const c = createCache({ redis: client, prefix: `test:tiers:${randomUUID()}:` });
    await c.cached('k', () => 1);
    await c.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
  });

  it('never hangs with Redis unreachable from the start: calls load locally, ready() rejects, close() returns', async () => {
    const c = createCache({ redis: 'redis://127.0.0.1:1', redisTimeout: 100, heartbeatInterval: 0 });
    const errors: Error[] = [];
    c.on('error', (error) => errors.push(error));
    expect(await c.lookup('k', () => 'v')).toMatchObject({ value: 'v', tier: 'load' });
    expect(errors.length).toBeGreaterThan(0);
    await expect(c.ready(50)).rejects.toMatchObject({ code: 'HERDCACHE_REDIS_UNAVAILABLE' });
    await c.close();
  });

  it('get and set reach other nodes; set drops their local copies', async () => {
    const prefix = `test:tiers:${randomUUID()}:`;
    const a = cache({ redis: redisUrl, prefix });
    const b = cache({ redis: redisUrl, prefix });
    await Promise.all([a.ready(), b.ready()]);
    await b.cached('k', () => 'old');
    const dropped = new Promise((resolve) => b.once('invalidate', resolve));
    await a.set('k', 'new');
    await dropped;
    expect(await b.get('k')).toBe('new');
    expect(await b.get('absent')).toBeUndefined();
  });
});

/**
 * The commands a spy on `sendCommand` saw that touch data: connection housekeeping (INFO, PING, a
 * reconnect's ready check) can arrive at any moment and is not what these tests count.
 */
function dataCommands(spy: { mock: { calls: readonly (readonly [Command, ...unknown[]])[] } }): Command[] {
  return spy.mock.calls
    .map(([command]) => command)
    .filter((command) => command.name === 'evalsha' || command.name === 'get');
}
