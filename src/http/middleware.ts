import type { OutgoingHttpHeaders } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Cache } from '../cache.js';
import { InvalidArgumentError } from '../errors.js';
import type { LoaderContext, Lookup } from '../types.js';
import { captureResponse } from './capture.js';
import { askConditionally, type Conditionals, conditionalsOf, restoreConditionals } from './conditionals.js';
import { ResponseAbortedError, ResponseStatusError } from './errors.js';
import { invalidateOnSuccess, SAFE_METHODS } from './invalidate.js';
import { targetOf, variantKey } from './key.js';
import { Lead, usable, type Value } from './lead.js';
import {
  type CacheResponsesOptions,
  type ResolvedResponseOptions,
  resolveResponseOptions,
} from './options.js';
import { type ByteRange, byteRange } from './range.js';
import { freshen, mergedHeaders } from './refresh.js';
import { replay, type XCacheStatus } from './replay.js';
import { claimDetached, type Peer, peerOf, revalidate } from './revalidate.js';
import { headerValue, type Scope, scopeOf } from './scope.js';
import { judge, type Verdict } from './storability.js';
import {
  isStoredResponse,
  matchesVary,
  PASS,
  type PassMarker,
  type StoredResponse,
  storeResponse,
} from './stored.js';

/** The part of `Cache` the middleware uses. */
type CachePort = Pick<Cache, 'lookup' | 'get' | 'invalidateTag'>;

/**
 * Requests a cacheResponses instance is already serving from the cache. A second instance further down the
 * chain (a global one and a route-level one) must let them through: its lookup of the same key would wait
 * for the very response the first instance is waiting on.
 */
const taken = new WeakSet<Request>();

const STATUS_OF: Record<Lookup<unknown>['status'], XCacheStatus> = {
  hit: 'HIT',
  stale: 'STALE',
  miss: 'MISS',
};

function isCache(value: unknown): value is CachePort {
  const v = value as Partial<CachePort> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.lookup === 'function' &&
    typeof v.get === 'function' &&
    typeof v.invalidateTag === 'function'
  );
}

class ResponseCache {
  readonly #cache: CachePort;
  readonly #options: ResolvedResponseOptions;
  /** Identifies this middleware instance's detached revalidation requests. */
  readonly #owner = Symbol('cacheResponses');
  /** Fields never sent to clients: the target list, when the options say nothing downstream uses it. */
  readonly #stripped: readonly string[];

  constructor(cache: CachePort, options: ResolvedResponseOptions) {
    this.#cache = cache;
    this.#options = options;
    this.#stripped = options.forwardTargetedHeaders ? [] : options.targetedHeaders;
  }

