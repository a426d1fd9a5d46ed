import type { RequestHandler } from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheResponsesOptions } from '../../src/http/index.js';
import { cachedRoute, Harness, send } from './helpers.js';

let h: Harness;
beforeEach(() => {
  h = new Harness();
});
afterEach(() => h.close());

function respond(headers: Record<string, string>): RequestHandler {
  return (_req, res) => void res.set(headers).send('x');
}

/** Two requests; whether the second came from the cache. */
async function secondIsHit(handler: RequestHandler, options: CacheResponsesOptions = {}) {
  const r = await cachedRoute(await h.cache(), (app) => h.serve(app), handler, options);
  const first = await r.settled();
  const second = await send(r.url);
  return { hit: second.headers['x-cache'] === 'HIT' && r.calls() === 1, first, second };
}

describe('CDN-Cache-Control (RFC 9213)', () => {
  it('takes precedence over Cache-Control: stores for it even with Cache-Control: no-store', async () => {
    const { hit } = await secondIsHit(
      respond({ 'Cache-Control': 'no-store', 'CDN-Cache-Control': 'max-age=600' }),
    );
    expect(hit).toBe(true);
  });

  it('takes precedence over Cache-Control: no-store, private or a short max-age in it win', async () => {
    for (const targeted of ['no-store', 'private', 'max-age=0']) {
      const { hit } = await secondIsHit(
        respond({ 'Cache-Control': 'max-age=600', 'CDN-Cache-Control': targeted }),
      );
      expect(hit, targeted).toBe(false);
    }
  });

  it('replaces Expires too: a past Expires does not matter when it gives freshness', async () => {
    const { hit } = await secondIsHit(
      respond({ Expires: 'Thu, 01 Jan 1970 00:00:00 GMT', 'CDN-Cache-Control': 'max-age=600' }),
    );
    expect(hit).toBe(true);
  });

  it('is ignored when it is not a valid Structured Field Dictionary: Cache-Control decides', async () => {
    const { hit } = await secondIsHit(
      respond({ 'Cache-Control': 'no-store', 'CDN-Cache-Control': 'max-age=600, &&&' }),
    );
    expect(hit).toBe(false);
  });

  it('is forwarded to clients by default, and kept from them with forwardTargetedHeaders: false', async () => {
    const handler = respond({ 'CDN-Cache-Control': 'max-age=600' });
    const forwarded = await secondIsHit(handler);
    expect(forwarded.first.headers['cdn-cache-control']).toBe('max-age=600');
    expect(forwarded.second.headers['cdn-cache-control']).toBe('max-age=600');
    const kept = await secondIsHit(handler, { forwardTargetedHeaders: false });
    expect(kept.hit).toBe(true);
    expect(kept.first.headers['cdn-cache-control']).toBeUndefined();
    expect(kept.second.headers['cdn-cache-control']).toBeUndefined();
  });

  it('follows the configured target list, first valid field first; others are passed through', async () => {
    const options = { targetedHeaders: ['Herd-Cache-Control', 'CDN-Cache-Control'] };
    const mine = await secondIsHit(
      respond({ 'Herd-Cache-Control': 'max-age=600', 'CDN-Cache-Control': 'no-store' }),
      options,
    );
    expect(mine.hit).toBe(true);
    const none = await secondIsHit(
      respond({ 'Cache-Control': 'no-store', 'CDN-Cache-Control': 'max-age=600' }),
      {
        targetedHeaders: [],
      },
    );
    expect(none.hit).toBe(false);
    expect(none.second.headers['cdn-cache-control']).toBe('max-age=600');
  });
});
