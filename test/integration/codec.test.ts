import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { type Cache, createCache } from '../../src/index.js';

const redisUrl = inject('redisUrl');
let open: Cache[] = [];
afterEach(async () => {
  await Promise.all(open.map((cache) => cache.close()));
  open = [];
});

function node(prefix: string): Cache {
  const cache = createCache({ redis: redisUrl, prefix, heartbeatInterval: 0 });
  open.push(cache);
  return cache;
}

describe('values through Redis', () => {
  it('reach another node with the types the loader returned, from the shared tier', async () => {
    const prefix = `test:codec:${randomUUID()}:`;
    const [writer, reader] = [node(prefix), node(prefix)] as [Cache, Cache];
    await Promise.all([writer.ready(), reader.ready()]);
    const row = {
      id: 7n,
      createdAt: new Date('2026-02-03T04:05:06.007Z'),
      byLocale: new Map([['de', new Set(['a', 'b'])]]),
      thumbnail: new Uint8Array([137, 80, 78, 71]),
      scores: [1.5, undefined, Number.NaN],
    };
    const loaded = await writer.cached('row', () => row);
    const load = vi.fn(() => row);
    const read = await reader.lookup('row', load);
    expect(load).not.toHaveBeenCalled();
    expect(read.tier).toBe('shared');
    for (const value of [loaded, read.value]) {
      expect(value).toEqual(row);
      expect(value.createdAt).toBeInstanceOf(Date);
      expect(value.byLocale.get('de')).toBeInstanceOf(Set);
      expect(value.thumbnail).toBeInstanceOf(Uint8Array);
      expect(typeof value.id).toBe('bigint');
    }
  });
});
