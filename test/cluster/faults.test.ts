/**
 * Faults on a real Redis Cluster: a master paused until its replica is promoted, and a master carrying
 * sharded subscriptions killed.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { type Cache, createCache } from '../../src/index.js';
import { KeySpace } from '../../src/redis/keys.js';
import { clusterPerFile } from '../support/cluster-per-file.js';

const spawned = clusterPerFile();
const { open } = spawned;

function node(prefix: string, options: Parameters<typeof createCache>[0] = {}): Cache {
  const cache = createCache({
    redis: { cluster: [...spawned.cluster().urls] },
    prefix,
    redisTimeout: 200,
    ...options,
  });
  cache.on('error', () => {});
  open.push(cache);
  return cache;
}

async function slotOf(name: string): Promise<number> {
  const probe = new Redis(spawned.cluster().urls[0] as string);
  try {
    return Number(await probe.call('CLUSTER', 'KEYSLOT', name));
  } finally {
    probe.disconnect();
  }
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const run = promisify(execFile);

async function nodeId(port: number): Promise<string> {
  const probe = new Redis(port, '127.0.0.1');
  try {
    return String(await probe.call('CLUSTER', 'MYID'));
  } finally {
    probe.disconnect();
  }
}

describe('a Redis Cluster in trouble', () => {
  it('survives a master paused for 6 s and failed over under 100 lookups/s: no caller error, service resumes', async () => {
    const prefix = `test:cluster-faults:${randomUUID()}:`;
    const space = new KeySpace(prefix);
    const a = node(prefix, { local: false });
    const b = node(prefix, { local: false });
    await Promise.all([a.ready(), b.ready()]);
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    for (const key of keys) await a.cached(key, () => `v-${key}`, { ttl: 60_000 });
    const victimSlot = await slotOf(space.value('k0'));
    const victim = await spawned.cluster().masterOf(victimSlot);

    const failures: unknown[] = [];
    let calls = 0;
    let running = true;
    const traffic = (async () => {
      for (let i = 0; running; i++) {
        const cache = i % 2 === 0 ? a : b;
        const key = keys[i % keys.length] as string;
        calls++;
        cache
          .cached(key, () => `reloaded-${key}`, { ttl: 60_000 })
          .catch((error: unknown) => failures.push(error));
        await tick(10);
      }
    })();

    victim.pause();
    await tick(6_000);
    victim.resume();
    await spawned.cluster().settled();
    running = false;
    await traffic;
    expect(calls).toBeGreaterThan(300);
    expect(failures).toEqual([]);

    // After the promotion the key's slot is served by the former replica; the fleet uses Redis again.
    expect((await spawned.cluster().masterOf(victimSlot)).port).not.toBe(victim.port);
    let recovered = false;
    while (!recovered) {
      await b.invalidate('k0').catch(() => {});
      await a.cached('k0', () => 'after', { ttl: 60_000 });
      recovered = (await b.lookup('k0', () => 'not-shared')).tier === 'shared';
    }
    expect(recovered).toBe(true);
  }, 60_000);

  it('keeps serving while slots migrate under traffic (redis-cli --cluster reshard); no invalidation is lost unnoticed', async () => {
    const prefix = `test:cluster-faults:${randomUUID()}:`;
    const reader = node(prefix, { heartbeatInterval: 100 });
    const writer = node(prefix, { heartbeatInterval: 100 });
    await Promise.all([reader.ready(), writer.ready()]);
    const from = await spawned.cluster().masterOf(0);
    const to =
      (await spawned.cluster().masterOf(16_383)).port === from.port
        ? await spawned.cluster().masterOf(8_000)
        : await spawned.cluster().masterOf(16_383);
    const keys = Array.from({ length: 50 }, (_, i) => `m${i}`);
    let version = 1;
    const load = (key: string) => () => `v${version}-${key}`;
    for (const key of keys) await reader.cached(key, load(key));

    const failures: unknown[] = [];
    let running = true;
    const traffic = (async () => {
      for (let i = 0; running; i++) {
        const key = keys[i % keys.length] as string;
        reader.cached(key, load(key)).catch((error: unknown) => failures.push(error));
        await tick(5);
      }
    })();
    // Usually "a slot moved"; on a busy machine an unanswered heartbeat may start the rebuild first, and a
    // rebuild that subscribes after the move never sees one. Either way the loss is noticed and flushed.
    const moved = new Promise((resolve) => reader.once('localFlush', resolve));
    // The lowest 200 slots of `from` move, among them the first groups' channels (slots 0, 16, 32, ...).
    await run('redis-cli', [
      '--cluster',
      'reshard',
      `127.0.0.1:${from.port}`,
      '--cluster-from',
      await nodeId(from.port),
      '--cluster-to',
      await nodeId(to.port),
      '--cluster-slots',
      '200',
      '--cluster-yes',
    ]);
    await moved;
    await spawned.cluster().settled();
    expect((await spawned.cluster().masterOf(0)).port).toBe(to.port);

    // Pub/sub is at most once: a notice sent while the reader rebuilds its subscriptions (which may still be
    // going on here) is lost, and the flush that ends the rebuild stands in for it. So each invalidation is
    // either heard or followed by a flush; a flush sends it again, until one is heard where the slot lives now.
    let flushes = 0;
    reader.on('localFlush', () => flushes++);
    const heard = new Set<string>();
    let changed: () => void = () => {};
    reader.on('invalidate', ({ keys: invalidated, origin }) => {
      if (origin !== 'remote') return;
      for (const key of invalidated) heard.add(key);
      changed();
    });
    reader.on('localFlush', () => changed());
    version = 2;
    for (const key of keys) {
      while (!heard.has(key)) {
        const flushesBefore = flushes;
        const noticed = new Promise<void>((resolve) => {
          changed = () => (heard.has(key) || flushes > flushesBefore) && resolve();
        });
        // A rejected invalidate (the breaker opened while the slots moved) is retried after a pause: a retry
        // loop of promise callbacks alone would never let the breaker's cooldown timer run.
        while (
          !(await writer.invalidate(key).then(
            () => true,
            () => false,
          ))
        )
          await tick(10);
        changed();
        await noticed;
      }
    }
    running = false;
    await traffic;
    expect(failures).toEqual([]);
    // Invalidation wins: whether the reader heard it or flushed, the copy from before is never served again.
    for (const key of keys) expect(await reader.cached(key, load(key))).toBe(`v2-${key}`);
  }, 60_000);

  it('rebuilds its sharded subscriptions when a master is killed, flushes, and hears invalidations again', async () => {
    const prefix = `test:cluster-faults:${randomUUID()}:`;
    const reader = node(prefix, { heartbeatInterval: 100 });
    const writer = node(prefix, { heartbeatInterval: 100 });
    await Promise.all([reader.ready(), writer.ready()]);
    // Every node holds a subscription on every master; kill the one serving the first group's slot.
    const victim = await spawned.cluster().masterOf(0);

    await reader.cached('k', () => 'v1');
    const flushed = new Promise((resolve) => reader.once('localFlush', resolve));
    const rebuilt = new Promise((resolve) =>
      reader.on('localFlush', ({ reason }) => reason === 'subscriber reconnected' && resolve(reason)),
    );
    await victim.kill();
    await flushed;
    // Back once the replica is promoted and every master has confirmed the subscriptions again.
    await rebuilt;

    await spawned.cluster().settled();
    await reader.cached('k', () => 'v1');
    const heard = new Promise((resolve) =>
      reader.on(
        'invalidate',
        ({ keys, origin }) => origin === 'remote' && keys.includes('k') && resolve(keys),
      ),
    );
    let sent = false;
    while (!sent)
      sent = await writer.invalidate('k').then(
        () => true,
        () => false,
      );
    await heard;
    expect(await reader.cached('k', () => 'v2')).toBe('v2');
  }, 60_000);
});
