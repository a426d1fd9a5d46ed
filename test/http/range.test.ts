import type { RequestHandler } from 'express';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/cache.js';
import { systemClock } from '../../src/core/clock.js';
import { byteRange } from '../../src/http/range.js';
import { cachedRoute, Harness, send } from './helpers.js';

let h: Harness;
beforeEach(() => {
  h = new Harness();
});
afterEach(() => h.close());

const BODY = '0123456789';
/** A route that answers ranges itself (as express.static would) with X-From-Route, so tests see who answered. */
const handler: RequestHandler = (req, res) => {
  res.set('Cache-Control', 'max-age=60').set('X-From-Route', req.headers.range ?? 'whole');
  res.send(BODY);
};

describe('Range requests (RFC 9110 §14)', () => {
  it('answers one byte range from a fresh stored response with a 206, without the route', async () => {
    const r = await cachedRoute(await h.cache(), (app) => h.serve(app), handler);
    await r.settled();
    const cases: [string, string, string][] = [
      ['bytes=2-5', '2345', 'bytes 2-5/10'],
      ['bytes=7-', '789', 'bytes 7-9/10'],
      ['bytes=-3', '789', 'bytes 7-9/10'],
      ['bytes=8-100', '89', 'bytes 8-9/10'],
    ];
    for (const [range, text, contentRange] of cases) {
      const reply = await send(r.url, { headers: { range } });
      expect(reply.status, range).toBe(206);
      expect(reply.text, range).toBe(text);
      expect(reply.headers['content-range'], range).toBe(contentRange);
      expect(reply.headers['x-cache'], range).toBe('HIT');
    }
    expect(r.calls()).toBe(1);
  });

  it('leaves several ranges, an unsatisfiable one, If-Range and an empty cache to the route', async () => {
    const r = await cachedRoute(await h.cache(), (app) => h.serve(app), handler);
    const cold = await send(r.url, { headers: { range: 'bytes=0-1' } });
    expect(cold.headers['x-from-route']).toBe('bytes=0-1');
    await r.settled();
    const toRoute: Record<string, string>[] = [
      { range: 'bytes=0-1,4-5' },
      { range: 'bytes=20-' },
      { range: 'items=0-1' },
      { range: 'bytes=0-1', 'if-range': '"other"' },
    ];
    for (const headers of toRoute) {
      const reply = await send(r.url, { headers });
      expect(reply.headers['x-from-route'], JSON.stringify(headers)).toBe(headers.range);
    }
    expect(r.calls()).toBe(2 + toRoute.length);
  });
});

describe('byteRange', () => {
  it('reads one range and rejects the rest', () => {
    expect(byteRange('bytes=0-0', 10)).toEqual({ start: 0, end: 0 });
    expect(byteRange('bytes=-20', 10)).toEqual({ start: 0, end: 9 });
    for (const bad of ['bytes=-0', 'bytes=5-2', 'bytes=10-', 'bytes=a-b', 'bytes=-', undefined]) {
      expect(byteRange(bad, 10)).toBeUndefined();
    }
    expect(byteRange('bytes=0-1', 0)).toBeUndefined();
  });
});

describe('HEAD and Range answers', () => {
  it("take their Age from the cache's clock, never from this machine's Date.now()", async () => {
    let cacheNow = 1_000_000;
    const cache = new Cache(
      { earlyRefresh: false },
      {
        clock: {
          now: () => cacheNow,
          schedule: systemClock.schedule,
          afterPendingIo: systemClock.afterPendingIo,
        },
      },
    );
    try {
      const r = await cachedRoute(cache, (app) => h.serve(app), handler);
      await r.settled();
      // The cache's clock (Redis time, on a fleet) says 5 s passed; this machine's wall clock says 100 s.
      cacheNow += 5_000;
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + 100_000);
      const head = await send(r.url, { method: 'HEAD' });
      const ranged = await send(r.url, { headers: { range: 'bytes=0-1' } });
      expect([head.headers.age, ranged.headers.age]).toEqual(['5', '5']);
    } finally {
      vi.useRealTimers();
      await cache.close();
    }
  });
});
