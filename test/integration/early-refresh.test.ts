import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type FleetNode, startFleet, stopFleet } from '../support/fleet.js';

const redisUrl = inject('redisUrl');
let fleet: FleetNode[] = [];
afterEach(async () => {
  await stopFleet(fleet);
  fleet = [];
});

describe('XFetch early refresh across processes', () => {
  it('keeps a hot key from ever expiring: after the first load nobody waits, one load per ttl window', async () => {
    const ttl = 1_000;
    const duration = 10_000;
    fleet = await startFleet(4, {
      redis: redisUrl,
      prefix: `test:xfetch:${randomUUID()}:`,
      ttl,
      earlyRefresh: { margin: 10 },
    });
    const results = (
      await Promise.all(fleet.map((node) => node.soak(['hot'], 50, duration, 5, { delay: 50 })))
    ).flat();
    const ends = fleet
      .flatMap((node) => node.reports)
      .filter((r) => r.ev === 'loaderEnd')
      .map((r) => (r as { at: number }).at)
      .sort((a, b) => a - b);
    const firstLoaded = ends[0] as number;
    const later = results.filter((r) => r.startedAt > firstLoaded + 10);
    expect(later.length).toBeGreaterThan(10_000);
    // Every later call is a hit: none waited for a loader, none was served stale.
    const statuses = new Map<string, number>();
    for (const r of later) statuses.set(String(r.status), (statuses.get(String(r.status)) ?? 0) + 1);
    expect(Object.fromEntries(statuses)).toEqual({ hit: later.length });
    // At least one refresh happened (the key outlived its ttl many times) and never more than one per window.
    expect(ends.length).toBeGreaterThan(duration / ttl - 2);
    expect(ends.length).toBeLessThanOrEqual(Math.ceil(duration / ttl) + 1);
  }, 60_000);
});
