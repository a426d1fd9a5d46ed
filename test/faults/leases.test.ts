import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readEnvelope } from '../../src/core/envelope.js';
import { type Cache, type CacheEvents, jsonCodec } from '../../src/index.js';
import { KeySpace } from '../../src/redis/keys.js';
import { COMMIT } from '../../src/redis/scripts.js';
import { type SpawnedRedis, spawnRedis } from '../support/redis-server.js';
import { type ChildNode, startChildren, stopChildren } from './support/child-node.js';
import { gatedLoader, prefix, spiedNode, urlNode } from './support/nodes.js';

let redis: SpawnedRedis;
let admin: Redis;
let children: ChildNode[] = [];
let closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  redis = await spawnRedis();
  admin = new Redis(redis.url);
});
afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});
afterEach(async () => {
  await stopChildren(children);
  await Promise.all(closers.map((close) => close()));
  children = [];
  closers = [];
});

const LEASE_TTL = 300;

/** The scenario's clock (a lease running out), never used to wait for something to happen. */
const elapse = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function node(p: string): Cache {
  const { cache } = urlNode(redis.url, { prefix: p, leaseTtl: LEASE_TTL });
  closers.push(() => cache.close());
  return cache;
}

/** The value stored in Redis under `key`, decoded as herdcache would. */
async function stored(p: string, key: string): Promise<unknown> {
  const raw = await admin.get(new KeySpace(p).value(key));
  return raw === null ? undefined : readEnvelope(key, raw, jsonCodec).value;
}

function nextLoad(cache: Cache): Promise<CacheEvents['load'][0]> {
  return new Promise((resolve) => cache.once('load', resolve));
}

describe('leases', () => {
  it('a holder paused past its lease cannot overwrite the newer value, nor release the new lease', async () => {
    const p = prefix();
    children = await startChildren(1, { redis: redis.url, prefix: p, leaseTtl: LEASE_TTL });
    const [holder] = children as [ChildNode];
    const b = node(p);
    await b.ready();

    const holding = holder.run('k', 3, { gated: true, tag: 'v1' });
    await holder.next('loaderStart');
    holder.kill('SIGSTOP');
    // B follows until the paused holder's lease runs out (its renewals stopped with it), then loads v2.
    const v2 = gatedLoader(() => ({ tag: 'v2' }));
    const loadingB = b.lookup('k', v2.load);
    await v2.started;

    const lost = holder.nextEvent('leaseLost');
    const holderLoad = holder.nextEvent('load');
    holder.kill('SIGCONT');
    holder.release('k');
    await lost;
    expect((await holderLoad).detail).toMatchObject({ key: 'k', stored: false });
    // The holder's own callers get the value it loaded; it is cached nowhere.
    for (const result of await holding) expect(result).toMatchObject({ ok: true, value: { tag: 'v1' } });
    expect(await stored(p, 'k')).toBeUndefined();

    // B's lease survived the holder's commit attempt: B's own commit goes through.
    const bLoad = nextLoad(b);
    v2.open();
    expect((await loadingB).value).toEqual({ tag: 'v2' });
    expect((await bLoad).stored).toBe(true);
    expect(await stored(p, 'k')).toEqual({ tag: 'v2' });
    expect(v2.calls).toBe(1);
  });

  it('a lease that ran out while its holder was paused is reported lost and never re-acquired', async () => {
    const p = prefix();
    children = await startChildren(1, { redis: redis.url, prefix: p, leaseTtl: LEASE_TTL });
    const [holder] = children as [ChildNode];
    const lease = new KeySpace(p).lease('k');
    const holding = holder.run('k', 1, { gated: true, tag: 'v1' });
    await holder.next('loaderStart');
    holder.kill('SIGSTOP');
    await elapse(LEASE_TTL + 50);
    expect(await admin.pttl(lease)).toBe(-2);

    const lost = holder.nextEvent('leaseLost');
    const holderLoad = holder.nextEvent('load');
    holder.kill('SIGCONT');
    holder.release('k');
    await lost;
    expect((await holderLoad).detail).toMatchObject({ stored: false });
    expect((await holding)[0]).toMatchObject({ ok: true, value: { tag: 'v1' } });
    expect(await admin.pttl(lease)).toBe(-2);
    expect(await stored(p, 'k')).toBeUndefined();
  });

  it('a loader running three times the lease ttl is still the only loader across processes', async () => {
    const p = prefix();
    children = await startChildren(2, { redis: redis.url, prefix: p, leaseTtl: LEASE_TTL });
    const here = node(p);
    await here.ready();
    let loads = 0;
    const [first, ...rest] = children as [ChildNode, ChildNode];
    const leading = first.run('slow', 5, { delay: 3 * LEASE_TTL, tag: 'slow' });
    await first.next('loaderStart');
    const results = await Promise.all([
      leading,
      ...rest.map((child) => child.run('slow', 5, { tag: 'other' })),
      Promise.all(
        Array.from({ length: 5 }, () =>
          here.cached('slow', () => {
            loads += 1;
            return { tag: 'here' };
          }),
        ),
      ),
    ]);
    expect(loads + children.reduce((sum, child) => sum + child.loaderStarts('slow'), 0)).toBe(1);
    for (const result of results.flat()) {
      const value = 'ok' in result ? result.value : result;
      expect(value).toMatchObject({ tag: 'slow' });
    }
  });

  it('a commit that missed its deadline and reaches Redis later does not overwrite newer data', async () => {
    const p = prefix();
    const a = spiedNode(redis.url, {
      prefix: p,
      leaseTtl: LEASE_TTL,
      redisTimeout: 100,
      breaker: { failureThreshold: 100, cooldown: 1_000 },
    });
    closers.push(() => a.close());
    const b = node(p);
    await Promise.all([a.cache.ready(), b.ready()]);

    // The network holds A's commit back past its deadline: A's callers still get their value.
    const commit = a.hold((command) => command.name === 'evalsha' && command.args[0] === COMMIT.sha);
    expect(await a.cache.cached('k', () => 'v1')).toBe('v1');
    expect(commit.held).toHaveLength(1);
    // A's lease is no longer renewed: once it runs out, B loads and stores v2.
    expect(await b.cached('k', () => 'v2')).toBe('v2');
    expect(await stored(p, 'k')).toBe('v2');

    // A's stale commit finally executes: the lease check rejects it.
    const [late] = commit.held;
    commit.release();
    expect(await late?.promise).toEqual([0, expect.any(Number)]);
    expect(await stored(p, 'k')).toBe('v2');
  });
});
