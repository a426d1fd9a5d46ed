import type { Cache } from '../../cache.js';
import { InvalidArgumentError } from '../../errors.js';
import { HttpCacheEngine, isCache } from '../core/engine.js';
import { type HttpCacheOptions, resolveResponseOptions } from '../options.js';
import { FetchExchange, type FetchHandler } from './exchange.js';

export { ResponseAbortedError, ResponseStatusError, RevalidationError } from '../errors.js';
export { RESPONSE_CACHE_DEFAULTS } from '../options.js';
export type { XCacheStatus } from '../replay.js';
export type { FetchHandler };

/** Options of `cacheFetch`: those of `cacheResponses`, with `userKey` given the Web `Request`. */
export type CacheFetchOptions = HttpCacheOptions<Request>;

/**
 * Wraps a Web Fetch API handler, `(request: Request, ...rest) => Response | Promise<Response>` (Hono's
 * `app.fetch`, Next.js route handlers, Deno/Bun servers), in the same HTTP cache as `herdcache/express`'s
 * `cacheResponses`, with the same options and rules: RFC 9111 shared-cache storage, fleet-wide coalescing
 * of misses, revalidation with the handler, `Age`/`X-Cache`/`ETag`/304, single byte ranges, `Vary` variants
 * and invalidation by unsafe methods. `Set-Cookie` responses are never stored; `Authorization` or `Cookie`
 * requests bypass unless `userKey` opts them in; a body is streamed to its client and kept only when it ends
 * within `maxBodySize`. Extra arguments (Next.js's context, Hono's env) pass through to the handler, and to
 * its background revalidations.
 *
 * @example
 * export const GET = cacheFetch(cache, async (request) => Response.json(await load(request)), { ttl: 10_000 });
 * @throws InvalidArgumentError when `cache` is not a herdcache `Cache` or `handler` not a function.
 * @throws InvalidOptionError naming the option and the value, for an invalid option.
 */
export function cacheFetch<A extends unknown[]>(
  cache: Cache,
  handler: FetchHandler<A>,
  options?: CacheFetchOptions,
): (request: Request, ...args: A) => Promise<Response> {
  if (!isCache(cache)) throw new InvalidArgumentError('cache', cache, 'a Cache from createCache()');
  if (typeof handler !== 'function') throw new InvalidArgumentError('handler', handler, 'a function');
  const engine = new HttpCacheEngine<Request>(cache, resolveResponseOptions<Request>(options));
  return (request, ...args) => {
    const exchange = new FetchExchange(request, args, handler);
    try {
      engine.handle(exchange);
    } catch (error) {
      exchange.fail(error);
    }
    return exchange.answer();
  };
}
