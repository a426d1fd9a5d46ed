import type { AcquireRequest, Bus, SharedRead, SharedTier } from '../types.js';

interface Stored {
  readonly value: string;
  readonly expiresAt: number;
}

const BACKOFF_PREFIX = '!backoff:';

/**
 * An in-process stand-in for Redis: entries, leases, tag times and a message bus shared by every node
 * created from it. Used for single-process mode (where it keeps leases but no values; the local tier holds
 * those) and by unit tests that run several caches in one process as a fleet.
 */
export class MemoryNetwork {
  readonly #entries = new Map<string, Stored>();
  readonly #leases = new Map<string, Stored>();
  readonly #tagTimes = new Map<string, number>();
  readonly #subscribers = new Set<(message: string) => void>();
  readonly #retainValues: boolean;

  /** @param retainValues false keeps leases only (single-process mode). */
  constructor(retainValues = true) {
    this.#retainValues = retainValues;
  }

  /** A shared tier handle onto this network. */
  tier(): SharedTier {
    return new MemorySharedTier(this);
  }

  /** A bus handle onto this network. */
  bus(): Bus {
    return new MemoryBus(this);
  }

  /** Test hook: the raw text stored under a key, if live. */
  peek(key: string): string | undefined {
    return this.#live(this.#entries, key)?.value;
  }

  /** Test hook: store anything under a key, as a foreign writer would. */
  poke(key: string, raw: string, ttl = 60_000): void {
    this.#entries.set(key, { value: raw, expiresAt: Date.now() + ttl });
  }

