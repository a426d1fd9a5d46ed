/**
 * The caches alive in this process, so that metrics can read what the hot path only counts: a fresh local
 * hit increments a number and publishes nothing (an event per hit would cost a third of its throughput).
 * Kept on `globalThis` under a registered symbol, so the ESM and CommonJS builds loaded side by side share
 * it, as they share the diagnostics channels.
 */

/** What a cache's engine counts. */
export interface HitCounter {
  readonly localHits: number;
}

/** What a cache's local tier holds. */
export interface SizedTier {
  readonly size: number;
}

interface Registered {
  readonly cache: string;
  readonly counter: WeakRef<HitCounter>;
  readonly tier: WeakRef<SizedTier>;
}

interface Registry {
  readonly live: Set<Registered>;
  /** Local hits of closed caches, per cache name, so the counts stay monotonic. */
  readonly retired: Map<string, number>;
}

const KEY = Symbol.for('herdcache.observability.registry');

function registry(): Registry {
  const holder = globalThis as { [KEY]?: Registry };
  holder[KEY] ??= { live: new Set(), retired: new Map() };
  return holder[KEY];
}

/**
 * Registers a cache's counters under its name; returns the function that unregisters it (on close). Held
 * weakly: a cache dropped without `close()` is not kept alive by this.
 */
export function registerCache(cache: string, counter: HitCounter, tier: SizedTier): () => void {
  const { live, retired } = registry();
  const entry: Registered = { cache, counter: new WeakRef(counter), tier: new WeakRef(tier) };
  live.add(entry);
  return () => {
    if (!live.delete(entry)) return;
    const hits = entry.counter.deref()?.localHits ?? 0;
    retired.set(cache, (retired.get(cache) ?? 0) + hits);
  };
}

/** Per cache name: local hits since start (closed caches included) and local-tier entries now. */
export function localCounts(): Map<string, { localHits: number; localEntries: number }> {
  const { live, retired } = registry();
  const counts = new Map<string, { localHits: number; localEntries: number }>();
  for (const [cache, hits] of retired) counts.set(cache, { localHits: hits, localEntries: 0 });
  for (const entry of live) {
    const counter = entry.counter.deref();
    if (counter === undefined) {
      live.delete(entry);
      continue;
    }
    const sum = counts.get(entry.cache) ?? { localHits: 0, localEntries: 0 };
    sum.localHits += counter.localHits;
    sum.localEntries += entry.tier.deref()?.size ?? 0;
    counts.set(entry.cache, sum);
  }
  return counts;
}
