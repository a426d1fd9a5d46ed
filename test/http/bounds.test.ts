import { createHash } from 'node:crypto';
import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheResponses } from '../../src/http/index.js';
import { gate, Harness, nextLoad, send, sendAndAbort } from './helpers.js';

let h: Harness;
beforeEach(() => {
  h = new Harness();
});
afterEach(() => h.close());

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('what is never stored', () => {
  it('delivers a 5 MB streamed response whole and does not store it', async () => {
    const cache = await h.cache();
    const chunk = Buffer.alloc(64 * 1024);
    const body = Buffer.concat(
      Array.from({ length: 80 }, (_, i) => {
        chunk.fill(i);
        return Buffer.from(chunk);
      }),
    );
    let calls = 0;
    const app = express();
    app.get('/big', cacheResponses(cache), async (_req, res) => {
      calls += 1;
      res.type('application/octet-stream');
      // Chunked, no Content-Length: the size is only learnt while streaming.
      for (let offset = 0; offset < body.length; offset += chunk.length) {
        if (!res.write(body.subarray(offset, offset + chunk.length))) {
          await new Promise((resolve) => res.once('drain', resolve));
        }
      }
      res.end();
    });
    const url = `${await h.serve(app)}/big`;
    const loaded = nextLoad(cache);
    const first = await send(url);
    await loaded;
    expect(first.body.length).toBe(5 * 1024 * 1024);
    expect(sha(first.body)).toBe(sha(body));
    const second = await send(url);
    expect(sha(second.body)).toBe(sha(body));
    expect(second.headers['x-cache']).toBe('MISS');
    expect(calls).toBe(2);
  });

  it('stores a body up to maxBodySize and not one byte more', async () => {
    const cache = await h.cache();
    let calls = 0;
    const app = express();
    app.get('/sized/:n', cacheResponses(cache, { maxBodySize: 1000 }), (req, res) => {
      calls += 1;
      res.send(Buffer.alloc(Number(req.params.n), 1));
    });
    const base = await h.serve(app);
    for (const n of [1000, 1001]) {
      const loaded = nextLoad(cache);
      await send(`${base}/sized/${n}`);
      await loaded;
    }
    expect((await send(`${base}/sized/1000`)).headers['x-cache']).toBe('HIT');
    expect((await send(`${base}/sized/1001`)).headers['x-cache']).toBe('MISS');
    expect(calls).toBe(3);
  });

  it('never stores a Server-Sent Events stream', async () => {
    const cache = await h.cache();
    let calls = 0;
    const app = express();
    app.get('/events', cacheResponses(cache), (_req, res) => {
      calls += 1;
      res.set('Content-Type', 'text/event-stream').set('Cache-Control', 'max-age=60');
      res.write('data: one\n\n');
      res.end('data: two\n\n');
    });
    const url = `${await h.serve(app)}/events`;
    const loaded = nextLoad(cache);
    const first = await send(url);
    await loaded;
    expect(first.text).toBe('data: one\n\ndata: two\n\n');
    expect((await send(url)).headers['x-cache']).toBe('MISS');
    expect(calls).toBe(2);
  });

  it('never stores a response that flushed its headers early (a stream)', async () => {
    const cache = await h.cache();
    let calls = 0;
    const app = express();
    app.get('/stream', cacheResponses(cache), (_req, res) => {
      calls += 1;
      res.flushHeaders();
      res.end('tick');
    });
    const url = `${await h.serve(app)}/stream`;
    const loaded = nextLoad(cache);
    expect((await send(url)).text).toBe('tick');
    await loaded;
    expect((await send(url)).headers['x-cache']).toBe('MISS');
    expect(calls).toBe(2);
  });

  it('stores nothing when the client aborts mid-response', async () => {
    const cache = await h.cache();
    const closed = gate();
    const finishWriting = gate();
    let calls = 0;
    const app = express();
    app.get('/partial', cacheResponses(cache), async (_req, res) => {
      calls += 1;
      if (calls === 1) {
        res.on('close', () => closed.open());
        res.write('first half, ');
        await finishWriting.promise;
      }
      res.end('second half');
    });
    const url = `${await h.serve(app)}/partial`;
    const failed = new Promise((resolve) => cache.once('loadError', resolve));
    await sendAndAbort(url);
    await closed.promise;
    finishWriting.open();
    expect(await failed).toMatchObject({ error: { code: 'HERDCACHE_RESPONSE_ABORTED' } });

    const next = await send(url);
    expect(next.text).toBe('second half');
    expect(next.headers['x-cache']).toBe('MISS');
    expect(calls).toBe(2);
  });
});
