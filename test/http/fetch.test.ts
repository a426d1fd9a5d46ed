import { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cacheFetch } from '../../src/http/fetch/index.js';
import { gate, Harness, nextLoad } from './helpers.js';

let h: Harness;
beforeEach(() => {
  h = new Harness();
});
afterEach(async () => {
  vi.useRealTimers();
  await h.close();
});

const BASE = 'http://shop.test';
const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  new Request(`${BASE}${path}`, { method, headers });

/** A body delivered in chunks, as a streaming handler would send it. */
function chunked(parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}

describe('cacheFetch: storing and serving', () => {
  it('runs a handler once for 20 concurrent requests and serves the rest from the cache', async () => {
    const cache = await h.cache();
    const release = gate();
    let calls = 0;
    const handler = cacheFetch(cache, async () => {
      calls += 1;
      await release.promise;
      return new Response(`v${calls}`, { headers: { 'cache-control': 'max-age=60' } });
    });

    const pending = Array.from({ length: 20 }, () => handler(get('/p')));
    release.open();
    const replies = await Promise.all(pending);

    expect(calls).toBe(1);
    expect(await Promise.all(replies.map((reply) => reply.text()))).toEqual(Array(20).fill('v1'));
    // Requests that joined the load answer MISS too, as with the Express middleware: none was fresh.
    expect(replies.every((reply) => reply.headers.get('x-cache') === 'MISS')).toBe(true);
    const later = await handler(get('/p'));
    expect(later.headers.get('x-cache')).toBe('HIT');
    expect(later.headers.get('age')).not.toBeNull();
    expect(later.headers.get('etag')).toMatch(/^"/);
    expect(calls).toBe(1);
  });

  it('without Redis, serves a request that comes while the first response is stored, even at start-up', async () => {
    // Used at once, before the in-process subscription is up: its coming must not cut the load in flight
    // off from the callers that follow.
    const cache = h.wallClockCache();
    let calls = 0;
    const handler = cacheFetch(cache, async () => {
      calls += 1;
      return new Response(`v${calls}`, { headers: { 'cache-control': 'max-age=60' } });
    });
    expect(await (await handler(get('/boot'))).text()).toBe('v1');
    // The first body is read whole; its copy is being stored now.
    expect(await (await handler(get('/boot'))).text()).toBe('v1');
    expect(await (await handler(get('/boot'))).text()).toBe('v1');
    expect(calls).toBe(1);
  });

  it('without Redis, a request that cannot join the load in flight gets its response, not a second run', async () => {
    // A POST elsewhere while /a's body is still coming: a caller after an invalidation does not join a load
    // that started before it, so the next request for /a waits on the in-process lease instead. The load it
    // waits for must answer it; the value is kept in this process only, never in the lease table.
    const cache = h.wallClockCache();
    const rest = gate();
    let calls = 0;
    const handler = cacheFetch(cache, async (request) => {
      if (request.method === 'POST') return new Response('done');
      calls += 1;
      const encoder = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(encoder.encode('v'));
          await rest.promise;
          controller.enqueue(encoder.encode(String(calls)));
          controller.close();
        },
      });
      return new Response(body, { headers: { 'cache-control': 'max-age=60' } });
    });
    const first = await handler(get('/a'));
    await handler(get('/other', {}, 'POST'));
    const waiting = new Promise((resolve) => cache.once('wait', resolve));
    const second = handler(get('/a'));
    await waiting;
    rest.open();
    expect(await first.text()).toBe('v1');
    expect(await (await second).text()).toBe('v1');
    expect(calls).toBe(1);
  });

  it('answers a matching If-None-Match with 304 and HEAD without a body, from the stored response', async () => {
    const cache = await h.cache();
    const handler = cacheFetch(cache, () => new Response('hello', { headers: { etag: '"a1"' } }), {
      ttl: 60_000,
    });
    const stored = nextLoad(cache);
    await (await handler(get('/e'))).text();
    await stored;

    const conditional = await handler(get('/e', { 'if-none-match': '"a1"' }));
    expect(conditional.status).toBe(304);
    expect(await conditional.text()).toBe('');
    const head = await handler(get('/e', {}, 'HEAD'));
    expect(head.headers.get('x-cache')).toBe('HIT');
    expect(head.headers.get('content-length')).toBe('5');
    const ranged = await handler(get('/e', { range: 'bytes=1-2' }));
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe('el');
  });

  it('stores a streamed body that ends within maxBodySize', async () => {
    const cache = await h.cache();
    let calls = 0;
    const handler = cacheFetch(
      cache,
      () => {
        calls += 1;
        return new Response(chunked(['ab', 'cd', 'ef']));
      },
      { ttl: 60_000, maxBodySize: 6 },
    );
    const stored = nextLoad(cache);
    expect(await (await handler(get('/s'))).text()).toBe('abcdef');
    expect(await stored).toMatchObject({ stored: true });
    const hit = await handler(get('/s'));
    expect(await hit.text()).toBe('abcdef');
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(calls).toBe(1);
  });

  it('streams a body over maxBodySize whole to its client and stores nothing', async () => {
    const cache = await h.cache();
    let calls = 0;
    const handler = cacheFetch(
      cache,
      () => {
        calls += 1;
        return new Response(chunked(['abcd', 'efgh', 'ij']));
      },
      { ttl: 60_000, maxBodySize: 6, hitForMiss: 0 },
    );
    expect(await (await handler(get('/big'))).text()).toBe('abcdefghij');
    const again = await handler(get('/big'));
    expect(await again.text()).toBe('abcdefghij');
    expect(again.headers.get('x-cache')).toBe('MISS');
    expect(calls).toBe(2);
  });

  it('never stores Set-Cookie: each request gets its own cookie', async () => {
    const cache = await h.cache();
    let calls = 0;
    const handler = cacheFetch(
      cache,
      (request) => {
        calls += 1;
        return new Response('welcome', { headers: { 'set-cookie': `id=${request.headers.get('x-id')}` } });
      },
      { ttl: 60_000 },
    );
    const first = await handler(get('/login', { 'x-id': 'a' }));
    const second = await handler(get('/login', { 'x-id': 'b' }));
    expect(first.headers.getSetCookie()).toEqual(['id=a']);
    expect(second.headers.getSetCookie()).toEqual(['id=b']);
    expect(second.headers.get('x-cache')).toBe('MISS');
    expect(calls).toBe(2);
  });

  it('lets Authorization bypass unless userKey names the user, and then keeps users apart', async () => {
    const cache = await h.cache();
    const route = (request: Request) => new Response(`for ${request.headers.get('authorization')}`);
    const plain = cacheFetch(cache, route, { ttl: 60_000 });
    const bypassed = await plain(get('/me', { authorization: 'alice' }));
    expect(bypassed.headers.get('x-cache')).toBe('BYPASS');

    const keyed = cacheFetch(cache, route, {
      ttl: 60_000,
      namespace: 'keyed',
      userKey: (request) => request.headers.get('authorization') ?? undefined,
    });
    const stored = nextLoad(cache);
    await (await keyed(get('/me', { authorization: 'alice' }))).text();
    await stored;
    const bob = await keyed(get('/me', { authorization: 'bob' }));
    expect(await bob.text()).toBe('for bob');
    expect(bob.headers.get('x-cache')).toBe('MISS');
    const alice = await keyed(get('/me', { authorization: 'alice' }));
    expect(await alice.text()).toBe('for alice');
    expect(alice.headers.get('x-cache')).toBe('HIT');
  });

  it('keeps Vary variants apart', async () => {
    const cache = await h.cache();
    const handler = cacheFetch(
      cache,
      (request) =>
        new Response(`lang ${request.headers.get('accept-language')}`, {
          headers: { vary: 'Accept-Language' },
        }),
      { ttl: 60_000 },
    );
    for (const lang of ['en', 'fr']) {
      const stored = nextLoad(cache);
      expect(await (await handler(get('/v', { 'accept-language': lang }))).text()).toBe(`lang ${lang}`);
      await stored;
    }
    const fr = await handler(get('/v', { 'accept-language': 'fr' }));
    expect(await fr.text()).toBe('lang fr');
    expect(fr.headers.get('x-cache')).toBe('HIT');
  });
});

