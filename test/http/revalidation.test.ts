import type { RequestHandler } from 'express';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cachedRoute, Harness, nextLoad, send } from './helpers.js';

let h: Harness;
beforeEach(() => {
  h = new Harness();
});
afterEach(async () => {
  vi.useRealTimers();
  await h.close();
});

/** What the route saw of each request the cache sent it. */
interface Seen {
  readonly ifNoneMatch: string | undefined;
  readonly ifModifiedSince: string | undefined;
}

/**
 * A route whose headers the test changes between requests; Express answers 304 itself when the request's
 * validators match (its own fresh check), as an ordinary route would.
 */
function versioned(state: { cacheControl: string; version: string; etag?: string; lastModified?: string }) {
  const seen: Seen[] = [];
  const handler: RequestHandler = (req, res) => {
    seen.push({
      ifNoneMatch: req.headers['if-none-match'],
      ifModifiedSince: req.headers['if-modified-since'],
    });
    res.set('Cache-Control', state.cacheControl).set('X-Version', state.version);
    if (state.etag !== undefined) res.set('ETag', state.etag);
    if (state.lastModified !== undefined) res.set('Last-Modified', state.lastModified);
    res.send('the body');
  };
  return { seen, handler };
}

describe('conditional revalidation with the route', () => {
  it('sends the stored ETag, and on 304 answers from the stored body with the 304 fields, then stores them', async () => {
    const state = { cacheControl: 'max-age=0', version: '1', etag: '"v1"' };
    const route = versioned(state);
    const cache = await h.cache();
    const r = await cachedRoute(cache, (app) => h.serve(app), route.handler);
    const first = await r.settled();
    expect(first.headers['x-cache']).toBe('MISS');

    state.cacheControl = 'max-age=60';
    state.version = '2';
    const second = await r.settled();
    expect(route.seen[1]).toEqual({ ifNoneMatch: '"v1"', ifModifiedSince: undefined });
    expect(second.status).toBe(200);
    expect(second.text).toBe('the body');
    expect(second.headers['x-cache']).toBe('REVALIDATED');
    expect(second.headers['x-version']).toBe('2');
    expect(second.headers['cache-control']).toBe('max-age=60');

    // Freshened by the 304: served without the route, with the new fields.
    const third = await send(r.url);
    expect(third.headers['x-cache']).toBe('HIT');
    expect(third.headers['x-version']).toBe('2');
    expect(r.calls()).toBe(2);
  });

  it('sends the stored Last-Modified as If-Modified-Since', async () => {
    const lastModified = 'Sun, 06 Nov 1994 08:49:37 GMT';
    const route = versioned({ cacheControl: 'no-cache', version: '1', lastModified });
    const cache = await h.cache();
    const r = await cachedRoute(cache, (app) => h.serve(app), route.handler);
    await r.settled();
    const second = await r.settled();
    expect(route.seen[1]?.ifModifiedSince).toBe(lastModified);
    expect(second.headers['x-cache']).toBe('REVALIDATED');
  });

  it('answers the client by its own conditionals after revalidating for it', async () => {
    const route = versioned({ cacheControl: 'no-cache', version: '1', etag: '"v1"' });
    const cache = await h.cache();
    const r = await cachedRoute(cache, (app) => h.serve(app), route.handler);
    await r.settled();
    const mine = await r.settled({ headers: { 'if-none-match': '"v1"' } });
    expect(mine.status).toBe(304);
    expect(mine.headers['x-cache']).toBe('REVALIDATED');
    const other = await r.settled({ headers: { 'if-none-match': '"v0"' } });
    expect(other.status).toBe(200);
    expect(other.text).toBe('the body');
    // The route never saw the clients' own validators, only the stored one.
    expect(route.seen.map((seen) => seen.ifNoneMatch)).toEqual([undefined, '"v1"', '"v1"']);
  });

  it('stores a new 200 when the route has changed', async () => {
    const state = { cacheControl: 'no-cache', version: '1', etag: '"v1"' };
    const route = versioned(state);
    const cache = await h.cache();
    const r = await cachedRoute(cache, (app) => h.serve(app), route.handler);
    await r.settled();
    state.etag = '"v2"';
    state.version = '2';
    const changed = await r.settled();
    expect(changed.headers['x-cache']).toBe('MISS');
    expect(changed.headers['x-version']).toBe('2');
    const again = await r.settled();
    expect(route.seen[2]?.ifNoneMatch).toBe('"v2"');
    expect(again.headers['x-version']).toBe('2');
  });

  for (const [cacheControl, second] of [
    ['max-age=10', 'good'],
    ['max-age=10, must-revalidate', 'broken'],
    ['max-age=10, proxy-revalidate', 'broken'],
  ] as const) {
    it(`after a failed load, ${cacheControl} ${second === 'good' ? 'is' : 'is never'} served stale`, async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.parse('2030-01-01T00:00:00Z'));
      // The operator allows stale-if-error; must-revalidate and proxy-revalidate take it back.
      const cache = h.wallClockCache({ staleIfError: 60_000 });
      let failing = false;
      const r = await cachedRoute(
        cache,
        (app) => h.serve(app),
        (_req, res) => {
          if (failing) res.status(500).send('broken');
          else res.set('Cache-Control', cacheControl).send('good');
        },
      );
      await r.settled();
      vi.setSystemTime(Date.parse('2030-01-01T00:00:11Z'));
      failing = true;
      const failed = nextLoad(cache).catch(() => undefined);
      expect((await send(r.url)).text).toBe('broken');
      await failed;
      // Within the failure backoff the cache offers its stale copy.
      expect((await send(r.url)).text).toBe(second);
    });
  }
});

describe('stale-while-revalidate and stale-if-error from the response, with and without Redis', () => {
  for (const mode of ['single process', 'Redis'] as const) {
    const cacheFor = () => (mode === 'Redis' ? h.cache() : h.wallClockCache());

    it(`${mode}: serves a response stale on arrival with stale-while-revalidate, refreshing it behind`, async () => {
      const cache = await cacheFor();
      let version = 0;
      const r = await cachedRoute(
        cache,
        (app) => h.serve(app),
        (_req, res) => {
          version += 1;
          res.set('Cache-Control', 'max-age=0, stale-while-revalidate=60').send(`v${version}`);
        },
      );
      await r.settled();
      const refreshed = nextLoad(cache);
      const stale = await send(r.url);
      expect(stale.headers['x-cache']).toBe('STALE');
      expect(stale.text).toBe('v1');
      expect(await refreshed).toMatchObject({ background: true });
      expect((await send(r.url)).text).toBe('v2');
    });

    it(`${mode}: serves the stored response when the route fails, within stale-if-error`, async () => {
      const cache = await cacheFor();
      let failing = false;
      const r = await cachedRoute(
        cache,
        (app) => h.serve(app),
        (_req, res) => {
          if (failing) res.status(503).send('down');
          else res.set('Cache-Control', 'max-age=0, stale-if-error=60').set('ETag', '"v1"').send('up');
        },
      );
      await r.settled();
      failing = true;
      const failed = nextLoad(cache).catch(() => undefined);
      expect((await send(r.url)).text).toBe('down');
      await failed;
      const during = await send(r.url);
      expect(during.text).toBe('up');
      expect(during.headers['x-cache']).toBe('STALE');
    });
  }
});
