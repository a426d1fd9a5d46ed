// Past this many names the maps are emptied and a floor takes their place (see `#prune`).
const DEFAULT_LIMIT = 50_000;

/**
 * Change stamps of keys and tags on one node, for "has anything invalidated this key (or tag) since I sent
 * my request?". Every change takes the next value of one counter; a request remembers `stamp()` when it is
 * sent; its answer may fill the local tier only if nothing it depends on changed since.
 *
 * Bounded: past `limit` names the maps are emptied and every forgotten name reads as changed at the moment
 * of pruning. That is conservative: a fill refused for nothing costs one more read, never a stale value.
 */
export class Generations {
  readonly #keys = new Map<string, number>();
  readonly #tags = new Map<string, number>();
  readonly #limit: number;
  #counter = 0;
  /** The stamp of every name in neither map. */
  #floor = 0;
  #lastTagChange = 0;

  constructor(limit = DEFAULT_LIMIT) {
    this.#limit = limit;
  }

  /** The current stamp; remember it when a request is sent. */
  stamp(): number {
    return this.#counter;
  }

  /** `key` changed now (invalidated or set, here or elsewhere). */
  bumpKey(key: string): void {
    this.#bump(this.#keys, key);
  }

  /** `tag` changed now (invalidated, here or elsewhere). */
  bumpTag(tag: string): void {
    this.#bump(this.#tags, tag);
    this.#lastTagChange = this.#counter;
  }

  /** Everything changed now (the local tier was flushed: messages may have been lost). */
  bumpAll(): void {
    this.#counter += 1;
    this.#prune();
    this.#lastTagChange = this.#counter;
  }

  keyChangedSince(key: string, stamp: number): boolean {
    return (this.#keys.get(key) ?? this.#floor) > stamp;
  }

  tagChangedSince(tag: string, stamp: number): boolean {
    return (this.#tags.get(tag) ?? this.#floor) > stamp;
  }

  /** Whether any tag at all changed after `stamp`: what a shared in-process load must check, its tags unknown. */
  anyTagChangedSince(stamp: number): boolean {
    return this.#lastTagChange > stamp;
  }

  #bump(map: Map<string, number>, name: string): void {
    this.#counter += 1;
    if (this.#keys.size + this.#tags.size >= this.#limit && !map.has(name)) this.#prune();
    map.set(name, this.#counter);
  }

  #prune(): void {
    this.#keys.clear();
    this.#tags.clear();
    this.#floor = this.#counter;
  }
}