  #live(map: Map<string, Stored>, key: string): Stored | undefined {
    const stored = map.get(key);
    if (stored && stored.expiresAt <= Date.now()) {
      map.delete(key);
      return undefined;
    }
    return stored;
  }

  publish(message: string): void {
    for (const subscriber of [...this.#subscribers]) queueMicrotask(() => subscriber(message));
  }

  subscribe(subscriber: (message: string) => void): () => void {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  acquire(key: string, request: AcquireRequest): SharedRead {
    const raw = this.#live(this.#entries, key)?.value ?? null;
    const id = raw?.startsWith('hc1 ') ? raw.split(' ', 3)[1] : undefined;
    const freshUntil = raw?.startsWith('hc1 ') ? Number(raw.split(' ', 5)[3]) : Number.NaN;
    let needsLoad: boolean;
    if (raw === null || Number.isNaN(freshUntil)) needsLoad = true;
    else if (request.refreshOf !== undefined) needsLoad = id === request.refreshOf;
    else needsLoad = freshUntil <= request.now;
    if (!needsLoad) return { raw, role: 'fresh', remaining: 0 };
    const lease = this.#live(this.#leases, key);
    if (lease && !request.force) {
      const remaining = lease.expiresAt - Date.now();
      if (lease.value.startsWith(BACKOFF_PREFIX)) {
        return { raw, role: 'backoff', remaining, failure: lease.value.slice(BACKOFF_PREFIX.length) };
      }
      return { raw, role: 'follower', remaining };
    }
    this.#leases.set(key, { value: request.token, expiresAt: Date.now() + request.leaseTtl });
    return { raw, role: 'leader', remaining: request.leaseTtl };
  }

  commit(key: string, token: string, raw: string, ttl: number, notice: string): boolean {
    if (this.#live(this.#leases, key)?.value !== token) return false;
    if (this.#retainValues) this.#entries.set(key, { value: raw, expiresAt: Date.now() + ttl });
    this.#leases.delete(key);
    this.publish(notice);
    return true;
  }

  abandon(key: string, token: string, backoff: number, notice: string): void {
    if (this.#live(this.#leases, key)?.value === token) {
      if (backoff > 0) {
        this.#leases.set(key, { value: `${BACKOFF_PREFIX}${notice}`, expiresAt: Date.now() + backoff });
      } else this.#leases.delete(key);
    }
    this.publish(notice);
  }

  renew(key: string, token: string, leaseTtl: number): boolean {
    if (this.#live(this.#leases, key)?.value !== token) return false;
    this.#leases.set(key, { value: token, expiresAt: Date.now() + leaseTtl });
    return true;
  }

  read(key: string): string | null {
    return this.#live(this.#entries, key)?.value ?? null;
  }

  write(key: string, raw: string, ttl: number, notice: string): void {
    const current = this.#live(this.#entries, key)?.value;
    if (current !== undefined && createdAtOf(current) > createdAtOf(raw)) return;
    if (this.#retainValues) this.#entries.set(key, { value: raw, expiresAt: Date.now() + ttl });
    this.#leases.delete(key);
    this.publish(notice);
  }

  remove(keys: readonly string[], notice: (key: string) => string): void {
    for (const key of keys) {
      this.#entries.delete(key);
      this.#leases.delete(key);
      this.publish(notice(key));
    }
  }

  invalidateTags(tags: readonly string[], at: number, notice: string): void {
    for (const tag of tags) this.#tagTimes.set(tag, Math.max(at, this.#tagTimes.get(tag) ?? 0));
    this.publish(notice);
  }

  tagTimes(tags: readonly string[]): (number | undefined)[] {
    return tags.map((tag) => this.#tagTimes.get(tag));
  }
}

/** The store time in an entry's header; foreign text counts as older than anything. */
function createdAtOf(raw: string): number {
  const created = raw.startsWith('hc1 ') ? Number(raw.split(' ', 3)[2]) : Number.NaN;
  return Number.isFinite(created) ? created : Number.NEGATIVE_INFINITY;
}

class MemorySharedTier implements SharedTier {
  readonly distributed = true;
  readonly #network: MemoryNetwork;

  constructor(network: MemoryNetwork) {
    this.#network = network;
  }

  async acquire(key: string, request: AcquireRequest): Promise<SharedRead> {
    return this.#network.acquire(key, request);
  }
  async commit(key: string, token: string, raw: string, ttl: number, notice: string): Promise<boolean> {
    return this.#network.commit(key, token, raw, ttl, notice);
  }
  async abandon(key: string, token: string, backoff: number, notice: string): Promise<void> {
    this.#network.abandon(key, token, backoff, notice);
  }
  async renew(key: string, token: string, leaseTtl: number): Promise<boolean> {
    return this.#network.renew(key, token, leaseTtl);
  }
  async read(key: string): Promise<string | null> {
    return this.#network.read(key);
  }
  async write(key: string, raw: string, ttl: number, notice: string): Promise<void> {
    this.#network.write(key, raw, ttl, notice);
  }
  async remove(keys: readonly string[], notice: (key: string) => string): Promise<void> {
    this.#network.remove(keys, notice);
  }
  async invalidateTags(tags: readonly string[], at: number, notice: string): Promise<void> {
    this.#network.invalidateTags(tags, at, notice);
  }
  async tagTimes(tags: readonly string[]): Promise<readonly (number | undefined)[]> {
    return this.#network.tagTimes(tags);
  }
  async close(): Promise<void> {}
}

class MemoryBus implements Bus {
  readonly #network: MemoryNetwork;
  #unsubscribe: (() => void) | undefined;
  #handlers: { onMessage: (message: string) => void; onLost: (reason: string) => void } | undefined;

  constructor(network: MemoryNetwork) {
    this.#network = network;
  }

  async subscribe(onMessage: (message: string) => void, onLost: (reason: string) => void): Promise<void> {
    this.#handlers = { onMessage, onLost };
    this.#unsubscribe = this.#network.subscribe(onMessage);
  }

  async publish(message: string): Promise<void> {
    this.#network.publish(message);
  }

  reconnect(): void {
    if (!this.#handlers) return;
    this.#unsubscribe?.();
    this.#unsubscribe = this.#network.subscribe(this.#handlers.onMessage);
    this.#handlers.onLost('resubscribed');
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}
