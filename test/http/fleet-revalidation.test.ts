import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Cache } from '../../src/index.js';
import { fleetKeys, revalidationApp } from './fixtures/revalidation-app.js';
import { Harness, nextLoad, send } from './helpers.js';

const SERVER = fileURLToPath(new URL('./fixtures/revalidation-server.ts', import.meta.url));

let h: Harness;
let child: ChildProcess | undefined;
let redis: Redis;
beforeEach(() => {
  h = new Harness();
  redis = new Redis(h.redisUrl);
});
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child?.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
  child = undefined;
  const keys = fleetKeys(h.prefix);
  await redis.del(keys.calls('no-store'), keys.calls('versioned'), keys.cacheControl, keys.version);
  redis.disconnect();
  await h.close();
});

/** Two nodes on one Redis and prefix: this process and a child process, each with the same app. */
async function fleet(): Promise<{
  local: string;
  remote: string;
  cache: Cache;
  remoteLoad(): Promise<void>;
}> {
  const forked = fork(SERVER, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, HERDCACHE_TEST_REDIS_URL: h.redisUrl, HERDCACHE_TEST_PREFIX: h.prefix },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child = forked;
  const exited = once(forked, 'exit').then(([code]) => {
    throw new Error(`fixture server exited early with ${code}`);
  });
  const message = (await new Promise((resolve, reject) => {
    forked.once('message', resolve);
    exited.catch(reject);
  })) as { port: number };
  const cache = await h.cache();
  const local = await h.serve(revalidationApp(cache, redis, h.prefix));
  /** Resolves at the child's next finished load. */
  const remoteLoad = () =>
    new Promise<void>((resolve) => {
      const onMessage = (m: { load?: unknown }) => {
        if (m.load === undefined) return;
        forked.off('message', onMessage);
        resolve();
      };
      forked.on('message', onMessage);
    });
  return { local, remote: `http://127.0.0.1:${message.port}`, cache, remoteLoad };
}

const calls = async (prefix: string, route: string) =>
  Number(await redis.get(fleetKeys(prefix).calls(route)));

describe('a response is given to a request only if it may be (two processes, real Redis)', () => {
  it('runs the route for a request that arrives after a No-Store response completed, on another node', async () => {
    const nodes = await fleet();
    const first = await send(`${nodes.local}/no-store`);
    const second = await send(`${nodes.remote}/no-store`);
    expect(JSON.parse(first.text).pid).toBe(process.pid);
    expect(JSON.parse(second.text).pid).toBe(child?.pid);
    expect(await calls(h.prefix, 'no-store')).toBe(2);
  });

  it('runs the route again (conditionally) for a response stale on arrival, on another node', async () => {
    const nodes = await fleet();
    await send(`${nodes.local}/versioned`);
    const second = await send(`${nodes.remote}/versioned`);
    expect(second.headers['x-cache']).toMatch(/^(MISS|REVALIDATED)$/);
    expect(await calls(h.prefix, 'versioned')).toBe(2);
  });
});

describe('revalidation across the fleet (two processes, real Redis)', () => {
  it('a 304 from the route on one node refreshes the stored entry on every node', async () => {
    const nodes = await fleet();
    const keys = fleetKeys(h.prefix);
    const stored = nextLoad(nodes.cache);
    const first = await send(`${nodes.local}/versioned`);
    await stored;
    expect(first.headers['x-version']).toBe('1');

    // The resource is unchanged (same ETag) but its metadata is new: fresh for a minute, version 2.
    await redis.mset(keys.cacheControl, 'max-age=60', keys.version, '2');
    const refreshed = nodes.remoteLoad();
    const remote = await send(`${nodes.remote}/versioned`);
    await refreshed;
    expect(remote.headers['x-cache']).toBe('REVALIDATED');
    expect(remote.headers['x-version']).toBe('2');
    expect(remote.text).toBe(`made by ${process.pid}`);

    // This node held the old, stale entry; it gets the freshened one without running the route.
    const local = await send(`${nodes.local}/versioned`);
    expect(local.headers['x-cache']).toBe('HIT');
    expect(local.headers['x-version']).toBe('2');
    expect(local.headers['cache-control']).toBe('max-age=60');
    expect(local.text).toBe(`made by ${process.pid}`);
    expect(await calls(h.prefix, 'versioned')).toBe(2);
  });
});
