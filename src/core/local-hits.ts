/**
 * A synchronous side door to a cache's fresh local entries, for the HTTP adapters' hit path: a hit answered
 * without a promise skips a microtask hop and the async lookup's allocations on every request. Kept in a
 * side table rather than on `Cache`, so it is no part of the public API.
 */

/**
 * Offers the fresh local value of `key` (not due for early refresh) to `serve`, with `context` passed through
 * so the caller needs no closure per call; true when it took it, which counts as a local hit. False means:
 * ask with `lookup` as usual.
 */
export type LocalHit = <C>(
  key: string,
  serve: (value: unknown, age: number, context: C) => boolean,
  context: C,
) => boolean;

const localHits = new WeakMap<object, LocalHit>();

/** Called by a cache as it is made. */
export function exposeLocalHits(cache: object, localHit: LocalHit): void {
  localHits.set(cache, localHit);
}

/** The cache's side door, or undefined for anything else shaped like a cache (a test double, a wrapper). */
export function localHitsOf(cache: object): LocalHit | undefined {
  return localHits.get(cache);
}
