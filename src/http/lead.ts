import type { LoaderContext, Lookup } from '../types.js';
import type { PassMarker, StoredResponse } from './stored.js';

/**
 * Who answers a request: the request that leads a load answers itself, as its route runs; every other one
 * answers from what the cache returns, if it may.
 */

/** What the middleware keeps under a key: a response, or the hit-for-miss marker. */
export type Value = StoredResponse | PassMarker;

// Milliseconds by which a request must have arrived before a load completed to share a response it may not
// otherwise reuse.
const COALESCE_MARGIN = 5;

/**
 * Whether a response the cache returned may answer this request. A stale one only with the response's
 * permission (no-cache and must-revalidate give none); any other while it is fresh, or, when a load just
 * produced it, to the requests that were already waiting for that load. A request that joins a load after
 * its response went out never gets a response it must not reuse. `waited`: ms since the request arrived.
 */
export function usable(value: StoredResponse, found: Lookup<unknown>, waited: number): boolean {
  if (found.status === 'stale') return value.mayServeStale;
  if (value.lifetime === null || found.age < value.lifetime) return true;
  // Not fresh (stale on arrival: no-cache, max-age=0): only for requests that were waiting while the route
  // produced or revalidated it. The margin covers how well this node knows another node's moment.
  return found.status === 'miss' && waited > found.age + COALESCE_MARGIN;
}

/**
 * Ties one lookup to one request. The cache calls the loader either while this request waits for the lookup
 * (it leads: its own route runs and its own client gets the response) or, for a background refresh, after
 * the request was already answered from the cache (a detached copy runs instead).
 */
export class Lead {
  #state: 'waiting' | 'leading' | 'answered' = 'waiting';

  constructor(
    readonly onLead: (context: LoaderContext<unknown>) => Promise<Value | undefined>,
    readonly onBackground: (context: LoaderContext<unknown>) => Promise<Value | undefined>,
  ) {}

  readonly loader = (context: LoaderContext<unknown>): Promise<Value | undefined> => {
    if (this.#state !== 'waiting') return this.onBackground(context);
    this.#state = 'leading';
    return this.onLead(context);
  };

  /** After the lookup settles: true when the cache's answer is this request's to serve. */
  answer(): boolean {
    if (this.#state === 'leading') return false;
    this.#state = 'answered';
    return true;
  }
}
