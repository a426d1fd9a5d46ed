import { CacheError } from '../errors.js';

/**
 * Why a response load failed. The middleware never shows these to a client; they surface in the cache's
 * `loadError` events, and requests that were waiting fall back to running the route themselves.
 */

/** The client went away before the response finished; a partial response is never stored. */
export class ResponseAbortedError extends CacheError {
  /** The cache key of the response. */
  readonly key: string;

  constructor(key: string) {
    super('HERDCACHE_RESPONSE_ABORTED', 'The connection closed before the response finished');
    this.key = key;
  }
}

/**
 * The route answered with a server error while a stale entry existed: failing the load lets the cache
 * serve that entry within its `stale-if-error` window instead of replacing it.
 */
export class ResponseStatusError extends CacheError {
  /** The cache key of the response. */
  readonly key: string;
  /** The status the route answered with. */
  readonly status: number;

  constructor(key: string, status: number) {
    super('HERDCACHE_RESPONSE_ERROR_STATUS', `The route answered ${status}; the stale entry is kept`);
    this.key = key;
    this.status = status;
  }
}

/** A background revalidation could not produce a response; the stale entry is kept. */
export class RevalidationError extends CacheError {
  /** The cache key being revalidated. */
  readonly key: string;

  constructor(key: string, message: string) {
    super('HERDCACHE_REVALIDATION_FAILED', `Revalidation failed: ${message}`);
    this.key = key;
  }
}
