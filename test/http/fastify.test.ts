import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fastifyCache } from '../../src/http/fastify/index.js';
import { gate, Harness, nextLoad, send } from './helpers.js';

let h: Harness;
const apps: FastifyInstance[] = [];
beforeEach(() => {
  h = new Harness();
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await h.close();
});

async function listen(app: FastifyInstance): Promise<string> {
  apps.push(app);
  return app.listen({ port: 0, host: '127.0.0.1' });
}

describe('fastifyCache', () => {
  it('runs a route once for 20 concurrent requests (global registration) and serves hits after', async () => {
    const cache = await h.cache();
    const app = Fastify();
    await app.register(fastifyCache(cache, { ttl: 60_000 }).plugin);
    const release = gate();
    const arrived = gate();
    let calls = 0;
    app.get('/p', async () => {
      calls += 1;
      arrived.open();
      await release.promise;
      return { calls };
    });
    const url = `${await listen(app)}/p`;
    const stored = nextLoad(cache);
    const pending = Array.from({ length: 20 }, () => send(url));
    await arrived.promise;
    release.open();
    const replies = await Promise.all(pending);
    // The responses go out while the load is still being stored: a request before that joins the load.
    await stored;
    expect(calls).toBe(1);
    expect(new Set(replies.map((reply) => reply.text))).toEqual(new Set(['{"calls":1}']));
    const later = await send(url);
    expect(later.headers['x-cache']).toBe('HIT');
    expect(later.headers['content-type']).toMatch(/json/);
    const head = await send(url, { method: 'HEAD' });
    expect(head.headers['x-cache']).toBe('HIT');
    expect(head.headers['content-length']).toBe(String('{"calls":1}'.length));
    expect(head.text).toBe('');
    expect(calls).toBe(1);
  });

  it('calls done as its hook types declare, so hooks wrapped callback-style serve misses, hits and POSTs', async () => {
    const cache = await h.cache();
    const app = Fastify();
    const cached = fastifyCache(cache, { ttl: 60_000 });
    // Wrapped as onRequestHookHandler and onSendHookHandler allow: the wrappers rely on `done` alone.
    app.addHook('onRequest', function (request, reply, done) {
      cached.onRequest.call(this, request, reply, done);
    });
    app.addHook('onSend', function (request, reply, payload, done) {
      cached.onSend.call(this, request, reply, payload, done);
    });
    let calls = 0;
    app.get('/w', async () => {
      calls += 1;
      return { calls };
    });
    app.post('/w', async () => 'changed');
    const url = `${await listen(app)}/w`;
    const stored = nextLoad(cache);
    expect((await send(url)).headers['x-cache']).toBe('MISS');
    await stored;
    const hit = await send(url);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe('{"calls":1}');
    expect((await send(url, { method: 'POST' })).text).toBe('changed');
    expect((await send(url)).text).toBe('{"calls":2}');
  });

  it('keys by host name as Fastify resolves it, whichever hosts the requests alternate between', async () => {
    const cache = await h.cache();
    const app = Fastify({ trustProxy: true });
    await app.register(fastifyCache(cache, { ttl: 60_000 }).plugin);
    app.get('/h', async (request) => ({ host: request.hostname }));
    const url = `${await listen(app)}/h`;
    const as = (headers: Record<string, string>) => send(url, { headers });
    let stored = nextLoad(cache);
    expect((await as({ host: 'a.example:1' })).headers['x-cache']).toBe('MISS');
    await stored;
    stored = nextLoad(cache);
    expect((await as({ host: 'B.example:2' })).text).toBe('{"host":"B.example"}');
    await stored;
    const forwarded = await as({ host: 'a.example', 'x-forwarded-host': 'b.example' });
    expect([forwarded.headers['x-cache'], forwarded.text]).toEqual(['HIT', '{"host":"B.example"}']);
    const first = await as({ host: 'A.EXAMPLE:3' });
    expect([first.headers['x-cache'], first.text]).toEqual(['HIT', '{"host":"a.example"}']);
  });

  it('route-level: never stores Set-Cookie, and lets Authorization bypass', async () => {
    const cache = await h.cache();
    const app = Fastify();
    const cached = fastifyCache(cache, { ttl: 60_000, hitForMiss: 0 });
    const hooks = { onRequest: cached.onRequest, onSend: cached.onSend };
    let calls = 0;
    app.get('/login', hooks, async (request, reply) => {
      calls += 1;
      reply.header('set-cookie', `id=${request.headers['x-id']}`);
      return 'welcome';
    });
    app.get('/me', hooks, async (request) => `for ${request.headers.authorization}`);
    const base = await listen(app);
    const a = await send(`${base}/login`, { headers: { 'x-id': 'a' } });
    const b = await send(`${base}/login`, { headers: { 'x-id': 'b' } });
    expect(a.headers['set-cookie']).toEqual(['id=a']);
    expect(b.headers['set-cookie']).toEqual(['id=b']);
    expect(calls).toBe(2);
    const me = await send(`${base}/me`, { headers: { authorization: 'alice' } });
    expect(me.headers['x-cache']).toBe('BYPASS');
  });

  it('answers 304 to a matching If-None-Match from the store, and revalidates no-cache with the route', async () => {
    const cache = await h.cache();
    const app = Fastify();
    await app.register(fastifyCache(cache).plugin);
    const seen: (string | undefined)[] = [];
    app.get('/r', async (request, reply) => {
      const asked = request.headers['if-none-match'];
      seen.push(typeof asked === 'string' ? asked : undefined);
      reply.header('etag', '"v1"').header('cache-control', 'no-cache');
      if (asked === '"v1"') return reply.code(304).send();
      return 'body v1';
    });
    const url = `${await listen(app)}/r`;
    const stored = nextLoad(cache);
    await send(url);
    await stored;
    const revalidated = await send(url);
    expect(revalidated.status).toBe(200);
    expect(revalidated.text).toBe('body v1');
    expect(revalidated.headers['x-cache']).toBe('REVALIDATED');
    expect(seen).toEqual([undefined, '"v1"']);
    const conditional = await send(url, { headers: { 'if-none-match': '"v1"' } });
    expect(conditional.status).toBe(304);
  });

  it('keeps streams and bodies over maxBodySize out of the cache', async () => {
    const cache = await h.cache();
    const app = Fastify();
    await app.register(fastifyCache(cache, { ttl: 60_000, maxBodySize: 4, hitForMiss: 0 }).plugin);
    let calls = 0;
    app.get('/big', async () => {
      calls += 1;
      return 'longer than four';
    });
    const url = `${await listen(app)}/big`;
    expect((await send(url)).text).toBe('longer than four');
    const again = await send(url);
    expect(again.text).toBe('longer than four');
    expect(again.headers['x-cache']).toBe('MISS');
    expect(calls).toBe(2);
  });

  it('invalidates the path on a successful POST', async () => {
    const cache = await h.cache();
    const app = Fastify();
    await app.register(fastifyCache(cache, { ttl: 60_000 }).plugin);
    let version = 0;
    app.get('/item', async () => `v${++version}`);
    app.post('/item', async (_request, reply) => reply.code(204).send());
    const url = `${await listen(app)}/item`;
    const stored = nextLoad(cache);
    await send(url);
    await stored;
    expect((await send(url)).headers['x-cache']).toBe('HIT');
    const post = await send(url, { method: 'POST' });
    expect(post.headers['x-cache']).toBe('BYPASS');
    const after = await send(url);
    expect(after.text).toBe('v2');
    expect(after.headers['x-cache']).toBe('MISS');
  });

  it('refreshes a stale entry in the background through an injected copy of the request', async () => {
    const cache = await h.cache();
    const app = Fastify();
    await app.register(fastifyCache(cache).plugin);
    let version = 0;
    app.get('/swr', async (_request, reply) => {
      version += 1;
      reply.header('cache-control', 'max-age=0, stale-while-revalidate=60');
      return `v${version}`;
    });
    const url = `${await listen(app)}/swr`;
    const stored = nextLoad(cache);
    await send(url);
    await stored;
    const refreshed = nextLoad(cache);
    const stale = await send(url);
    expect(stale.headers['x-cache']).toBe('STALE');
    expect(stale.text).toBe('v1');
    expect(await refreshed).toMatchObject({ background: true, stored: true });
    expect((await send(url)).text).toBe('v2');
  });
});
