import type { Generations } from './generations.js';

/**
 * One in-flight promise per key in this process: concurrent callers share its value or its error. A flight
 * started before the key (or any tag) was invalidated on this node is not joined any more: a caller that
 * starts after an invalidation must not get the value of a load that started before it. The old flight
 * still settles for the callers it already has.
 */
export class SingleFlight<T> {
  readonly #flights = new Map<string, { readonly promise: Promise<T>; readonly stamp: number }>();
  readonly #generations: Generations;

  constructor(generations: Generations) {
    this.#generations = generations;
  }

  /** The flight a caller may join now, if any. */
  get(key: string): Promise<T> | undefined {
    const current = this.#flights.get(key);
    if (current === undefined) return undefined;
    const generations = this.#generations;
    if (generations.keyChangedSince(key, current.stamp) || generations.anyTagChangedSince(current.stamp)) {
      return undefined;
    }
    return current.promise;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Joins the flight for `key`, or starts one with `run`. */
  run(key: string, run: () => Promise<T>): Promise<T> {
    const current = this.get(key);
    if (current !== undefined) return current;
    const stamp = this.#generations.stamp();
    return this.track(key, run(), stamp);
  }

  /** Records `promise`, started when the generations read `stamp`, as the flight for `key` until it settles. */
  track(key: string, promise: Promise<T>, stamp: number = this.#generations.stamp()): Promise<T> {
    const flight = { promise, stamp };
    const settled = () => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    };
    promise.then(settled, settled);
    this.#flights.set(key, flight);
    return promise;
  }
}
