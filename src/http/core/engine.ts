import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Cache } from '../../cache.js';
import { type LocalHit, localHitsOf } from '../../core/local-hits.js';
import type { LoaderContext, Lookup } from '../../types.js';
import { type Conditionals, conditionalsFor } from '../conditionals.js';
import { ResponseAbortedError, ResponseStatusError } from '../errors.js';
import { invalidation, SAFE_METHODS } from '../invalidate.js';
import { targetOf, variantKey } from '../key.js';
import { Lead, usable, type Value } from '../lead.js';
import type { ResolvedResponseOptions } from '../options.js';
import { type ByteRange, byteRange } from '../range.js';
import { freshen, mergedHeaders } from '../refresh.js';
import { replay, type XCacheStatus } from '../replay.js';
import { headerValue, type Scope, SharedScopes, scopeOf } from '../scope.js';
import { judge, type Verdict } from '../storability.js';
import {
  isStoredResponse,
  matchesVary,
  PASS,
  type PassMarker,
  type StoredResponse,
  storeResponse,
} from '../stored.js';
import type { Background, Exchange } from './exchange.js';

/** The part of `Cache` the HTTP cache uses. */
export type CachePort = Pick<Cache, 'lookup' | 'get' | 'invalidateTag'>;

/**
 * Requests a cache instance is already serving from the cache. A second instance further down the chain (a
 * global one and a route-level one) must let them through: its lookup of the same key would wait for the
 * very response the first instance is waiting on.
 */
const taken = new WeakSet<object>();

const STATUS_OF: Record<Lookup<unknown>['status'], XCacheStatus> = {
  hit: 'HIT',
  stale: 'STALE',
  miss: 'MISS',
};

export function isCache(value: unknown): value is CachePort {
  const v = value as Partial<CachePort> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.lookup === 'function' &&
    typeof v.get === 'function' &&
    typeof v.invalidateTag === 'function'
  );
}

/**
 * The framework-free HTTP cache: every rule of what is stored, shared, revalidated, served and invalidated,
 * applied to requests an adapter presents as `Exchange`s.
 */
export class HttpCacheEngine<Req> {
  readonly #cache: CachePort;
  readonly #options: ResolvedResponseOptions<Req>;
  /** Fields never sent to clients: the target list, when the options say nothing downstream uses it. */
  readonly #stripped: readonly string[];
  /** The cache's synchronous access to fresh local entries; undefined for a stand-in cache. */
  readonly #localHit: LocalHit | undefined;
  /** Scopes of recent shared requests, reused: most hits repeat a URL. */
  readonly #sharedScopes: SharedScopes;

  constructor(cache: CachePort, options: ResolvedResponseOptions<Req>) {
    this.#cache = cache;
    this.#options = options;
    this.#sharedScopes = new SharedScopes(options.sortQuery, options.namespace);
    this.#stripped = options.forwardTargetedHeaders ? [] : options.targetedHeaders;
    this.#localHit = localHitsOf(cache);
  }

