import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Cache } from '../../cache.js';
import { InvalidArgumentError } from '../../errors.js';
import { HttpCacheEngine, isCache } from '../core/engine.js';
import { type HttpCacheOptions, resolveResponseOptions } from '../options.js';
import { claimDetached } from './detached.js';
import { expressExchange } from './exchange.js';

/** Options of `cacheResponses`; `userKey` receives the Express request. */
export type CacheResponsesOptions = HttpCacheOptions<Request>;

/**
 * Express middleware that caches responses in `cache` as an RFC 9111 shared cache would, and coalesces
 * concurrent misses for one URL across every process sharing the cache's Redis and prefix: the route runs
 * once and the other requests get its response (or the stale one, where the response allows it).
 *
 * Only GET responses are stored; HEAD and single byte ranges are answered from them. Requests with `Authorization` or `Cookie` bypass the cache unless `userKey` opts them in; responses with `Set-Cookie`, `private`, `no-store`, `Vary: *`, a
 * status outside `statuses`, a body over `maxBodySize`, or an event stream are never stored. `CDN-Cache-Control`
 * (or the `targetedHeaders` list) replaces `Cache-Control` and `Expires` for this cache (RFC 9213). A stale
 * entry with the route's `ETag` or `Last-Modified` is revalidated: the route runs with `If-None-Match` /
 * `If-Modified-Since`, and a 304 freshens the entry on every node; `no-cache` responses are kept only to be
 * revalidated so. A successful request with a method not known to be safe invalidates the cached responses
 * of its path on every node. Responses carry `X-Cache` (`HIT`, `STALE`, `REVALIDATED`, `MISS`, `BYPASS`) and,
 * from the cache, `Age`.
 *
 * A request's own `Cache-Control` is ignored except `no-store` (the request bypasses): letting clients force
 * a reload with `no-cache` would let any client defeat the stampede protection. Requests with a body bypass,
 * as input the key does not cover; a single byte `Range` is answered from a fresh stored response (206), any
 * other goes to the route.
 *
 * @example
 * app.get('/products/:id', cacheResponses(cache, { ttl: 10_000 }), handler);
 * @throws InvalidArgumentError when `cache` is not a herdcache `Cache`.
 * @throws InvalidOptionError naming the option and the value, for an invalid option.
 */
export function cacheResponses(cache: Cache, options?: CacheResponsesOptions): RequestHandler {
  if (!isCache(cache)) throw new InvalidArgumentError('cache', cache, 'a Cache from createCache()');
  const engine = new HttpCacheEngine<Request>(cache, resolveResponseOptions<Request>(options));
  /** Identifies this middleware instance's detached revalidation requests. */
  const owner = Symbol('cacheResponses');
  return (req: Request, res: Response, next: NextFunction): void => {
    let passed = false;
    // At most one call, whatever fails where: a second next() would run the rest of the chain twice.
    const once: NextFunction = (error?: unknown) => {
      if (passed) return;
      passed = true;
      next(error);
    };
    const claimed = claimDetached(req, owner);
    if (claimed === 'foreign') {
      once();
      return;
    }
    if (claimed !== undefined) {
      claimed(req, res, once);
      return;
    }
    try {
      engine.handle(expressExchange(req, res, once, owner));
    } catch (error) {
      once(error);
    }
  };
}
