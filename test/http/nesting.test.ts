import express from 'express';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cacheResponses } from '../../src/http/index.js';
import { Harness, nextLoad, send } from './helpers.js';

let h: Harness;
beforeEach(() => {
  h = new Harness();
});
afterEach(async () => {
  vi.useRealTimers();
  await h.close();
});

describe('several cacheResponses in one chain', () => {
  it('lets the outer one cache and the inner one pass through, without waiting on itself', async () => {
    const cache = await h.cache();
    let calls = 0;
    const app = express();
    app.use(cacheResponses(cache));
    app.get('/x', cacheResponses(cache, { ttl: 1_000 }), (_req, res) => {
      calls += 1;
      res.send('once');
    });
    const url = `${await h.serve(app)}/x`;
    const loaded = nextLoad(cache);
    expect((await send(url)).headers['x-cache']).toBe('MISS');
    await loaded;
    expect((await send(url)).headers['x-cache']).toBe('HIT');
    expect(calls).toBe(1);
  }, 5_000);

  it('revalidates through an outer instance that bypasses the request (per-user route inside)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const cache = h.wallClockCache();
    let calls = 0;
    const app = express();
    // The outer instance lets Authorization requests bypass; the route opts them in per user.
    app.use(cacheResponses(cache));
    app.get('/me', cacheResponses(cache, { userKey: (req) => req.get('authorization') }), (req, res) => {
      calls += 1;
      res
        .set('Cache-Control', 'private, max-age=1, stale-while-revalidate=60')
        .send(`${req.get('authorization')} #${calls}`);
    });
    const url = `${await h.serve(app)}/me`;
    const headers = { authorization: 'alice' };
    const loaded = nextLoad(cache);
    expect((await send(url, { headers })).text).toBe('alice #1');
    await loaded;

    vi.setSystemTime(new Date('2030-01-01T00:00:05Z'));
    const revalidated = nextLoad(cache);
    const stale = await send(url, { headers });
    expect([stale.headers['x-cache'], stale.text]).toEqual(['STALE', 'alice #1']);
    expect(await revalidated).toMatchObject({ background: true, stored: true });
    const fresh = await send(url, { headers });
    expect([fresh.headers['x-cache'], fresh.text]).toEqual(['HIT', 'alice #2']);
  });
});
