import { randomBytes } from 'node:crypto';
import express, { type Express } from 'express';
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

/** Serves `app` and returns a GET that waits for any load it starts to be stored. */
async function serve(app: Express, cache: Cache) {
  const base = await h.serve(app);
  const settled = async (path: string, headers?: Record<string, string>) => {
    const loaded = nextLoad(cache);
    const reply = await send(`${base}${path}`, { headers });
    await loaded;
    return reply;
  };
  return { base, settled };
}

describe('serving from the cache', () => {
  it('answers a matching If-None-Match with 304 and no body, and a stale one with the full body', async () => {
    const cache = await h.cache();
    const app = express();
    app.get('/doc', cacheResponses(cache), (_req, res) => {
      res.set('Cache-Control', 'max-age=60').send('document body');
    });
    const { base, settled } = await serve(app, cache);
    const first = await settled('/doc');
    const etag = first.headers.etag;
    expect(etag).toBeDefined();

    const revalidated = await send(`${base}/doc`, { headers: { 'if-none-match': `"other", ${etag}` } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.body.length).toBe(0);
    expect(revalidated.headers.etag).toBe(etag);
    expect(revalidated.headers['cache-control']).toBe('max-age=60');
    expect(revalidated.headers['x-cache']).toBe('HIT');

    const changed = await send(`${base}/doc`, { headers: { 'if-none-match': '"something-else"' } });
    expect(changed.status).toBe(200);
    expect(changed.text).toBe('document body');
  });

  it('answers If-Modified-Since on a fresh entry with 304 when it has not changed since (issue 11)', async () => {
    const cache = await h.cache();
    const app = express();
    const lastModified = 'Tue, 01 Dec 2026 10:00:00 GMT';
    app.get('/dated', cacheResponses(cache), (_req, res) => {
      res.set({ 'Cache-Control': 'max-age=60', 'Last-Modified': lastModified }).send('dated body');
    });
    const { base, settled } = await serve(app, cache);
    await settled('/dated');

    const same = await send(`${base}/dated`, { headers: { 'if-modified-since': lastModified } });
    expect(same.status).toBe(304);
    expect(same.body.length).toBe(0);
    expect(same.headers['last-modified']).toBe(lastModified);
    expect(same.headers['x-cache']).toBe('HIT');

    const older = await send(`${base}/dated`, {
      headers: { 'if-modified-since': 'Mon, 30 Nov 2026 10:00:00 GMT' },
    });
    expect(older.status).toBe(200);
    expect(older.text).toBe('dated body');

    // If-None-Match, when present, decides alone.
    const both = await send(`${base}/dated`, {
      headers: { 'if-modified-since': lastModified, 'if-none-match': '"something-else"' },
    });
    expect(both.status).toBe(200);
    const garbage = await send(`${base}/dated`, { headers: { 'if-modified-since': 'not a date' } });
    expect(garbage.status).toBe(200);
  });

  it('generates a strong ETag from the body when the route sends none', async () => {
    const cache = await h.cache();
    const app = express();
    app.get('/raw', cacheResponses(cache), (_req, res) => {
      res.setHeader('Content-Type', 'text/plain');
      res.end('raw body');
    });
    const { base, settled } = await serve(app, cache);
    const first = await settled('/raw');
    expect(first.headers.etag).toBeUndefined();
    const hit = await send(`${base}/raw`);
    expect(hit.headers.etag).toMatch(/^"[\w-]{27}"$/);
    const notModified = await send(`${base}/raw`, { headers: { 'if-none-match': hit.headers.etag ?? '' } });
    expect(notModified.status).toBe(304);
  });

  it('lets a leader with If-None-Match store the whole response for everyone', async () => {
    const cache = await h.cache();
    const app = express();
    app.get('/doc', cacheResponses(cache), (_req, res) => void res.send('whole'));
    const { base, settled } = await serve(app, cache);
    // Express would answer this one 304 by itself; the cache strips the condition so it stores a 200.
    const leader = await settled('/doc', { 'if-none-match': 'W/"5-fake"' });
    expect(leader.status).toBe(200);
    const hit = await send(`${base}/doc`);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe('whole');
  });

  it('reports Age in whole seconds, growing while the entry is cached', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const cache = h.wallClockCache();
    const app = express();
    app.get('/aging', cacheResponses(cache, { ttl: 60_000 }), (_req, res) => void res.send('old news'));
    const { base, settled } = await serve(app, cache);
    const first = await settled('/aging');
    expect(first.headers.age).toBeUndefined();

    vi.setSystemTime(new Date('2030-01-01T00:00:05.400Z'));
    expect((await send(`${base}/aging`)).headers.age).toBe('5');
    vi.setSystemTime(new Date('2030-01-01T00:00:42.900Z'));
    const later = await send(`${base}/aging`);
    expect(later.headers.age).toBe('42');
    expect(later.headers['x-cache']).toBe('HIT');
    // Past the ttl option (the response stated no freshness), the route runs again.
    vi.setSystemTime(new Date('2030-01-01T00:01:01Z'));
    expect((await send(`${base}/aging`)).headers['x-cache']).toMatch(/^(MISS|REVALIDATED)$/);
  });

  it('answers HEAD from the stored GET response without running the route', async () => {
    const cache = await h.cache();
    let calls = 0;
    const app = express();
    app.get('/item', cacheResponses(cache), (_req, res) => {
      calls += 1;
      res.type('text/plain').send('twelve bytes');
    });
    const { base, settled } = await serve(app, cache);
    await settled('/item');
    const head = await send(`${base}/item`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe('12');
    expect(head.headers['content-type']).toMatch(/^text\/plain/);
    expect(head.headers['x-cache']).toBe('HIT');
    expect(calls).toBe(1);
  });

  it('lets a HEAD miss run the route without storing anything', async () => {
    const cache = await h.cache();
    let calls = 0;
    const app = express();
    app.get('/item', cacheResponses(cache), (_req, res) => {
      calls += 1;
      res.send('body');
    });
    const base = await h.serve(app);
    const head = await send(`${base}/item`, { method: 'HEAD' });
    expect(head.headers['x-cache']).toBe('MISS');
    expect((await send(`${base}/item`)).headers['x-cache']).toBe('MISS');
    expect(calls).toBe(2);
  });

  it('replays binary bodies byte for byte', async () => {
    const cache = await h.cache();
    const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(4096)]);
    const app = express();
    app.get('/blob', cacheResponses(cache), (_req, res) => {
      res.type('application/octet-stream');
      res.write(bytes.subarray(0, 1000));
      res.end(bytes.subarray(1000));
    });
    const { base, settled } = await serve(app, cache);
    expect((await settled('/blob')).body.equals(bytes)).toBe(true);
    const hit = await send(`${base}/blob`);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body.equals(bytes)).toBe(true);
  });

  it('keys on the host as Express resolves it: a forged X-Forwarded-Host cannot poison the entry', async () => {
    const cache = await h.cache();
    const app = express();
    app.get('/links', cacheResponses(cache), (req, res) => void res.send(`https://${req.hostname}/next`));
    const { base, settled } = await serve(app, cache);
    await settled('/links', { 'x-forwarded-host': 'evil.example' });
    const normal = await send(`${base}/links`);
    expect(normal.text).toBe('https://127.0.0.1/next');
    expect(normal.headers['x-cache']).toBe('HIT');
  });

  it('with trust proxy on, keys each forwarded host apart', async () => {
    const cache = await h.cache();
    const app = express();
    app.set('trust proxy', true);
    app.get('/links', cacheResponses(cache), (req, res) => void res.send(`https://${req.hostname}/next`));
    const { base, settled } = await serve(app, cache);
    const proxied = await settled('/links', { 'x-forwarded-host': 'shop.example' });
    expect(proxied.text).toBe('https://shop.example/next');
    const direct = await send(`${base}/links`);
    expect(direct.text).toBe('https://127.0.0.1/next');
    expect(direct.headers['x-cache']).toBe('MISS');
  });

  it('keys the query as sent, or sorted with sortQuery', async () => {
    const cache = await h.cache();
    const app = express();
    let calls = 0;
    const handler = (_req: express.Request, res: express.Response) => {
      calls += 1;
      res.send('list');
    };
    app.get('/kept', cacheResponses(cache), handler);
    app.get('/sorted', cacheResponses(cache, { sortQuery: true }), handler);
    const { base, settled } = await serve(app, cache);
    await settled('/kept?a=1&b=2');
    // settled() waits for this miss's own load to be stored, so the next load event is the next request's.
    expect((await settled('/kept?b=2&a=1')).headers['x-cache']).toBe('MISS');
    await settled('/sorted?a=1&b=2');
    expect((await send(`${base}/sorted?b=2&a=1`)).headers['x-cache']).toBe('HIT');
    expect((await send(`${base}/sorted?a=1&b=2&c`)).headers['x-cache']).toBe('MISS');
    expect(calls).toBe(4);
  });

  it('captures headers passed to writeHead, in object and array form', async () => {
    const cache = await h.cache();
    const app = express();
    app.get('/object', cacheResponses(cache), (_req, res) => {
      res.writeHead(200, 'Fine', { 'Content-Type': 'text/plain', 'X-Shape': 'object' });
      res.end('from an object');
    });
    app.get('/pairs', cacheResponses(cache), (_req, res) => {
      res.writeHead(200, [
        ['Content-Type', 'text/plain'],
        ['Link', '</a>; rel=preload'],
        ['Link', '</b>; rel=preload'],
      ]);
      res.end('from pairs');
    });
    const { base, settled } = await serve(app, cache);
    await settled('/object');
    await settled('/pairs');
    const object = await send(`${base}/object`);
    expect([object.headers['x-cache'], object.headers['x-shape'], object.text]).toEqual([
      'HIT',
      'object',
      'from an object',
    ]);
    const pairs = await send(`${base}/pairs`);
    expect(pairs.headers['x-cache']).toBe('HIT');
    expect(pairs.headers.link).toBe('</a>; rel=preload, </b>; rel=preload');
  });

  it('answers a Range request from the stored response (more in range.test.ts)', async () => {
    const cache = await h.cache();
    const app = express();
    app.get('/file', cacheResponses(cache), (_req, res) => void res.send('0123456789'));
    const { base, settled } = await serve(app, cache);
    await settled('/file');
    const ranged = await send(`${base}/file`, { headers: { range: 'bytes=0-3' } });
    expect(ranged.status).toBe(206);
    expect(ranged.text).toBe('0123');
    expect(ranged.headers['x-cache']).toBe('HIT');
  });
});
