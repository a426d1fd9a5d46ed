import type { IncomingHttpHeaders } from 'node:http';
import { InvalidArgumentError } from '../errors.js';
import type { RequestView } from './core/exchange.js';
import { baseKey, pathTag, type Target, targetOf } from './key.js';
import type { ResolvedResponseOptions } from './options.js';

/**
 * Where a request belongs in the cache, decided once per request: whether it may share the cache at all
 * (no body, no `Cache-Control: no-store`, credentials only with a `userKey`), its key and its path tag.
 */

/** One request's place in the cache: where it is keyed and who may share its entries. */
export interface Scope {
  readonly target: Target;
  readonly base: string;
  readonly tag: string;
  /** False when keyed by user: private-cache rules apply. */
  readonly shared: boolean;
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A request body would be input the key does not cover. */
function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = headerValue(headers['content-length']);
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The scope of `request` for the audience `user` (null: the shared, anonymous one). */
function scopeFor(request: RequestView, sortQuery: boolean, namespace: string, user: string | null): Scope {
  const target = targetOf(request, sortQuery, namespace);
  return {
    target,
    base: baseKey(target, user),
    tag: pathTag(target.namespace, target.host, target.path),
    shared: user === null,
  };
}

/** Entries of `SharedScopes` kept at most; past it they are all dropped. */
const SHARED_SCOPES_KEPT = 10_000;

/**
 * The scopes of recent shared requests, by URL (then checked against the host), for one set of options: a
 * hit would otherwise build two JSON keys and look up a hashed tag. Scopes are read-only, so one serves
 * every request for the same host and URL.
 */
export class SharedScopes {
  readonly #byUrl = new Map<string, Scope>();
  readonly #sortQuery: boolean;
  readonly #namespace: string;

  constructor(sortQuery: boolean, namespace: string) {
    this.#sortQuery = sortQuery;
    this.#namespace = namespace;
  }

  of(request: RequestView): Scope {
    let scope = this.#byUrl.get(request.url);
    if (scope === undefined || scope.target.host !== request.host) {
      scope = scopeFor(request, this.#sortQuery, this.#namespace, null);
      if (this.#byUrl.size >= SHARED_SCOPES_KEPT) this.#byUrl.clear();
      this.#byUrl.set(request.url, scope);
    }
    return scope;
  }
}

/** Where the request is keyed, or undefined when it must not share the cache. */
export function scopeOf<Req>(
  request: RequestView,
  native: Req,
  options: ResolvedResponseOptions<Req>,
  shared: SharedScopes,
): Scope | undefined {
  const headers = request.headers;
  if (hasBody(headers)) return undefined;
  const cacheControl = headers['cache-control'];
  if (cacheControl !== undefined && /(?:^|,)\s*no-store\b/i.test(headerValue(cacheControl) ?? '')) {
    return undefined;
  }
  const user = options.userKey?.(native);
  if (user !== undefined && typeof user !== 'string') {
    throw new InvalidArgumentError('userKey(req)', user, 'a string or undefined');
  }
  const credentials = headers.authorization !== undefined || headers.cookie !== undefined;
  if (credentials && user === undefined) return undefined;
  if (user === undefined) return shared.of(request);
  return scopeFor(request, options.sortQuery, options.namespace, user);
}
