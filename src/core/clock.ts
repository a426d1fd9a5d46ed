/**
 * Date.now() at millisecond resolution, read at most once per millisecond: on the local-hit path the
 * clock read costs as much as the LRU lookup. The cached reading is dropped by a 1 ms timer that is only
 * armed while reads happen, so an idle cache schedules nothing.
 */
export class CoarseClock {
  #now = 0;
  readonly #forget = () => {
    this.#now = 0;
  };

  now(): number {
    if (this.#now !== 0) return this.#now;
    this.#now = Date.now();
    setTimeout(this.#forget, 1).unref();
    return this.#now;
  }
}
