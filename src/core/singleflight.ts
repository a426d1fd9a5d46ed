/** One in-flight promise per key in this process: concurrent callers share its value or its error. */
export class SingleFlight<T> {
  readonly #flights = new Map<string, Promise<T>>();

  /** Joins the flight for `key`, or starts one with `run`. */
  run(key: string, run: () => Promise<T>): Promise<T> {
    const current = this.#flights.get(key);
    if (current) return current;
    const flight = run().finally(() => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    });
    this.#flights.set(key, flight);
    return flight;
  }

  has(key: string): boolean {
    return this.#flights.has(key);
  }
}