  /** Takes one request; every outcome, errors included, goes through the exchange. */
  handle(exchange: Exchange<Req>): void {
    const request = exchange.request;
    const method = request.method;
    if (method === 'GET' || method === 'HEAD') {
      if (taken.has(exchange.identity)) {
        exchange.pass(undefined);
        return;
      }
      const scope = scopeOf(request, exchange.native, this.#options, this.#sharedScopes);
      if (scope === undefined) exchange.pass('BYPASS');
      else if (method === 'GET' && request.headers.range === undefined) {
        // Answered at once, the request goes no further: no other instance sees it, so it is not marked.
        if (this.#answerLocally(exchange, scope)) return;
        taken.add(exchange.identity);
        this.#get(exchange, scope).catch((error: unknown) => exchange.fail(error));
      } else {
        taken.add(exchange.identity);
        this.#fromStore(exchange, scope).catch((error: unknown) => exchange.fail(error));
      }
      return;
    }
    if (SAFE_METHODS.has(method)) exchange.pass('BYPASS');
    else {
      const target = targetOf(request, false, this.#options.namespace);
      exchange.passUnsafe(invalidation(target, (tag) => this.#cache.invalidateTag(tag)));
    }
  }

  /**
   * The common case answered at once: a fresh local entry for the base key that this request may reuse, as
   * `#get` would serve it. Anything else (no entry, stale, due for refresh, another variant) is `#get`'s.
   */
  #answerLocally(exchange: Exchange<Req>, scope: Scope): boolean {
    return this.#localHit?.(scope.base, this.#serveLocal, exchange) === true;
  }

  /** Serves a fresh local value to `exchange` if it may; made once, not per request. */
  readonly #serveLocal = (value: unknown, age: number, exchange: Exchange<Req>): boolean => {
    // `usable` for a fresh hit: within the response's own lifetime, if it has one.
    if (!isStoredResponse(value) || (value.lifetime !== null && age >= value.lifetime)) return false;
    if (!matchesVary(value, exchange.request.headers)) return false;
    exchange.send(replay(exchange.request, value, 'HIT', age, this.#stripped));
    return true;
  };

  async #get(exchange: Exchange<Req>, scope: Scope): Promise<void> {
    const headers = exchange.request.headers;
    let key = scope.base;
    const arrived = performance.now();
    let retried = false;
    const background = exchange.background();
    // The base entry is the first variant stored for the URL; its Vary names the headers other variants
    // are keyed on. So at most two lookups: the base, then this request's variant.
    for (;;) {
      const current = key;
      const lead = new Lead(
        (context) => this.#produce(exchange, scope, current, context),
        (context) => this.#revalidate(background, scope, current, context),
      );
      let found: Lookup<unknown>;
      try {
        found = await this.#cache.lookup(current, lead.loader);
      } catch {
        // Redis trouble, a failed or aborted leader elsewhere, a closed cache: the route still answers.
        if (lead.answer()) exchange.pass('MISS');
        return;
      }
      if (!lead.answer()) return;
      const value = found.value;
      if (!isStoredResponse(value)) return exchange.pass('MISS');
      if (!usable(value, found, performance.now() - arrived)) {
        // The cache answered, but too late to reuse: a load that finished before this request came (a miss
        // it joined), or a hit Redis judged fresh whose reply reached this node after its lifetime ended (a
        // busy process, a slow network). Asking once more gets the cache's answer now (the entry refreshed,
        // or a load to join) instead of sending every request caught in that moment to the route at once.
        if (found.status !== 'stale' && !retried) {
          retried = true;
          continue;
        }
        return exchange.pass('MISS');
      }
      if (matchesVary(value, headers)) {
        return exchange.send(
          replay(exchange.request, value, STATUS_OF[found.status], found.age, this.#stripped),
        );
      }
      if (current !== scope.base || value.vary.length === 0) return exchange.pass('MISS');
      key = variantKey(scope.base, value.vary, headers);
    }
  }

  /**
   * HEAD, and GET with `Range`, never run the route for the cache (Node sends no body to capture for HEAD; a
   * partial response is not stored): they are answered from a fresh stored GET response, or by the route.
   * The answer goes through a lookup so its Age comes from the cache's clock, like every other answer's; the
   * plain read first keeps a miss from starting a load that would run the route twice for one request.
   */
  async #fromStore(exchange: Exchange<Req>, scope: Scope): Promise<void> {
    const headers = exchange.request.headers;
    const ranged = exchange.request.method === 'GET';
    // Several ranges, another unit, If-Range: the route decides.
    if (ranged && (headers['if-range'] !== undefined || !singleRange(headers.range))) {
      return exchange.pass('MISS');
    }
    const arrived = performance.now();
    const background = exchange.background();
    let key = scope.base;
    let retried = false;
    for (;;) {
      const current = key;
      let found: Lookup<unknown>;
      try {
        if (!isStoredResponse(await this.#cache.get<Value>(current))) return exchange.pass('MISS');
        found = await this.#cache.lookup(current, (context) =>
          this.#revalidate(background, scope, current, context),
        );
      } catch {
        return exchange.pass('MISS');
      }
      const value = found.value;
      if (!isStoredResponse(value)) return exchange.pass('MISS');
      if (!usable(value, found, performance.now() - arrived)) {
        // A hit whose reply came in past its lifetime: asked once more, as `#get` does. Not a miss: that is
        // a revalidation run for this very request, which asking again would only repeat.
        if (found.status === 'hit' && !retried) {
          retried = true;
          continue;
        }
        return exchange.pass('MISS');
      }
      if (matchesVary(value, headers)) {
        const range = ranged ? rangeOf(headers, value) : undefined;
        if (ranged && range === undefined) return exchange.pass('MISS');
        return exchange.send(
          replay(exchange.request, value, STATUS_OF[found.status], found.age, this.#stripped, range),
        );
      }
      if (current !== scope.base || value.vary.length === 0) return exchange.pass('MISS');
      key = variantKey(scope.base, value.vary, headers);
    }
  }

  /**
   * The leader's side: the route runs, its response streams to this client while a copy is kept, and the
   * load settles with what may be shared. With a stored response to revalidate, the route gets its
   * validators; a 304 then never reaches the client, which is answered from the freshened entry instead.
   */
  async #produce(
    exchange: Exchange<Req>,
    scope: Scope,
    key: string,
    context: LoaderContext<unknown>,
  ): Promise<Value | undefined> {
    const stale = isStoredResponse(context.stale) ? context.stale : undefined;
    const conditionals: Conditionals = conditionalsFor(stale);
    let verdict: Verdict | undefined;
    const started = performance.now();
    let answeredAt = started;
    const { capture, before } = await exchange.produce(conditionals, {
      limit: this.#options.maxBodySize,
      interceptNotModified: Object.keys(conditionals).length > 0,
      strip: this.#stripped,
      onHeaders: (status, headers) => {
        answeredAt = performance.now();
        verdict = this.#judge(status, headers, scope);
        return verdict.store ? undefined : verdict.reason;
      },
    });
    if (capture.kind === 'aborted') throw new ResponseAbortedError(key);
    if (capture.kind === 'not-modified' && stale !== undefined) {
      const responseDelay = performance.now() - started;
      return this.#freshened(exchange, scope, context, {
        stale,
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
      requestHeaders: exchange.request.headers,
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
      // This runs inside the route's own sending of its response: a header the judge chokes on must not
      // break it.
      return { store: false, reason: `headers could not be judged: ${(error as Error).message}` };
    }
  }

  /**
   * The route answered 304 to the stored validators: the stored response, with the 304's fields, goes to
   * this client (as its own conditionals decide) and, when it may still be stored, to the cache fleet-wide.
   */
  #freshened(
    exchange: Exchange<Req>,
    scope: Scope,
    context: LoaderContext<unknown>,
    answer: {
      stale: StoredResponse;
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
      requestHeaders: exchange.request.headers,
      now,
      responseDelay: answer.responseDelay,
    });
    exchange.send(replay(exchange.request, refreshed, 'REVALIDATED', 0, this.#stripped));
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
    background: Background<Req>,
    scope: Scope,
    key: string,
    context: LoaderContext<unknown>,
  ): Promise<Value | undefined> {
    // A marker is not worth a detached run of a route known to be uncacheable; let it expire.
    if (!isStoredResponse(context.stale)) return Promise.resolve(undefined);
    return background({
      key,
      timeout: this.#options.revalidationTimeout,
      signal: context.signal,
      run: (detached) => this.#produce(detached, scope, key, context),
    });
  }
}

function singleRange(range: string | string[] | undefined): boolean {
  return byteRange(headerValue(range), Number.MAX_SAFE_INTEGER) !== undefined;
}

/** The one byte range a stored 200 can answer, unless `If-Range` makes the route decide. */
function rangeOf(headers: IncomingHttpHeaders, stored: StoredResponse): ByteRange | undefined {
  if (stored.status !== 200 || headers['if-range'] !== undefined) return undefined;
  return byteRange(headerValue(headers.range), Buffer.byteLength(stored.body, 'base64'));
}
