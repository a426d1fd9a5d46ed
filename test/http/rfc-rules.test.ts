import express, { type RequestHandler } from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CacheResponsesOptions, cacheResponses } from '../../src/http/index.js';
import { cachedRoute, Harness, nextLoad, send } from './helpers.js';

let h: Harness;
beforeEach(() => {
  h = new Harness();
});
afterEach(() => h.close());

function respond(headers: Record<string, string>, status = 200): RequestHandler {
  return (_req, res) => void res.status(status).set(headers).send('x');
}

async function secondIsHit(handler: RequestHandler, options: CacheResponsesOptions = {}) {
  const r = await cachedRoute(await h.cache(), (app) => h.serve(app), handler, options);
  await r.settled();
  const second = await send(r.url);
  return second.headers['x-cache'] === 'HIT' && r.calls() === 1;
}

const hourAgo = () => new Date(Date.now() - 3_600_000).toUTCString();

describe('RFC 9111 rules', () => {
  it("ttl: 'heuristic' stores by Last-Modified (10% of its age) and nothing without it", async () => {
    const options = { ttl: 'heuristic' as const };
    expect(await secondIsHit(respond({ 'Last-Modified': hourAgo() }), options)).toBe(true);
    // Express's ETag is no freshness: without Last-Modified nothing is reused.
    expect(await secondIsHit(respond({}), options)).toBe(false);
    // Only statuses RFC 9110 calls heuristically cacheable get it, whatever `statuses` allows.
    expect(
      await secondIsHit(respond({ 'Last-Modified': hourAgo() }, 302), { ...options, statuses: [302] }),
    ).toBe(false);
  });

  it('stores other statuses only with explicit freshness', async () => {
    const statuses = [200, 500];
    expect(await secondIsHit(respond({ 'Cache-Control': 'max-age=60' }, 500), { statuses })).toBe(true);
    expect(await secondIsHit(respond({}, 500), { statuses, ttl: 60_000 })).toBe(false);
  });

  it('ignores an Age that is not an integer (7200.0) instead of reading it as 2 hours', async () => {
    expect(await secondIsHit(respond({ 'Cache-Control': 'max-age=3600', Age: '7200.0' }))).toBe(true);
    expect(await secondIsHit(respond({ 'Cache-Control': 'max-age=3600', Age: '7200' }))).toBe(false);
  });

  it('uses the first of two max-age directives', async () => {
    expect(await secondIsHit(respond({ 'Cache-Control': 'max-age=3600, max-age=0' }))).toBe(true);
  });

  it('treats an invalid max-age as stale rather than falling back to the ttl option', async () => {
    expect(await secondIsHit(respond({ 'Cache-Control': 'max-age=a100' }), { ttl: 60_000 })).toBe(false);
  });

  it('stores a must-understand response despite no-store when it understands the status', async () => {
    const headers = { 'Cache-Control': 'must-understand, no-store, max-age=60' };
    expect(await secondIsHit(respond(headers))).toBe(true);
  });

  it('reads an Expires whose day, month or zone is in another letter case', async () => {
    const inAnHour = new Date(Date.now() + 3_600_000).toUTCString().toUpperCase();
    expect(await secondIsHit(respond({ Expires: inAnHour }), { ttl: 1 })).toBe(true);
  });
});

describe('invalidation by method (RFC 9111 §4.4)', () => {
  it('invalidates on success of a method whose safety is unknown (M-SEARCH), not of OPTIONS', async () => {
    const cache = await h.cache();
    const app = express();
    let calls = 0;
    app.all('/thing', cacheResponses(cache, { ttl: 60_000 }), (req, res) => {
      if (req.method === 'GET') calls += 1;
      res.send(`v${calls}`);
    });
    const url = `${await h.serve(app)}/thing`;
    const settled = async () => {
      const loaded = nextLoad(cache);
      const reply = await send(url);
      await loaded;
      return reply;
    };
    await settled();
    await send(url, { method: 'OPTIONS' });
    expect((await send(url)).headers['x-cache']).toBe('HIT');
    await send(url, { method: 'M-SEARCH' });
    expect((await settled()).text).toBe('v2');
  });
});

describe('keys', () => {
  it('keeps two apps on one cache and host apart by namespace', async () => {
    const cache = await h.cache();
    const a = await cachedRoute(cache, (app) => h.serve(app), respond({ 'X-App': 'a' }), { namespace: 'a' });
    const path = new URL(a.url).pathname;
    const appB = express();
    appB.get(
      path,
      cacheResponses(cache, { namespace: 'b' }),
      (_req, res) => void res.set('X-App', 'b').send('b'),
    );
    const b = `${await h.serve(appB)}${path}`;
    await a.settled();
    const loaded = nextLoad(cache);
    const fromB = await send(b);
    await loaded;
    expect(fromB.headers['x-app']).toBe('b');
    expect(fromB.headers['x-cache']).toBe('MISS');
    expect((await send(a.url)).headers['x-app']).toBe('a');
  });
});
