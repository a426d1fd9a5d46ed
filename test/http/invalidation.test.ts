import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheResponses } from '../../src/http/index.js';
import type { Cache } from '../../src/index.js';
import { Harness, nextLoad, send } from './helpers.js';

let h: Harness;
beforeEach(() => {
  h = new Harness();
});
afterEach(() => h.close());

/** A small catalogue: GET reads a version that unsafe methods bump. */
function catalogue(cache: Cache) {
  const state = { version: 1, calls: 0 };
  const app = express();
  const cached = cacheResponses(cache);
  app.use(cached);
  app.get('/items/:id', (req, res) => {
    state.calls += 1;
    res
      .set('Vary', 'Accept-Language')
      .send(`${req.params.id} v${state.version} ${req.get('accept-language')}`);
  });
  app.post('/items', (_req, res) => {
    state.version += 1;
    res.status(201).location('/items/7').send('created');
  });
  app.put('/items/:id', (_req, res) => {
    state.version += 1;
    res.send('updated');
  });
  app.delete('/items/:id', (_req, res) => void res.status(409).send('conflict'));
  return { app, state };
}

async function settled(cache: Cache, url: string, headers?: Record<string, string>) {
  const loaded = nextLoad(cache);
  const reply = await send(url, { headers });
  await loaded;
  return reply;
}

describe('invalidation by unsafe methods', () => {
  it('a successful PUT voids every variant of its URL, before the client gets the response', async () => {
    const cache = await h.cache();
    const { app, state } = catalogue(cache);
    const base = await h.serve(app);
    const en = { 'accept-language': 'en' };
    const fr = { 'accept-language': 'fr' };
    await settled(cache, `${base}/items/1`, en);
    await settled(cache, `${base}/items/1`, fr);
    expect((await send(`${base}/items/1`, { headers: fr })).headers['x-cache']).toBe('HIT');

    const put = await send(`${base}/items/1`, { method: 'PUT' });
    expect(put.headers['x-cache']).toBe('BYPASS');
    const afterEn = await send(`${base}/items/1`, { headers: en });
    const afterFr = await send(`${base}/items/1`, { headers: fr });
    expect([afterEn.text, afterFr.text]).toEqual(['1 v2 en', '1 v2 fr']);
    expect([afterEn.headers['x-cache'], afterFr.headers['x-cache']]).toEqual(['MISS', 'MISS']);
    expect(state.calls).toBe(4);
  });

  it('a failed unsafe request invalidates nothing', async () => {
    const cache = await h.cache();
    const { app } = catalogue(cache);
    const base = await h.serve(app);
    await settled(cache, `${base}/items/1`);
    expect((await send(`${base}/items/1`, { method: 'DELETE' })).status).toBe(409);
    expect((await send(`${base}/items/1`)).headers['x-cache']).toBe('HIT');
  });

  it('invalidates the Location a POST answers with', async () => {
    const cache = await h.cache();
    const { app } = catalogue(cache);
    const base = await h.serve(app);
    await settled(cache, `${base}/items/7`);
    await settled(cache, `${base}/items/8`);
    expect((await send(`${base}/items`, { method: 'POST', body: '' })).status).toBe(201);
    expect((await send(`${base}/items/7`)).text).toBe('7 v2 undefined');
    expect((await send(`${base}/items/8`)).headers['x-cache']).toBe('HIT');
  });

  it('reaches every node sharing the Redis and prefix', async () => {
    // No local tier: each node reads Redis, so the test does not depend on pub/sub delivery timing.
    const cacheA = await h.cache({ local: false });
    const cacheB = await h.cache({ local: false });
    const nodeA = catalogue(cacheA);
    const nodeB = catalogue(cacheB);
    const a = await h.serve(nodeA.app);
    const b = await h.serve(nodeB.app);
    await settled(cacheA, `${a}/items/1`);
    const fromB = await send(`${b}/items/1`);
    expect(fromB.headers['x-cache']).toBe('HIT');
    expect(nodeB.state.calls).toBe(0);

    await send(`${a}/items/1`, { method: 'PUT' });
    const afterB = await send(`${b}/items/1`);
    expect(afterB.headers['x-cache']).toBe('MISS');
    expect(nodeB.state.calls).toBe(1);
  });
});
