import express, { type RequestHandler } from 'express';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cacheResponses } from '../../src/http/index.js';
import type { Cache } from '../../src/index.js';
import { Harness, nextLoad, send } from './helpers.js';

let h: Harness;
beforeEach(() => {
  h = new Harness();
});
afterEach(async () => {
  vi.useRealTimers();
  await h.close();
});

let routes = 0;

/**
 * An app with one cached route whose handler counts its calls. Each route gets its own path: the key holds
 * the host but not the port, so apps of one test (one prefix) on the same path would share entries.
 */
async function route(
  handler: RequestHandler,
  options: Parameters<typeof cacheResponses>[1] = {},
  makeCache: () => Promise<Cache> | Cache = () => h.cache(),
) {
  const cache = await makeCache();
  const app = express();
  routes += 1;
  const path = `/r${routes}`;
  let calls = 0;
  app.get(
    path,
    cacheResponses(cache, options),
    (_req, _res, next) => {
      calls += 1;
      next();
    },
    handler,
  );
  const url = `${await h.serve(app)}${path}`;
  /** A request whose load, if it starts one, has finished by the time this resolves. */
  const settled = async (options?: Parameters<typeof send>[1]) => {
    const loaded = nextLoad(cache);
    const reply = await send(url, options);
    await loaded;
    return reply;
  };
  return { url, calls: () => calls, cache, settled };
}

