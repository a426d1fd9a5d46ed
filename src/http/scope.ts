import type { Request } from 'express';
import { InvalidArgumentError } from '../errors.js';
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
function hasBody(req: Request): boolean {
  const length = headerValue(req.headers['content-length']);
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Where the request is keyed, or undefined when it must not share the cache. */
export function scopeOf(req: Request, options: ResolvedResponseOptions): Scope | undefined {
  if (hasBody(req)) return undefined;
  if (/(?:^|,)\s*no-store\b/i.test(headerValue(req.headers['cache-control']) ?? '')) return undefined;
  const user = options.userKey?.(req);
  if (user !== undefined && typeof user !== 'string') {
    throw new InvalidArgumentError('userKey(req)', user, 'a string or undefined');
  }
  const credentials = req.headers.authorization !== undefined || req.headers.cookie !== undefined;
  if (credentials && user === undefined) return undefined;
  const target = targetOf(req, options.sortQuery, options.namespace);
  return {
    target,
    base: baseKey(target, user ?? null),
    tag: pathTag(target.namespace, target.host, target.path),
    shared: user === undefined,
  };
}
