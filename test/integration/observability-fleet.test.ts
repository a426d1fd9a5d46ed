import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type ObservedNode as Node, ObservedNode, type Recorded } from '../support/otel-node.js';
import { named, observations, type SpanRecord, total } from '../support/otel-sdk.js';

const redisUrl = inject('redisUrl');
let fleet: Node[] = [];

afterEach(async () => {
  await Promise.all(fleet.map((node) => node.close()));
  fleet = [];
});

describe('herdcache/otel and herdcache/prometheus across a fleet of 3 processes on one Redis', () => {
  it('a cold-key stampede: one load span fleet-wide, follower wait spans elsewhere, exact metrics', async () => {
    const prefix = `test:obs:${randomUUID()}:`;
    fleet = [new ObservedNode(), new ObservedNode(), new ObservedNode()];
    await Promise.all(fleet.map((node) => node.init(redisUrl, prefix)));
    const [leader, ...followers] = fleet as [Node, Node, Node];
    const callers = 4;

    // The leader's loader is gated: the followers start while it holds the lease, and wait for its notice.
    const leading = leader.run('cold', callers, true);
    await leader.next('loaderStart');
    const waits = followers.map((node) => node.next('wait'));
    const following = followers.map((node) => node.run('cold', callers, true));
    await Promise.all(waits);
    leader.release('cold');
    const statuses = [await leading, ...(await Promise.all(following))];
    expect(statuses[0]).toEqual(Array(callers).fill('miss/load'));
    // Followers re-read the value the notice announced (no value rides it by default): a shared answer.
    for (const answer of statuses.slice(1)) expect(answer).toEqual(Array(callers).fill('hit/shared'));

    // Then every node answers from its local tier.
    for (const node of fleet) expect(await node.run('cold', 3)).toEqual(Array(3).fill('hit/local'));

    const recorded: Recorded[] = await Promise.all(fleet.map((node) => node.collect()));
    const [atLeader, ...atFollowers] = recorded as [Recorded, Recorded, Recorded];

    // Spans: exactly one load (and one commit) in the whole fleet, on the leader, inside its lookup.
    expect(recorded.flatMap((r) => named(r.spans, 'herdcache.load'))).toHaveLength(1);
    expect(recorded.flatMap((r) => named(r.spans, 'herdcache.commit'))).toHaveLength(1);
    const [load] = named(atLeader.spans, 'herdcache.load') as [SpanRecord];
    const leaderLookups = named(atLeader.spans, 'herdcache.lookup');
    expect(leaderLookups).toHaveLength(callers);
    expect(leaderLookups.map((span) => span.spanId)).toContain(load.parentSpanId);
    expect(leaderLookups.every((span) => span.attributes['herdcache.role'] === 'leader')).toBe(true);
    const [commit] = named(atLeader.spans, 'herdcache.commit') as [SpanRecord];
    expect(commit.parentSpanId).toBe(load.spanId);
    expect(commit.attributes['herdcache.stored']).toBe(true);
    expect(named(atLeader.spans, 'herdcache.wait')).toHaveLength(0);
    // Keys are hashed by default, the same way on every node.
    const hashed = load.attributes['herdcache.key'];
    expect(hashed).toMatch(/^[0-9a-f]{16}$/);

    for (const at of atFollowers) {
      const lookups = named(at.spans, 'herdcache.lookup');
      expect(lookups).toHaveLength(callers);
      expect(lookups.every((span) => span.attributes['herdcache.role'] === 'follower')).toBe(true);
      expect(lookups.every((span) => span.attributes['herdcache.key'] === hashed)).toBe(true);
      // One wait per process (its callers share one flight), woken by the leader's pushed notice.
      const [wait, ...more] = named(at.spans, 'herdcache.wait') as [SpanRecord];
      expect(more).toHaveLength(0);
      expect(lookups.map((span) => span.spanId)).toContain(wait.parentSpanId);
      expect(wait.attributes['herdcache.wake']).toBe('loaded');
      expect(wait.attributes['herdcache.wake.pushed']).toBe(true);
      const waited = wait.attributes['herdcache.wait.ms'] as number;
      expect(waited).toBeGreaterThan(0);
      expect(waited).toBeLessThanOrEqual(wait.durationMs + 1);
      expect(wait.attributes['herdcache.wake.latency_ms']).toBeGreaterThanOrEqual(0);
      expect(named(at.spans, 'herdcache.load')).toHaveLength(0);
    }

    // Metrics, the same in OpenTelemetry and in prom-client.
    const cache = { cache: prefix };
    for (const [i, at] of recorded.entries()) {
      const leads = i === 0;
      const { otel, prometheus } = at;
      const miss = leads
        ? { ...cache, status: 'miss', tier: 'load', role: 'leader' }
        : { ...cache, status: 'hit', tier: 'shared', role: 'follower' };
      const hit = { ...cache, status: 'hit', tier: 'local', role: 'hit' };
      expect(total(otel, 'herdcache.lookups', miss)).toBe(callers);
      expect(total(prometheus, 'herdcache_lookups_total', miss)).toBe(callers);
      expect(total(otel, 'herdcache.lookups', hit)).toBe(3);
      expect(total(prometheus, 'herdcache_lookups_total', hit)).toBe(3);
      expect(total(otel, 'herdcache.lookups')).toBe(callers + 3);
      expect(total(prometheus, 'herdcache_lookups_total')).toBe(callers + 3);

      const stored = { ...cache, outcome: 'stored', background: 'false' };
      expect(total(otel, 'herdcache.loads', stored)).toBe(leads ? 1 : 0);
      expect(total(prometheus, 'herdcache_loads_total', stored)).toBe(leads ? 1 : 0);
      expect(total(otel, 'herdcache.loads')).toBe(leads ? 1 : 0);
      expect(observations(otel, 'herdcache.load.duration', cache)).toBe(leads ? 1 : 0);
      expect(total(prometheus, 'herdcache_load_duration_seconds_count', cache)).toBe(leads ? 1 : 0);

      const loaded = { ...cache, wake: 'loaded' };
      expect(observations(otel, 'herdcache.wait.duration', loaded)).toBe(leads ? 0 : 1);
      expect(total(prometheus, 'herdcache_wait_duration_seconds_count', loaded)).toBe(leads ? 0 : 1);
      expect(observations(otel, 'herdcache.wait.duration')).toBe(leads ? 0 : 1);
      expect(observations(otel, 'herdcache.wake.latency', cache)).toBe(leads ? 0 : 1);
      expect(total(prometheus, 'herdcache_wake_latency_seconds_count', cache)).toBe(leads ? 0 : 1);
      if (!leads) {
        const [wait] = named(at.spans, 'herdcache.wait') as [SpanRecord];
        const seconds = (wait.attributes['herdcache.wait.ms'] as number) / 1000;
        expect(total(otel, 'herdcache.wait.duration', loaded)).toBeCloseTo(seconds, 6);
        expect(total(prometheus, 'herdcache_wait_duration_seconds_sum', loaded)).toBeCloseTo(seconds, 6);
      }

      // Every node heard the leader's one `loaded` notice on the bus.
      const notice = { ...cache, kind: 'loaded' };
      expect(total(otel, 'herdcache.bus.messages', notice)).toBe(1);
      expect(total(prometheus, 'herdcache_bus_messages_total', notice)).toBe(1);
      const bytes = total(otel, 'herdcache.bus.received', cache);
      expect(bytes).toBeGreaterThan(0);
      expect(total(prometheus, 'herdcache_bus_received_bytes_total', cache)).toBe(bytes);

      for (const name of ['herdcache.takeovers', 'herdcache.lease.losses', 'herdcache.stale.serves']) {
        expect(total(otel, name)).toBe(0);
      }
      expect(total(otel, 'herdcache.breaker.open', cache)).toBe(0);
      expect(total(prometheus, 'herdcache_breaker_open', cache)).toBe(0);
      expect(total(otel, 'herdcache.local.entries', cache)).toBe(1);
    }

    // The fleet view: callers served by a load, per load, across the fleet (what no single node can see).
    const served = recorded.reduce(
      (sum, r) =>
        sum +
        total(r.prometheus, 'herdcache_lookups_total', { role: 'leader' }) +
        total(r.prometheus, 'herdcache_lookups_total', { role: 'follower' }),
      0,
    );
    const loads = recorded.reduce((sum, r) => sum + total(r.prometheus, 'herdcache_loads_total'), 0);
    expect(served / loads).toBe(3 * callers);
  });
});
