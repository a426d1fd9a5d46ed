import { LRUCache } from 'lru-cache';
import type { LocalTierOptions } from '../options.js';
import type { Entry, LocalTier } from '../types.js';

interface Sized {
  readonly entry: Entry;
  readonly size: number;
}

/** The in-process tier on lru-cache, bounded by entry count and optionally by size. */
export class LruLocalTier implements LocalTier {
  readonly #lru: LRUCache<string, Sized>;

  constructor(options: Readonly<LocalTierOptions>) {
    this.#lru =
      options.maxSize === undefined
        ? new LRUCache<string, Sized>({ max: options.max ?? 10_000 })
        : new LRUCache<string, Sized>({
            max: options.max ?? 10_000,
            maxSize: options.maxSize,
            sizeCalculation: (sized) => Math.max(1, sized.size),
          });
  }

  get(key: string): Entry | undefined {
    return this.#lru.get(key)?.entry;
  }

  set(key: string, entry: Entry, size: number): void {
    this.#lru.set(key, { entry, size });
  }

  delete(key: string): void {
    this.#lru.delete(key);
  }

  clear(): void {
    this.#lru.clear();
  }

  get size(): number {
    return this.#lru.size;
  }
}

/** No local tier (`local: false`): every read goes to the shared tier. */
export class NoLocalTier implements LocalTier {
  get(): Entry | undefined {
    return undefined;
  }
  set(): void {}
  delete(): void {}
  clear(): void {}
  readonly size = 0;
}
