import express, { type RequestHandler } from 'express';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cacheResponses } from '../../src/http/index.js';
import { createCache } from '../../src/index.js';
import { type SpawnedRedis, spawnRedis } from '../support/redis-server.js';
import { appCountingArrivals, gate, Harness, nextLoad, send, sendAndAbort } from './helpers.js';

let h: Harness;
let redis: SpawnedRedis | undefined;
beforeEach(() => {
  h = new Harness();
});
afterEach(async () => {
  vi.useRealTimers();
  redis?.resume();
  await h.close();
  await redis?.stop();
  redis = undefined;
});

describe('when Redis fails', () => {
  it('keeps serving while Redis is paused, no request waiting much past the deadline', async () => {
    redis = await spawnRedis();
    const cache = createCache({
      redis: redis.url,
      prefix: h.prefix,
      redisTimeout: 200,
      heartbeatInterval: 0,
    });
    cache.on('error', () => {});
    await cache.ready();
    let calls = 0;
    const app = express();
    app.get('/r/:id', cacheResponses(cache), (req, res) => {
      calls += 1;
      res.send(`item ${req.params.id}`);
    });
    const base = await h.serve(app);
    const loaded = nextLoad(cache);
    await send(`${base}/r/warm`);
    await loaded;

    redis.pause();
    const started = Date.now();
    const replies = await Promise.all([
      send(`${base}/r/warm`),
      ...Array.from({ length: 5 }, () => send(`${base}/r/cold`)),
    ]);
    const elapsed = Date.now() - started;
    expect(replies.map((reply) => reply.text)).toEqual(['item warm', ...Array(5).fill('item cold')]);
    expect(replies[0]?.headers['x-cache']).toBe('HIT');
    // One process still runs a cold route once: its own lease table stands in for Redis.
    expect(calls).toBe(2);
    expect(elapsed).toBeLessThan(2_000);
    redis.resume();
    await cache.close();
  });

  it('runs the route itself when the cache rejects (closed cache)', async () => {
    const cache = await h.cache();
    const app = express();
    app.get('/r', cacheResponses(cache), (_req, res) => void res.send('still here'));
    const base = await h.serve(app);
    await cache.close();
    for (const method of ['GET', 'HEAD', 'PUT']) {
      const reply = await send(`${base}/r`, { method });
      expect(reply.status).toBe(method === 'PUT' ? 404 : 200);
    }
    const reply = await send(`${base}/r`);
    expect(reply.text).toBe('still here');
    expect(reply.headers['x-cache']).toBe('MISS');
  });

  it('lets a request that waited on an aborted leader run the route itself', async () => {
    const cache = await h.cache();
    const { app, arrived } = appCountingArrivals(2);
    const leaderClosed = gate();
    let calls = 0;
    app.get('/partial', cacheResponses(cache), async (_req, res) => {
      calls += 1;
      if (calls === 1) {
        res.on('close', () => leaderClosed.open());
        res.write('never finished');
        await leaderClosed.promise;
        return;
      }
      res.send('whole');
    });
    const url = `${await h.serve(app)}/partial`;
    const aborted = sendAndAbort(url);
    await aborted;
    const follower = send(url);
    await arrived.reached;
    const reply = await follower;
    expect(reply.text).toBe('whole');
    expect(calls).toBe(2);
  });
});

describe('stale responses', () => {
  /** Mounts the cached route in one of the ways Express apps are composed. */
  function mount(kind: string, handler: RequestHandler, cache: Parameters<typeof cacheResponses>[0]) {
    const app = express();
    // A per-request header set in front of the cache, which a replay must not copy from another request.
    let requestId = 0;
    app.use((_req, res, next) => {
      requestId += 1;
      res.set('X-Request-Id', String(requestId));
      next();
    });
    const inner: express.IRouter =
      kind === 'router' ? express.Router() : kind === 'sub-app' ? express() : app;
    inner.get('/news', cacheResponses(cache), handler);
    if (inner !== app) app.use('/api', inner);
    return { app, path: inner === app ? '/news' : '/api/news' };
  }

  for (const kind of ['app', 'router', 'sub-app']) {
    it(`serves stale while one background run revalidates (route on ${kind})`, async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
      const cache = h.wallClockCache();
      let calls = 0;
      const { app, path } = mount(
        kind,
        (req, res) => {
          calls += 1;
          res.set('Cache-Control', 'max-age=1, stale-while-revalidate=60').send(`edition ${calls} ${req.ip}`);
        },
        cache,
      );
      const url = `${await h.serve(app)}${path}`;
      const loaded = nextLoad(cache);
      const first = await send(url);
      await loaded;
      expect(first.text).toBe('edition 1 127.0.0.1');

      vi.setSystemTime(new Date('2030-01-01T00:00:02Z'));
      const revalidated = nextLoad(cache);
      const stale = await send(url);
      expect(stale.headers['x-cache']).toBe('STALE');
      expect(stale.headers.age).toBe('2');
      expect(stale.text).toBe('edition 1 127.0.0.1');
      expect(stale.headers['x-request-id']).toBe('2');
      expect(await revalidated).toMatchObject({ background: true, stored: true });

      const fresh = await send(url);
      expect(fresh.headers['x-cache']).toBe('HIT');
      // The background run saw the same client address as the request that triggered it.
      expect(fresh.text).toBe('edition 2 127.0.0.1');
      expect(fresh.headers['x-request-id']).toBe('4');
      expect(calls).toBe(2);
    });
  }

  it('serves stale to waiting requests when the route fails, inside stale-if-error', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const cache = h.wallClockCache();
    const { app, arrived } = appCountingArrivals(3);
    const entered = gate();
    const release = gate();
    let calls = 0;
    app.get('/quote', cacheResponses(cache), async (_req, res) => {
      calls += 1;
      if (calls === 1) {
        res.set('Cache-Control', 'max-age=1, stale-if-error=60').send('good quote');
        return;
      }
      entered.open();
      await release.promise;
      res.status(503).send('origin down');
    });
    const url = `${await h.serve(app)}/quote`;
    const loaded = nextLoad(cache);
    await send(url);
    await loaded;

    vi.setSystemTime(new Date('2030-01-01T00:00:02Z'));
    const leader = send(url);
    await entered.promise;
    const follower = send(url);
    await arrived.reached;
    release.open();
    const [own, waited] = await Promise.all([leader, follower]);
    // The leader's client gets its own real response; the one waiting gets the stale entry.
    expect(own.status).toBe(503);
    expect(waited.status).toBe(200);
    expect(waited.text).toBe('good quote');
    expect(waited.headers['x-cache']).toBe('STALE');
  });
});
