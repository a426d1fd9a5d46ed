import type { FastifyPluginCallback, FastifyRequest, onRequestHookHandler, onSendHookHandler } from 'fastify';
import type { Cache } from '../../cache.js';
import { InvalidArgumentError } from '../../errors.js';
import { HttpCacheEngine, isCache } from '../core/engine.js';
import { type HttpCacheOptions, resolveResponseOptions } from '../options.js';
import { claimDetached } from './detached.js';
import { FastifyExchange, type Pending } from './exchange.js';
import { tapPayload } from './tap.js';

export { ResponseAbortedError, ResponseStatusError, RevalidationError } from '../errors.js';
export { RESPONSE_CACHE_DEFAULTS } from '../options.js';
export type { XCacheStatus } from '../replay.js';

/** Options of `fastifyCache`: those of `cacheResponses`, with `userKey` given the Fastify request. */
export type FastifyCacheOptions = HttpCacheOptions<FastifyRequest>;

/** The hooks of one cache instance, for a route's options or (through `plugin`) a whole instance. */
export interface FastifyCache {
  /** Decides, before the route, whether the cache answers, the route produces for the cache, or passes. */
  readonly onRequest: onRequestHookHandler;
  /** Taps what the route sends for the cache, and holds successful unsafe responses for invalidation. */
  readonly onSend: onSendHookHandler;
  /** Adds both hooks to the instance it is registered on (not encapsulated: its routes and children). */
  readonly plugin: FastifyPluginCallback;
}

/**
 * The HTTP cache of `herdcache/express`'s `cacheResponses` for Fastify 5, with the same options and rules:
 * RFC 9111 shared-cache storage, fleet-wide coalescing of misses, revalidation with the route (background
 * runs are injected into the same instance), `Age`, `X-Cache`, `ETag`/304, single byte ranges, `Vary`
 * variants and invalidation by unsafe methods. `Set-Cookie` responses are never stored;
 * `Authorization`/`Cookie` requests bypass unless `userKey` opts them in; a string or Buffer payload is
 * stored when within `maxBodySize`, a stream payload never.
 *
 * @example
 * const cached = fastifyCache(cache, { ttl: 10_000 });
 * app.get('/products/:id', { onRequest: cached.onRequest, onSend: cached.onSend }, handler); // one route
 * await app.register(cached.plugin); // or every route of this instance
 * @throws InvalidArgumentError when `cache` is not a herdcache `Cache`.
 * @throws InvalidOptionError naming the option and the value, for an invalid option.
 */
export function fastifyCache(cache: Cache, options?: FastifyCacheOptions): FastifyCache {
  if (!isCache(cache)) throw new InvalidArgumentError('cache', cache, 'a Cache from createCache()');
  const engine = new HttpCacheEngine<FastifyRequest>(cache, resolveResponseOptions<FastifyRequest>(options));
  /** Identifies this instance's detached revalidation requests. */
  const owner = Symbol('fastifyCache');
  const pendings = new WeakMap<FastifyRequest, Pending>();

  // Callback-style hooks, as their types (onRequestHookHandler, onSendHookHandler) declare: `done` is called
  // however a hook is run, by Fastify or by an app's own hook wrapping it; and a hit costs no promise here.
  const onRequest: onRequestHookHandler = (request, reply, done) => {
    const claimed = claimDetached(request, owner);
    if (claimed === 'foreign') {
      done();
      return;
    }
    const exchange = new FastifyExchange(request, reply, done, pendings, owner);
    if (claimed !== undefined) claimed(exchange);
    else {
      try {
        engine.handle(exchange);
      } catch (error) {
        exchange.fail(error);
      }
    }
  };

  const onSend: onSendHookHandler = (request, reply, payload, done) => {
    const pending = pendings.get(request);
    if (pending === undefined) {
      done(null, payload);
      return;
    }
    pendings.delete(request);
    if (pending.invalidate !== undefined) {
      if (reply.statusCode >= 200 && reply.statusCode < 400) {
        pending.invalidate((name) => reply.getHeader(name)).then(() => done(null, payload), done);
      } else done(null, payload);
      return;
    }
    if (pending.capture === undefined) done(null, payload);
    else tapPayload(reply, payload, pending, pending.capture).then((value) => done(null, value), done);
  };

  const plugin: FastifyPluginCallback = (instance, _options, done) => {
    instance.addHook('onRequest', onRequest);
    instance.addHook('onSend', onSend);
    done();
  };
  // What fastify-plugin does: the hooks apply to the instance the plugin is registered on, not a child.
  Object.assign(plugin, { [Symbol.for('skip-override')]: true });
  return { onRequest, onSend, plugin };
}
