import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Cache } from '../../src/cache.js';
import type { CachePort } from '../../src/http/core/engine.js';
import { cacheResponses } from '../../src/http/index.js';
import { appCountingArrivals, countdown, gate, Harness, nextLoad, send } from './helpers.js';

let h: Harness;
beforeEach(() => {
  h = new Harness();
});
afterEach(() => h.close());

describe('coalescing in one process', () => {
  it('without Redis, a request that cannot join the load in flight gets its response, not a second run', async () => {
    // As with cacheFetch: a POST elsewhere while /a's body is still going out keeps the next request for /a
    // from joining that load; it waits on the in-process lease, and the load it waits for answers it.
    const cache = h.wallClockCache();
    const app = express();
    app.use(cacheResponses(cache));
    const started = gate();
    const rest = gate();
    let calls = 0;
    app.post('/other', (_req, res) => {
      res.send('done');
    });
    app.get('/a', async (_req, res) => {
      calls += 1;
      res.set('cache-control', 'max-age=60');
      res.write('v');
      started.open();
      await rest.promise;
      res.end(String(calls));
    });
    const base = await h.serve(app);
    const first = send(`${base}/a`);
    await started.promise;
    await send(`${base}/other`, { method: 'POST' });
    const waiting = new Promise((resolve) => cache.once('wait', resolve));
    const second = send(`${base}/a`);
    await waiting;
    rest.open();
    expect((await first).text).toBe('v1');
    expect((await second).text).toBe('v1');
    expect(calls).toBe(1);
  });

  it('gives each of 20 coalesced requests only its own cookie, and stores nothing', async () => {
    const cache = await h.cache();
    const { app, arrived } = appCountingArrivals(20);
    const release = gate();
    let calls = 0;
    app.get('/login', cacheResponses(cache), async (req, res) => {
      calls += 1;
      if (calls === 1) await release.promise;
      res.cookie('id', req.get('x-id')).send('welcome');
    });
    const url = `${await h.serve(app)}/login`;

    const pending = Array.from({ length: 20 }, (_, i) => send(url, { headers: { 'x-id': `user${i}` } }));
    // The cache middleware joins the lookup synchronously, so every request now waits on the first one.
    await arrived.reached;
    release.open();
    const replies = await Promise.all(pending);

    replies.forEach((reply, i) => {
      expect(reply.headers['set-cookie']).toEqual([`id=user${i}; Path=/`]);
      expect(reply.headers['x-cache']).toBe('MISS');
    });
    expect(calls).toBe(20);
    const later = await send(url, { headers: { 'x-id': 'later' } });
    expect(later.headers['set-cookie']).toEqual(['id=later; Path=/']);
    expect(calls).toBe(21);
  });

  it('releases the waiters of an uncacheable response to run the route side by side (hit-for-miss)', async () => {
    const cache = await h.cache();
    const { app, arrived } = appCountingArrivals(10);
    const release = gate();
    const waitersInside = countdown(9);
    let calls = 0;
    app.get('/mine', cacheResponses(cache), async (_req, res) => {
      calls += 1;
      if (calls === 1) await release.promise;
      else {
        // Only reached if all nine waiters are inside the route at once: none queues behind another.
        waitersInside.hit();
        await waitersInside.reached;
      }
      res.set('Cache-Control', 'private').send('yours');
    });
    const url = `${await h.serve(app)}/mine`;

    const pending = Array.from({ length: 10 }, () => send(url));
    await arrived.reached;
    release.open();
    const replies = await Promise.all(pending);
    expect(replies.map((reply) => reply.headers['x-cache'])).toEqual(Array(10).fill('MISS'));
    expect(calls).toBe(10);
  }, 10_000);

  it('lets later misses of an uncacheable key run at once instead of waiting for a running one', async () => {
    const cache = await h.cache();
    let concurrent: ReturnType<typeof countdown> | undefined;
    let calls = 0;
    const app = express();
    app.get('/mine', cacheResponses(cache, { hitForMiss: 60_000 }), async (_req, res) => {
      calls += 1;
      if (concurrent) {
        concurrent.hit();
        await concurrent.reached;
      }
      res.set('Cache-Control', 'no-store').send('yours');
    });
    const url = `${await h.serve(app)}/mine`;
    const marked = nextLoad(cache);
    await send(url);
    await marked;

    // Both must be inside the route together: a coalesced second request would wait for the first forever.
    concurrent = countdown(2);
    const replies = await Promise.all([send(url), send(url)]);
    expect(replies.map((reply) => reply.text)).toEqual(['yours', 'yours']);
    expect(calls).toBe(3);
  }, 10_000);

  it('coalesces again once a hit-for-miss window is off (hitForMiss: 0)', async () => {
    const cache = await h.cache();
    const { app, arrived } = appCountingArrivals(5);
    const release = gate();
    let calls = 0;
    app.get('/mine', cacheResponses(cache, { hitForMiss: 0 }), async (_req, res) => {
      calls += 1;
      if (calls === 1) await release.promise;
      res.set('Cache-Control', 'private').send('yours');
    });
    const url = `${await h.serve(app)}/mine`;
    const pending = Array.from({ length: 5 }, () => send(url));
    await arrived.reached;
    release.open();
    await Promise.all(pending);
    expect(calls).toBe(5);
    // Nothing was stored, not even a marker: the next miss leads again.
    await send(url);
    expect(calls).toBe(6);
  });
});

describe('an answer that arrives after its freshness ended', () => {
  // In a fleet, Redis judges an entry fresh and the reply reaches this node late (a busy process, a slow
  // network): by this node's clock the hit is then older than the response's lifetime. Every request in
  // that state used to run the route side by side; a bench run under load saw 51 route calls in one ttl
  // window. The stand-in cache answers the first hit after the warm-up as such a late one.
  const cases: {
    label: string;
    request: string;
    headers: Record<string, string>;
    status: number;
    text: string;
  }[] = [
    { label: 'GET', request: 'GET', headers: {}, status: 200, text: 'value' },
    { label: 'HEAD', request: 'HEAD', headers: {}, status: 200, text: '' },
    { label: 'a GET with Range', request: 'GET', headers: { range: 'bytes=0-1' }, status: 206, text: 'va' },
  ];
  it.each(cases)('asks the cache again instead of running the route: $label', async (c) => {
    const real = h.wallClockCache();
    let lateHits = 0;
    const late: CachePort = {
      get: (key) => real.get(key),
      invalidateTag: (tag) => real.invalidateTag(tag),
      lookup: async (key, loader, options) => {
        const found = await real.lookup(key, loader, options);
        if (found.status !== 'hit' || lateHits === 0) return found;
        lateHits -= 1;
        return { ...found, age: 1_004 };
      },
    };
    const app = express();
    let calls = 0;
    app.get('/a', cacheResponses(late as Cache, { ttl: 1_000 }), (_req, res) => {
      calls += 1;
      res.send('value');
    });
    const base = await h.serve(app);
    const loaded = nextLoad(real);
    expect((await send(`${base}/a`)).headers['x-cache']).toBe('MISS');
    await loaded;
    lateHits = 1;
    const reply = await send(`${base}/a`, { method: c.request, headers: c.headers });
    expect(lateHits).toBe(0);
    expect(reply.headers['x-cache']).toBe('HIT');
    expect(reply.status).toBe(c.status);
    expect(reply.text).toBe(c.text);
    expect(calls).toBe(1);
  });
});
