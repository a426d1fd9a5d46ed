/**
 * cachedMany across real processes on a real Redis: one load per key across the fleet, keys led elsewhere
 * awaited, invalidation wins, and one round trip per batch for the lease question.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { Cache } from '../../src/index.js';
import * as scripts from '../../src/redis/scripts.js';
import { type FleetNode, startFleet, stopFleet } from '../support/fleet.js';

const redisUrl = inject('redisUrl');
let fleet: FleetNode[] = [];
const open: Cache[] = [];

afterEach(async () => {
  await stopFleet(fleet);
  fleet = [];
  await Promise.all(open.splice(0).map((cache) => cache.close()));
});

function prefix(): string {
  return `test:many:${randomUUID()}:`;
}

/** Which load (process and number) produced each key's value, as seen by every result. */
function producers(results: { ok: boolean; key?: string; value?: unknown }[]): Map<string, Set<string>> {
  const seen = new Map<string, Set<string>>();
  for (const result of results) {
    expect(result.ok).toBe(true);
    const value = result.value as { pid: number; n: number; key: string };
    expect(value.key).toBe(result.key);
    const set = seen.get(result.key as string) ?? new Set();
    set.add(`${value.pid}:${value.n}`);
    seen.set(result.key as string, set);
  }
  return seen;
}

describe('cachedMany on a fleet of processes sharing one Redis', () => {
  it('loads every key once for 4 processes x 10 callers asking overlapping batches', async () => {
    fleet = await startFleet(4, { redis: redisUrl, prefix: prefix(), ttl: 60_000 });
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    // Each process asks 8 of the 12 keys, in its own order: every key is wanted by several processes.
    const asks = fleet.map((_, n) => keys.filter((_, i) => (i + n) % 3 !== 0).reverse());
    const results = (
      await Promise.all(fleet.map((node, n) => node.runMany(asks[n] as string[], 10, { delay: 100 })))
    ).flat();
    expect(results).toHaveLength(4 * 10 * 8);
    for (const key of keys) {
      expect(fleet.reduce((sum, node) => sum + node.count('loaderStart', key), 0)).toBe(1);
    }
    // Every caller, on every process, got the one value loaded for each key.
    for (const loads of producers(results).values()) expect(loads.size).toBe(1);
    // Within a process the callers share one batch: at most one loadMany per process for the first round,
    // plus one for keys whose lease holder elsewhere handed them over (none here).
    for (const node of fleet) expect(node.count('batchStart')).toBeLessThanOrEqual(1);
  });

  it('stores nothing for a key invalidated in another process while the batch loads it', async () => {
    fleet = await startFleet(3, { redis: redisUrl, prefix: prefix(), ttl: 60_000 });
    const [loader, writer, reader] = fleet as [FleetNode, FleetNode, FleetNode];
    const loading = loader.runMany(['x', 'y'], 1, { gated: true });
    await loader.next('loaderStart', (r) => r.ev === 'loaderStart' && r.key === 'y');
    await writer.invalidate('x');
    loader.release('x');
    loader.release('y');
    await loading;
    const after = await reader.runMany(['x', 'y'], 5, {});
    expect(after.every((result) => result.ok)).toBe(true);
    // x was loaded again (by the reader); y was served from the batch's commit.
    expect(reader.count('loaderStart', 'x')).toBe(1);
    expect(reader.count('loaderStart', 'y')).toBe(0);
    for (const loads of producers(after).values()) expect(loads.size).toBe(1);
  });
});

describe('cachedMany round trips on a real Redis', () => {
  it('sends one lease script for the whole batch on a single Redis, and nothing when every key is local', async () => {
    const client = new Redis(redisUrl);
    const sent = countCommands(client);
    const cache = new Cache({ redis: client, prefix: prefix(), heartbeatInterval: 0 });
    open.push(cache);
    await cache.ready();
    // Loads the scripts, so that what follows is not a NOSCRIPT retry.
    await cache.cachedMany(['warm'], (asked) => asked);
    sent.length = 0;
    const keys = Array.from({ length: 20 }, (_, i) => `r${i}`);
    await cache.cachedMany(keys, (asked) => asked.map((key) => key));
    expect(sent.filter((name) => name === 'ACQUIRE_MANY')).toHaveLength(1);
    // The rest are the per-key lease-checked commits; no plain read, no single lease question.
    expect(sent.filter((name) => name !== 'ACQUIRE_MANY')).toEqual(keys.map(() => 'COMMIT'));
    sent.length = 0;
    expect(await cache.cachedMany(keys, () => [])).toEqual(keys);
    expect(sent).toEqual([]);
    await cache.close();
    await client.quit();
  });
});

/** Records the name of every command `client` sends from now on (scripts by their name in scripts.ts). */
function countCommands(client: Redis): string[] {
  const names = new Map(Object.entries(scripts).map(([name, script]) => [script.sha, name]));
  const sent: string[] = [];
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command, stream) => {
    const first = command.args[0];
    sent.push(
      command.name === 'evalsha'
        ? (names.get(String(first)) ?? 'unknown script')
        : command.name.toUpperCase(),
    );
    return send(command, stream);
  };
  return sent;
}
