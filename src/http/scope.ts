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

/** Where the request is keyed, or undefined when it must not share the cache. */
export function scopeOf<Req>(
  request: RequestView,
  native: Req,
  options: ResolvedResponseOptions<Req>,
): Scope | undefined {
  const headers = request.headers;
  if (hasBody(headers)) return undefined;
  if (/(?:^|,)\s*no-store\b/i.test(headerValue(headers['cache-control']) ?? '')) return undefined;
  const user = options.userKey?.(native);
  if (user !== undefined && typeof user !== 'string') {
    throw new InvalidArgumentError('userKey(req)', user, 'a string or undefined');
  }
  const credentials = headers.authorization !== undefined || headers.cookie !== undefined;
  if (credentials && user === undefined) return undefined;
  const target = targetOf(request, options.sortQuery, options.namespace);
  return {
    target,
    base: baseKey(target, user ?? null),
    tag: pathTag(target.namespace, target.host, target.path),
    shared: user === undefined,
  };
}