describe('what is stored', () => {
  it('stores a plain 200 and replays it with HIT', async () => {
    const r = await route((_req, res) => {
      res.send(`made ${Date.now()}`);
    });
    const first = await r.settled();
    const second = await send(r.url);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.text).toBe(first.text);
    expect(r.calls()).toBe(1);
  });

  const refused: [string, RequestHandler][] = [
    ['Cache-Control: private', (_req, res) => void res.set('Cache-Control', 'private, max-age=60').send('x')],
    ['Cache-Control: no-store', (_req, res) => void res.set('Cache-Control', 'no-store').send('x')],
    // Directive names are case-insensitive (RFC 9111 §5.2): issue 11's security finding.
    [
      'Cache-Control: No-Store',
      (_req, res) => void res.set('Cache-Control', 'No-Store, max-age=60').send('x'),
    ],
    ['Cache-Control: NO-STORE', (_req, res) => void res.set('Cache-Control', 'NO-STORE').send('x')],
    ['Cache-Control: Private', (_req, res) => void res.set('Cache-Control', 'Private, max-age=60').send('x')],
    // An invalid Expires means already expired (RFC 9111 §5.3), however far ahead a lenient parser reads it.
    ['Set-Cookie', (_req, res) => void res.cookie('session', 'abc').send('x')],
    [
      'Set-Cookie with public',
      (_req, res) => void res.set('Cache-Control', 'public, max-age=60').cookie('s', '1').send('x'),
    ],
    ['Vary: *', (_req, res) => void res.set('Vary', '*').send('x')],
    ['a 500', (_req, res) => void res.status(500).send('x')],
    ['a 404 (not in statuses)', (_req, res) => void res.status(404).send('x')],
  ];
  for (const [name, handler] of refused) {
    it(`does not store a response with ${name}`, async () => {
      const r = await route(handler);
      const first = await r.settled();
      const second = await send(r.url);
      expect(r.calls()).toBe(2);
      expect(first.headers['x-cache']).toBe('MISS');
      expect(second.headers['x-cache']).toBe('MISS');
    });
  }

  // Stale on arrival (no-cache, max-age=0, an expired or invalid Expires): kept with the route's ETag so the
  // next request revalidates it (RFC 9111 §4.3), never served without asking the route.
  const revalidatedEveryTime: [string, RequestHandler][] = [
    ['Cache-Control: no-cache', (_req, res) => void res.set('Cache-Control', 'no-cache').send('x')],
    [
      'Cache-Control: No-Cache',
      (_req, res) => void res.set('Cache-Control', 'No-Cache, max-age=60').send('x'),
    ],
    ['max-age=0', (_req, res) => void res.set('Cache-Control', 'max-age=0').send('x')],
    [
      'Expires with a one-digit hour',
      (_req, res) => void res.set('Expires', 'Sun, 06 Nov 2040 8:49:37 GMT').send('x'),
    ],
    [
      'Expires with dashes',
      (_req, res) => void res.set('Expires', 'Sun, 06-Nov-2040 08:49:37 GMT').send('x'),
    ],
    [
      'Expires with extra spaces',
      (_req, res) => void res.set('Expires', 'Sun,  06 Nov 2040 08:49:37 GMT').send('x'),
    ],
    [
      'Expires with no comma',
      (_req, res) => void res.set('Expires', 'Sun 06 Nov 2040 08:49:37 GMT').send('x'),
    ],
    ['Expires: 0', (_req, res) => void res.set('Expires', '0').send('x')],
  ];
  for (const [name, handler] of revalidatedEveryTime) {
    it(`never reuses a response with ${name} without asking the route`, async () => {
      const r = await route(handler);
      const first = await r.settled();
      const second = await send(r.url);
      expect(r.calls()).toBe(2);
      expect(first.headers['x-cache']).toBe('MISS');
      expect(second.headers['x-cache']).toMatch(/^(MISS|REVALIDATED)$/);
    });
  }

  it('stores a response whose future Expires is in the obsolete RFC 850 format', async () => {
    const inAnHour = new Date(Date.now() + 3_600_000);
    const [weekday = ''] = inAnHour
      .toLocaleDateString('en-US', { weekday: 'long', timeZone: 'UTC' })
      .split(',');
    const [, day, month, year, time] = inAnHour.toUTCString().split(' ') as string[];
    const rfc850 = `${weekday}, ${day}-${month}-${(year as string).slice(2)} ${time} GMT`;
    const r = await route((_req, res) => void res.set('Expires', rfc850).send('x'), { ttl: 1 });
    await r.settled();
    const second = await send(r.url);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(r.calls()).toBe(1);
  });

  it('understands a directive name in any case (MaX-AgE)', async () => {
    const r = await route((_req, res) => void res.set('Cache-Control', 'MaX-AgE=0').send('x'));
    await r.settled();
    const second = await send(r.url);
    // max-age=0: never reused without the route; a misread name would fall back to the ttl and hit.
    expect(second.headers['x-cache']).toMatch(/^(MISS|REVALIDATED)$/);
    expect(r.calls()).toBe(2);
  });

  it('stores other statuses when configured, as RFC 9111 allows', async () => {
    const r = await route((_req, res) => void res.status(404).send('gone'), { statuses: [200, 404] });
    await r.settled();
    const second = await send(r.url);
    expect(second.status).toBe(404);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(r.calls()).toBe(1);
  });

  it('lets requests with Authorization or Cookie bypass the cache', async () => {
    const r = await route((_req, res) => void res.send('secret'));
    const credentials: Record<string, string>[] = [{ authorization: 'Bearer a' }, { cookie: 'session=a' }];
    for (const headers of credentials) {
      const first = await send(r.url, { headers });
      const second = await send(r.url, { headers });
      expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['BYPASS', 'BYPASS']);
    }
    expect(r.calls()).toBe(4);
    // Nothing they produced is served to anonymous requests.
    expect((await send(r.url)).headers['x-cache']).toBe('MISS');
  });

  it('caches per user when the route opts in with userKey, never across users', async () => {
    const r = await route(
      (req, res) =>
        void res.set('Cache-Control', 'private, max-age=60').send(`for ${req.headers.authorization}`),
      { userKey: (req) => req.headers.authorization },
    );
    const a1 = await r.settled({ headers: { authorization: 'alice' } });
    const b1 = await r.settled({ headers: { authorization: 'bob' } });
    const a2 = await send(r.url, { headers: { authorization: 'alice' } });
    const b2 = await send(r.url, { headers: { authorization: 'bob' } });
    expect([a1.text, b1.text, a2.text, b2.text]).toEqual(['for alice', 'for bob', 'for alice', 'for bob']);
    expect([a2.headers['x-cache'], b2.headers['x-cache']]).toEqual(['HIT', 'HIT']);
    expect(r.calls()).toBe(2);
    // A private response stored for a user never reaches anonymous requests.
    const anonymous = await send(r.url);
    expect(anonymous.headers['x-cache']).toBe('MISS');
    expect(anonymous.text).toBe('for undefined');
  });

  it('keeps a separate variant per Accept-Encoding for a Vary: Accept-Encoding route', async () => {
    const r = await route((req, res) => {
      res.set('Vary', 'Accept-Encoding').send(`encoding=${req.headers['accept-encoding'] ?? 'none'}`);
    });
    const options = (encoding?: string) =>
      encoding === undefined ? {} : { headers: { 'accept-encoding': encoding } };
    const ask = (encoding?: string) => send(r.url, options(encoding));
    const first = [await r.settled(options('gzip')), await r.settled(options('br')), await r.settled()];
    expect(first.map((reply) => reply.text)).toEqual(['encoding=gzip', 'encoding=br', 'encoding=none']);
    const again = [await ask('br'), await ask(), await ask('gzip')];
    expect(again.map((reply) => reply.text)).toEqual(['encoding=br', 'encoding=none', 'encoding=gzip']);
    expect(again.map((reply) => reply.headers['x-cache'])).toEqual(['HIT', 'HIT', 'HIT']);
    expect(r.calls()).toBe(3);
  });

  it('uses the response freshness, and the ttl option only when the response states none', async () => {
    const fresh = await route((_req, res) => void res.set('Cache-Control', 'max-age=0').send('x'), {
      ttl: 60_000,
    });
    await fresh.settled();
    await send(fresh.url);
    expect(fresh.calls()).toBe(2);
  });

  it('passes the route Cache-Control through unchanged, on misses and hits', async () => {
    const value = 'public, max-age=60, stale-while-revalidate=30, s-maxage=120';
    const r = await route((_req, res) => void res.set('Cache-Control', value).send('x'));
    const first = await r.settled();
    const second = await send(r.url);
    expect(first.headers['cache-control']).toBe(value);
    expect(second.headers['cache-control']).toBe(value);
    expect(second.headers['x-cache']).toBe('HIT');
  });

  it('takes freshness from s-maxage over max-age, and from Expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.parse('2030-01-01T00:00:00Z');
    vi.setSystemTime(start);
    const clocked = () => h.wallClockCache();
    const shared = await route(
      (_req, res) => void res.set('Cache-Control', 'max-age=3600, s-maxage=10').send('x'),
      {},
      clocked,
    );
    const expiring = await route(
      (_req, res) => void res.set('Expires', new Date(start + 30_000).toUTCString()).send('y'),
      {},
      clocked,
    );
    const expired = await route(
      (_req, res) => void res.set('Expires', 'Thu, 01 Jan 1970 00:00:00 GMT').send('z'),
      {},
      clocked,
    );
    for (const r of [shared, expiring, expired]) await r.settled();

    vi.setSystemTime(start + 9_000);
    const at9 = await Promise.all([shared, expiring, expired].map((r) => send(r.url)));
    expect(at9.map((reply) => reply.headers['x-cache'])).toEqual(['HIT', 'HIT', 'REVALIDATED']);
    // Past its freshness the route runs again (and, with Express's ETag, answers the revalidation with 304).
    vi.setSystemTime(start + 11_000);
    expect((await send(shared.url)).headers['x-cache']).toMatch(/^(MISS|REVALIDATED)$/);
    expect((await send(expiring.url)).headers['x-cache']).toBe('HIT');
    vi.setSystemTime(start + 31_000);
    expect((await send(expiring.url)).headers['x-cache']).toMatch(/^(MISS|REVALIDATED)$/);
  });
});