  readonly handle = (req: Request, res: Response, next: NextFunction): void => {
    let passed = false;
    // At most one call, whatever fails where: a second next() would run the rest of the chain twice.
    const once: NextFunction = (error?: unknown) => {
      if (passed) return;
      passed = true;
      next(error);
    };
    const claimed = claimDetached(req, this.#owner);
    if (claimed === 'foreign') {
      once();
      return;
    }
    if (claimed !== undefined) {
      claimed(req, res, once);
      return;
    }
    try {
      this.#route(req, res, once);
    } catch (error) {
      once(error);
    }
  };

  #route(req: Request, res: Response, next: NextFunction): void {
    const method = req.method;
    if (method === 'GET' || method === 'HEAD') {
      if (taken.has(req)) {
        next();
        return;
      }
      const scope = scopeOf(req, this.#options);
      if (scope === undefined) this.#bypass(res, next);
      else {
        taken.add(req);
        const served =
          method === 'GET' && req.headers.range === undefined
            ? this.#get(req, res, next, scope)
            : this.#fromStore(req, res, next, scope);
        served.catch(next);
      }
      return;
    }
    if (!SAFE_METHODS.has(method)) {
      const target = targetOf(req, false, this.#options.namespace);
      invalidateOnSuccess(res, target, (tag) => this.#cache.invalidateTag(tag));
    }
    this.#bypass(res, next);
  }

  #bypass(res: Response, next: NextFunction, status: XCacheStatus = 'BYPASS'): void {
    if (!res.headersSent) res.setHeader('X-Cache', status);
    next();
  }

  async #get(req: Request, res: Response, next: NextFunction, scope: Scope): Promise<void> {
    let key = scope.base;
    const arrived = performance.now();
    let retried = false;
    const peer = peerOf(req.socket);
    // The base entry is the first variant stored for the URL; its Vary names the headers other variants
    // are keyed on. So at most two lookups: the base, then this request's variant.
    for (;;) {
      const current = key;
      const lead = new Lead(
        (context) => this.#produce(req, res, next, scope, current, context),
        (context) => this.#revalidate(req, peer, scope, current, context),
      );
      let found: Lookup<unknown>;
      try {
        found = await this.#cache.lookup(current, lead.loader);
      } catch {
        // Redis trouble, a failed or aborted leader elsewhere, a closed cache: the route still answers.
        if (lead.answer()) this.#bypass(res, next, 'MISS');
        return;
      }
      if (!lead.answer()) return;
      const value = found.value;
      if (!isStoredResponse(value)) return this.#bypass(res, next, 'MISS');
      if (!usable(value, found, performance.now() - arrived)) {
        // Joined a load that finished before this request came: that load is settled now, so asking again
        // revalidates the stored entry (or joins a load that started after this request came).
        if (found.status === 'miss' && !retried) {
          retried = true;
          continue;
        }
        return this.#bypass(res, next, 'MISS');
      }
      if (matchesVary(value, req.headers)) {
        return replay(req, res, value, STATUS_OF[found.status], found.age, this.#stripped);
      }
      if (current !== scope.base || value.vary.length === 0) return this.#bypass(res, next, 'MISS');
      key = variantKey(scope.base, value.vary, req.headers);
    }
  }

  /**
   * HEAD, and GET with `Range`, never run the route for the cache (Node sends no body to capture for HEAD; a
   * partial response is not stored): they are answered from a fresh stored GET response, or by the route.
   * The answer goes through a lookup so its Age comes from the cache's clock, like every other answer's; the
   * plain read first keeps a miss from starting a load that would run the route twice for one request.
   */
  async #fromStore(req: Request, res: Response, next: NextFunction, scope: Scope): Promise<void> {
    const ranged = req.method === 'GET';
    // Several ranges, another unit, If-Range: the route decides.
    if (ranged && (req.headers['if-range'] !== undefined || !this.#singleRange(req))) {
      return this.#bypass(res, next, 'MISS');
    }
    const arrived = performance.now();
    const peer = peerOf(req.socket);
    let key = scope.base;
    for (;;) {
      const current = key;
      let found: Lookup<unknown>;
      try {
        if (!isStoredResponse(await this.#cache.get<Value>(current))) return this.#bypass(res, next, 'MISS');
        found = await this.#cache.lookup(current, (context) =>
          this.#revalidate(req, peer, scope, current, context),
        );
      } catch {
        return this.#bypass(res, next, 'MISS');
      }
      const value = found.value;
      if (!isStoredResponse(value) || !usable(value, found, performance.now() - arrived)) {
        return this.#bypass(res, next, 'MISS');
      }
      if (matchesVary(value, req.headers)) {
        const range = ranged ? this.#rangeOf(req, value) : undefined;
        if (ranged && range === undefined) return this.#bypass(res, next, 'MISS');
        return replay(req, res, value, STATUS_OF[found.status], found.age, this.#stripped, range);
      }
      if (current !== scope.base || value.vary.length === 0) return this.#bypass(res, next, 'MISS');
      key = variantKey(scope.base, value.vary, req.headers);
    }
  }

  #singleRange(req: Request): boolean {
    return byteRange(headerValue(req.headers.range), Number.MAX_SAFE_INTEGER) !== undefined;
  }

  /** The one byte range a stored 200 can answer, unless `If-Range` makes the route decide. */
  #rangeOf(req: Request, stored: StoredResponse): ByteRange | undefined {
    if (stored.status !== 200 || req.headers['if-range'] !== undefined) return undefined;
    return byteRange(headerValue(req.headers.range), Buffer.byteLength(stored.body, 'base64'));
  }

  /**
   * The leader's side: let the request continue to the route, stream its response to this client while
   * keeping a copy, and settle the load with what may be shared. With a stored response to revalidate, the
   * route gets its validators; a 304 then never reaches the client, which is answered from the freshened
   * entry instead.
   */
  async #produce(
    req: Request,
    res: Response,
    next: NextFunction,
    scope: Scope,
    key: string,
    context: LoaderContext<unknown>,
  ): Promise<Value | undefined> {
    const own = conditionalsOf(req);
    const stale = isStoredResponse(context.stale) ? context.stale : undefined;
    const conditional = askConditionally(req, stale);
    if (!res.headersSent) res.setHeader('X-Cache', 'MISS');
    const before: OutgoingHttpHeaders = res.getHeaders();
    let verdict: Verdict | undefined;
    const started = performance.now();
    let answeredAt = started;
    const captured = captureResponse(res, {
      limit: this.#options.maxBodySize,
      interceptNotModified: conditional,
      strip: this.#stripped,
      onHeaders: (status, headers) => {
        answeredAt = performance.now();
        verdict = this.#judge(status, headers, scope);
        return verdict.store ? undefined : verdict.reason;
      },
    });
    next();
    const capture = await captured;
    if (capture.kind === 'aborted') throw new ResponseAbortedError(key);
    if (capture.kind === 'not-modified' && stale !== undefined) {
      const responseDelay = performance.now() - started;
      return this.#freshened(req, res, scope, context, {
        stale,
        own,
        before,
        headers: capture.headers,
        responseDelay,
      });
    }
    if (capture.kind !== 'complete' || verdict === undefined || !verdict.store) {
      const status = capture.kind === 'passed' ? capture.status : undefined;
      // A server error must not replace a stale entry that stale-if-error may still serve.
      if (status !== undefined && status >= 500 && stale?.mayServeStale === true) {
        throw new ResponseStatusError(key, status);
      }
      return this.#passMarker(context, scope);
    }
    context.setPolicy({ ...verdict.freshness, tags: [scope.tag] });
    return storeResponse({
      status: capture.status,
      headers: capture.headers,
      before,
      body: capture.body,
      vary: verdict.vary,
      requestHeaders: req.headers,
      now: Date.now(),
      responseDelay: answeredAt - started,
      lifetime: verdict.lifetime,
      mayServeStale: verdict.mayServeStale,
    });
  }

  #judge(status: number, headers: OutgoingHttpHeaders, scope: Scope): Verdict {
    try {
      return judge({
        status,
        headers,
        shared: scope.shared,
        statuses: this.#options.statuses,
        ttl: this.#options.ttl,
        targets: this.#options.targetedHeaders,
      });
    } catch (error) {
      // This runs inside the route's own res.send(): a header the judge chokes on must not break it.
      return { store: false, reason: `headers could not be judged: ${(error as Error).message}` };
    }
  }

  /**
   * The route answered 304 to the stored validators: the stored response, with the 304's fields, goes to
   * this client (as its own conditionals decide) and, when it may still be stored, to the cache fleet-wide.
   */
  #freshened(
    req: Request,
    res: Response,
    scope: Scope,
    context: LoaderContext<unknown>,
    answer: {
      stale: StoredResponse;
      own: Conditionals;
      before: OutgoingHttpHeaders;
      headers: OutgoingHttpHeaders;
      responseDelay: number;
    },
  ): Value | undefined {
    const headers = mergedHeaders(answer.stale, answer.headers, answer.before);
    const verdict = this.#judge(answer.stale.status, headers, scope);
    const now = Date.now();
    const refreshed = freshen({
      stored: answer.stale,
      headers,
      verdict: verdict.store
        ? verdict
        : { store: true, freshness: {}, vary: answer.stale.vary, lifetime: 0, mayServeStale: false },
      requestHeaders: req.headers,
      now,
      responseDelay: answer.responseDelay,
    });
    restoreConditionals(req, answer.own);
    for (const name of res.getHeaderNames()) if (!(name in answer.before)) res.removeHeader(name);
    replay(req, res, refreshed, 'REVALIDATED', 0, this.#stripped);
    if (!verdict.store) return this.#passMarker(context, scope);
    context.setPolicy({ ...verdict.freshness, tags: [scope.tag] });
    return refreshed;
  }

  /**
   * Hit-for-miss: a short-lived marker sends the requests waiting now, and those of the next few moments,
   * straight to the route instead of queueing them behind one another.
   */
  #passMarker(context: LoaderContext<unknown>, scope: Scope): PassMarker | undefined {
    const ttl = this.#options.hitForMiss;
    // Undefined is never stored: waiters are released and the next miss coalesces again.
    if (ttl === 0) return undefined;
    context.setPolicy({ ttl, staleWhileRevalidate: 0, staleIfError: 0, tags: [scope.tag] });
    return PASS;
  }

  /** A background refresh of an entry this request was already answered from. */
  #revalidate(
    req: Request,
    peer: Peer,
    scope: Scope,
    key: string,
    context: LoaderContext<unknown>,
  ): Promise<Value | undefined> {
    // A marker is not worth a detached run of a route known to be uncacheable; let it expire.
    if (!isStoredResponse(context.stale)) return Promise.resolve(undefined);
    return revalidate({
      original: req,
      peer,
      owner: this.#owner,
      key,
      timeout: this.#options.revalidationTimeout,
      signal: context.signal,
      produce: (detachedReq, detachedRes, detachedNext) =>
        this.#produce(detachedReq, detachedRes, detachedNext, scope, key, context),
    });
  }
}

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
  return new ResponseCache(cache, resolveResponseOptions(options)).handle;
}
