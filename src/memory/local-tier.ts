import { LRUCache } from 'lru-cache';
import type { LocalTierOptions } from '../options.js';
import type { Entry, LocalTier } from '../types.js';

/** The in-process tier on lru-cache, bounded by entry count and optionally by size. */
export class LruLocalTier implements LocalTier {
  readonly #lru: LRUCache<string, Entry>;
  readonly #sized: boolean;

  constructor(options: Readonly<LocalTierOptions>) {
    const max = options.max ?? 10_000;
    this.#sized = options.maxSize !== undefined;
    // Entries are stored bare (no wrapper object): a local hit is the hot path.
    this.#lru =
      options.maxSize === undefined
        ? new LRUCache<string, Entry>({ max })
        : new LRUCache<string, Entry>({ max, maxSize: options.maxSize });
  }

  get(key: string): Entry | undefined {
    return this.#lru.get(key);
  }

  set(key: string, entry: Entry, size: number): void {
    if (this.#sized) this.#lru.set(key, entry, { size: Math.max(1, size) });
    else this.#lru.set(key, entry);
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
