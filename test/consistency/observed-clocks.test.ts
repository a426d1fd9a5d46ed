/**
 * Regression tests for issue 9's observations that need machines whose clocks disagree: real child
 * processes whose wall clocks are shifted by seconds, against a real Redis. herdcache decides freshness,
 * order and tags on Redis's clock only, so none of the shifts may change an outcome.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type FleetNode, startFleet, stopFleet } from '../support/fleet.js';
import type { CallResult } from '../support/fleet-worker.js';

const redisUrl = inject('redisUrl');
let fleet: FleetNode[] = [];
afterEach(async () => {
  await stopFleet(fleet);
  fleet = [];
});

function start(offsets: number[], options: Record<string, unknown> = {}): Promise<FleetNode[]> {
  return startFleet(
    offsets.length,
    { redis: redisUrl, prefix: `test:clocks:${randomUUID()}:`, ...options },
    offsets,
  );
}

/** The tag the loader put in the value of a single call's result. */
function tagOf(results: CallResult[]): unknown {
  const [result] = results;
  if (!result?.ok) throw new Error(`call failed: ${JSON.stringify(result?.error)}`);
  return (result.value as { tag: unknown }).tag;
}

/** The scenario's clock (a ttl running out), never used to wait for something to happen. */
const elapse = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('issue 9, observed with clocks seconds apart', () => {
  it("3: a set from a node whose clock is behind the loader's still replaces the value everywhere", async () => {
    fleet = await start([1_500, 0, -1_000]);
    const [ahead, setter, behind] = fleet as [FleetNode, FleetNode, FleetNode];
    expect(tagOf(await ahead.run('k', 1, { tag: 'v1' }))).toBe('v1');
    expect(tagOf(await behind.run('k', 1, { tag: 'unused' }))).toBe('v1');
    // The others hold v1 locally until the set's notice reaches them, which may be after it resolves here.
    const heard = [ahead, behind].map((node) => node.next('invalidated', (report) => report.key === 'k'));
    await setter.set('k', { tag: 'v2' });
    await Promise.all(heard);
    for (const node of fleet) expect(tagOf(await node.run('k', 1, { tag: 'loaded' }))).toBe('v2');
  });

  it('4: a load on a node 500 ms ahead, overtaken by invalidateTag, is served nowhere', async () => {
    fleet = await start([500, 0, 0]);
    const [loader, invalidator, reader] = fleet as [FleetNode, FleetNode, FleetNode];
    const tags = { tags: ['t'] };
    const loading = loader.run('k', 1, { gated: true, tag: 'overtaken' }, tags);
    await loader.next('loaderStart');
    await invalidator.invalidateTag('t');
    loader.release('k');
    expect(tagOf(await loading)).toBe('overtaken');
    expect(tagOf(await reader.run('k', 1, { tag: 'fresh' }, tags))).toBe('fresh');
    expect(tagOf(await loader.run('k', 1, { tag: 'unused' }, tags))).toBe('fresh');
  });

  it('4: an invalidateTag from a node 3 s ahead does not make the tag uncacheable', async () => {
    fleet = await start([3_000, 0]);
    const [invalidator, node] = fleet as [FleetNode, FleetNode];
    await invalidator.invalidateTag('t');
    expect(tagOf(await node.run('k', 1, { tag: 'v1' }, { tags: ['t'] }))).toBe('v1');
    expect(tagOf(await node.run('k', 1, { tag: 'again' }, { tags: ['t'] }))).toBe('v1');
    expect(tagOf(await invalidator.run('k', 1, { tag: 'again' }, { tags: ['t'] }))).toBe('v1');
    expect(node.count('loaderStart') + invalidator.count('loaderStart')).toBe(1);
  });

  it('4: an invalidateTag from a node 3 s behind voids values loaded just before it', async () => {
    fleet = await start([-3_000, 0, 0]);
    const [invalidator, loader, reader] = fleet as [FleetNode, FleetNode, FleetNode];
    expect(tagOf(await loader.run('k', 1, { tag: 'v1' }, { tags: ['t'] }))).toBe('v1');
    expect(tagOf(await reader.run('k', 1, { tag: 'unused' }, { tags: ['t'] }))).toBe('v1');
    await invalidator.invalidateTag('t');
    for (const node of fleet)
      expect(tagOf(await node.run('k', 1, { tag: 'v2' }, { tags: ['t'] }))).toBe('v2');
  });

  it('8: a value loaded on a node 2.5 s ahead is fresh for ttl, not ttl + skew, on the others', async () => {
    const ttl = 300;
    fleet = await start([2_500, 0], { ttl, earlyRefresh: false });
    const [ahead, reader] = fleet as [FleetNode, FleetNode];
    expect(tagOf(await ahead.run('k', 1, { tag: 'v1' }))).toBe('v1');
    const [first] = await reader.run('k', 1, { tag: 'unused' });
    expect(first).toMatchObject({ ok: true, status: 'hit' });
    await elapse(ttl + 100);
    expect(tagOf(await reader.run('k', 1, { tag: 'v2' }))).toBe('v2');
  });
});