describe('cacheFetch: revalidation and invalidation', () => {
  it('revalidates a no-cache response with the handler: a 304 answers the client from the stored body', async () => {
    const cache = await h.cache();
    const seen: (string | null)[] = [];
    const handler = cacheFetch(cache, (request) => {
      seen.push(request.headers.get('if-none-match'));
      if (request.headers.get('if-none-match') === '"v1"') {
        return new Response(null, { status: 304, headers: { etag: '"v1"', 'cache-control': 'no-cache' } });
      }
      return new Response('body v1', { headers: { etag: '"v1"', 'cache-control': 'no-cache' } });
    });
    const stored = nextLoad(cache);
    await (await handler(get('/r'))).text();
    await stored;
    const revalidated = await handler(get('/r'));
    expect(revalidated.status).toBe(200);
    expect(revalidated.headers.get('x-cache')).toBe('REVALIDATED');
    expect(await revalidated.text()).toBe('body v1');
    expect(seen).toEqual([null, '"v1"']);
  });

  it('serves stale within stale-while-revalidate and refreshes in the background', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2030-01-01T00:00:00Z') });
    const cache = h.wallClockCache();
    let version = 0;
    const handler = cacheFetch(cache, () => {
      version += 1;
      return new Response(`v${version}`, {
        headers: { 'cache-control': 'max-age=10, stale-while-revalidate=60' },
      });
    });
    // The joiner's answer comes once the load has settled, so the stale lookup below may start a refresh.
    const [first, joined] = await Promise.all([handler(get('/swr')), handler(get('/swr'))]);
    expect([await first.text(), await joined.text()]).toEqual(['v1', 'v1']);
    vi.setSystemTime(Date.parse('2030-01-01T00:00:11Z'));
    const refreshed = nextLoad(cache);
    const stale = await handler(get('/swr'));
    expect(stale.headers.get('x-cache')).toBe('STALE');
    expect(await stale.text()).toBe('v1');
    expect(await refreshed).toMatchObject({ background: true, stored: true });
    expect(await (await handler(get('/swr'))).text()).toBe('v2');
  });

  it('invalidates the path on a successful POST', async () => {
    const cache = await h.cache();
    let version = 0;
    const handler = cacheFetch(
      cache,
      (request) => {
        if (request.method === 'POST') return new Response(null, { status: 204 });
        version += 1;
        return new Response(`v${version}`);
      },
      { ttl: 60_000 },
    );
    const stored = nextLoad(cache);
    await (await handler(get('/item'))).text();
    await stored;
    const post = await handler(get('/item', {}, 'POST'));
    expect(post.headers.get('x-cache')).toBe('BYPASS');
    const after = await handler(get('/item'));
    expect(await after.text()).toBe('v2');
    expect(after.headers.get('x-cache')).toBe('MISS');
  });

  it('lets a nested wrapper through what the outer one serves: the handler runs once', async () => {
    const cache = await h.cache();
    let calls = 0;
    const inner = cacheFetch(
      cache,
      () => {
        calls += 1;
        return new Response('once');
      },
      { ttl: 60_000 },
    );
    const outer = cacheFetch(cache, inner, { ttl: 60_000 });
    const reply = await outer(get('/n'));
    expect(await reply.text()).toBe('once');
    expect(reply.headers.get('x-cache')).toBe('MISS');
    expect(calls).toBe(1);
  });

  it('hands a handler error to the caller', async () => {
    const cache = await h.cache();
    const handler = cacheFetch(cache, () => {
      throw new Error('boom');
    });
    await expect(handler(get('/x'))).rejects.toThrow('boom');
  });
});

describe('cacheFetch with Hono', () => {
  it('caches app.fetch: one handler run for concurrent requests, hits after, invalidation by POST', async () => {
    const cache = await h.cache();
    const app = new Hono();
    const release = gate();
    let calls = 0;
    app.get('/items/:id', async (c) => {
      calls += 1;
      await release.promise;
      c.header('cache-control', 'max-age=60');
      return c.json({ id: c.req.param('id'), calls });
    });
    app.post('/items/:id', (c) => c.body(null, 204));
    const handler = cacheFetch(cache, app.fetch);

    const stored = nextLoad(cache);
    const pending = Array.from({ length: 10 }, () => handler(get('/items/7')));
    release.open();
    const bodies = await Promise.all((await Promise.all(pending)).map((reply) => reply.json()));
    await stored;
    expect(calls).toBe(1);
    expect(bodies).toEqual(Array(10).fill({ id: '7', calls: 1 }));
    const hit = await handler(get('/items/7'));
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.headers.get('content-type')).toMatch(/json/);

    expect((await handler(get('/items/7', {}, 'POST'))).status).toBe(204);
    const after = await handler(get('/items/7'));
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(await after.json()).toEqual({ id: '7', calls: 2 });
  });
});
