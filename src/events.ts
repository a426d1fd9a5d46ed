/** Where a served value came from. */
export type Tier = 'local' | 'shared';

/**
 * The events a `Cache` emits, with their payloads. `error` is only emitted when somebody listens, so an
 * unobserved Redis outage never crashes the process.
 */
export interface CacheEvents {
  /** A fresh value was served from a tier. */
  hit: [{ key: string; tier: Tier; age: number }];
  /** An expired value was served on purpose. */
  stale: [{ key: string; age: number; reason: 'revalidate' | 'error' | 'soft-timeout' | 'backoff' }];
  /** No usable value in any tier; a load follows (here or on another node). */
  miss: [{ key: string }];
  /** This process ran the loader. `stored` is false when the write was rejected (lease revoked). */
  load: [{ key: string; duration: number; stored: boolean; background: boolean }];
  /** The loader threw or timed out in this process. */
  loadError: [{ key: string; error: unknown }];
  /** A caller started waiting for another node's load. */
  wait: [{ key: string }];
  /** A follower gave up waiting and loads the value itself. */
  takeover: [{ key: string }];
  /** A running load lost its lease (revoked by an invalidation, or taken over); its result will not be stored. */
  leaseLost: [{ key: string }];
  /** Keys were invalidated, by this node (`local`) or another (`remote`). */
  invalidate: [{ keys: readonly string[]; origin: 'local' | 'remote' }];
  /** Tags were invalidated, by this node (`local`) or another (`remote`). */
  invalidateTag: [{ tags: readonly string[]; origin: 'local' | 'remote' }];
  /** The local tier was emptied because invalidations may have been lost. */
  localFlush: [{ reason: string }];
  /** Too many Redis failures: calls stop going to Redis until a probe succeeds. */
  breakerOpen: [{ failures: number }];
  /** A probe succeeded; Redis is in use again. */
  breakerClose: [];
  /** Something went wrong that callers did not see (Redis trouble, unreadable data). */
  error: [Error];
}
