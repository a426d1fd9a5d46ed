import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type FleetNode, startFleet, stopFleet } from '../support/fleet.js';

const redisUrl = inject('redisUrl');
let fleet: FleetNode[] = [];
afterEach(async () => {
  await stopFleet(fleet);
  fleet = [];
});

/**
 * Early refresh across processes. Whether nobody ever waits depends on the machine keeping up (a load
 * that starts late lands late); that is measured in `bench/` and shown deterministically on a fake clock in
 * test/consistency/observed.test.ts. Here: what holds however slow the machine is.
 */
describe('early refresh across processes', () => {
  it('refreshes a hot key once per window, loads never overlap, and no answer outlives its ttl', async () => {
    const ttl = 1_000;
    const duration = 6_000;
    fleet = await startFleet(4, { redis: redisUrl, prefix: `test:early:${randomUUID()}:`, ttl });
    const results = (
      await Promise.all(fleet.map((node) => node.soak(['hot'], 20, duration, 5, { delay: 50 })))
    ).flat();
    const reports = fleet.flatMap((node) => node.reports);
    const starts = reports.filter((r) => r.ev === 'loaderStart').map((r) => r.at);
    expect(results.every((r) => r.ok)).toBe(true);
    // The key outlived its ttl several times, one load per ttl window at most (plus the first).
    expect(starts.length).toBeGreaterThanOrEqual(duration / ttl - 1);
    expect(starts.length).toBeLessThanOrEqual(Math.ceil(duration / ttl) + 1);
    // One load at a time in the whole fleet. Starts and ends pair up within a process (its loads of one key
    // run one at a time), not across the fleet: a load still running as the soak ends has no end yet, and
    // pairing by position over all processes would shift every later pair onto another process's load.
    const intervals = fleet.flatMap((node) => {
      const ends = node.reports.flatMap((r) => (r.ev === 'loaderEnd' ? [r.at] : []));
      return node.reports
        .flatMap((r) => (r.ev === 'loaderStart' ? [r.at] : []))
        .map((start, i) => [start, ends[i] ?? Number.POSITIVE_INFINITY] as const);
    });
    intervals.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < intervals.length; i += 1) {
      expect(intervals[i]?.[0]).toBeGreaterThanOrEqual(intervals[i - 1]?.[1] as number);
    }
    // Every call started while the value it got was fresh: stored (by its leader's commit) less than ttl before.
    const storedAt = new Map<string, number>();
    for (const node of fleet) {
      for (const r of node.reports) if (r.ev === 'stored') storedAt.set(`${node.child.pid}:${r.n}`, r.at);
    }
    for (const r of results) {
      const value = r.value as { pid: number; n: number };
      const stored = storedAt.get(`${value.pid}:${value.n}`);
      expect(stored).toBeDefined();
      expect(r.startedAt).toBeLessThanOrEqual((stored as number) + ttl);
    }
  }, 60_000);
});
