import { writeEnvelope } from '../core/envelope.js';
import type { AcquireRequest, Bus, KeyedAcquire, SharedRead, SharedTier, WriteRequest } from '../types.js';

interface Stored {
  readonly value: string;
  readonly expiresAt: number;
}

const BACKOFF_PREFIX = '!backoff:';

/** Options of an in-memory network. */
export interface MemoryNetworkOptions {
  /** false keeps leases and tag stamps only (single-process mode: the local tier holds the values). */
  readonly retainValues?: boolean;
  /** The "server" clock, in integer milliseconds. */
  readonly now?: () => number;
}

const header = /^hc2 (\S+) (\d+) (\d+) \d+ \d+ (\d+) /;

/**
 * An in-process stand-in for Redis: entries, leases, tag stamps and a message bus shared by every node
 * created from it, with the same semantics as the Lua scripts (the contract suite runs both). Used for
 * single-process mode and by unit tests that run several caches in one process as a fleet.
 */
export class MemoryNetwork {
  readonly #entries = new Map<string, Stored>();
  readonly #leases = new Map<string, Stored>();
  readonly #tags = new Map<string, Stored>();
  readonly #subscribers = new Set<(message: string) => void>();
  readonly #retainValues: boolean;
  readonly now: () => number;

  constructor(options: MemoryNetworkOptions = {}) {
    this.#retainValues = options.retainValues ?? true;
    this.now = options.now ?? (() => Math.floor(performance.now()));
  }

  /** A shared tier handle onto this network. */
  tier(): SharedTier {
    return new MemorySharedTier(this, this.#retainValues);
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
    this.#entries.set(key, { value: raw, expiresAt: this.now() + ttl });
  }

  /** Test hook: the number of live tag records. */
  get tagRecords(): number {
    for (const tag of [...this.#tags.keys()]) this.#live(this.#tags, tag);
    return this.#tags.size;
  }

  /** Test hook: how long a tag's record has left to live, in milliseconds (-2: none, like PTTL). */
  tagTtl(tag: string): number {
    const record = this.#live(this.#tags, tag);
    return record === undefined ? -2 : record.expiresAt - this.now();
  }

  #live(map: Map<string, Stored>, key: string): Stored | undefined {
    const stored = map.get(key);
    if (stored && stored.expiresAt <= this.now()) {
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
    const now = this.now();
    const raw = this.#live(this.#entries, key)?.value ?? null;
    const parsed = raw === null ? null : header.exec(raw);
    let state: 'missing' | 'stale' | 'fresh' | 'due';
    if (!parsed) state = 'missing';
    else if (request.mode === 'replace' && parsed[1] === request.id) state = 'missing';
    else {
      const created = Number(parsed[2]);
      const fresh = Number(parsed[3]);
      const loadMs = Number(parsed[4]);
      if (fresh <= now) state = 'stale';
      else if (request.mode === 'refresh' && parsed[1] === request.id) state = 'due';
      else if (
        request.refreshMargin !== undefined &&
        fresh - now <= Math.min(loadMs + request.refreshMargin, (fresh - created) / 2)
      ) {
        state = 'due';
      } else state = 'fresh';
    }
    if (state === 'fresh') return { raw, role: 'fresh', remaining: 0, serverNow: now };
    const lease = this.#live(this.#leases, key);
    if (lease && (state === 'due' || request.mode !== 'force')) {
      if (state === 'due') return { raw, role: 'fresh', remaining: 0, serverNow: now };
      const remaining = lease.expiresAt - now;
      if (!lease.value.startsWith(BACKOFF_PREFIX)) {
        return { raw, role: 'follower', remaining, serverNow: now, holder: lease.value };
      }
      const marker = lease.value.slice(BACKOFF_PREFIX.length);
      const space = marker.indexOf(' ');
      if (!(request.mode === 'lift' && marker.slice(0, space) === request.id)) {
        return { raw, role: 'backoff', remaining, serverNow: now, failure: marker.slice(space + 1) };
      }
    }
    this.#leases.set(key, { value: request.token, expiresAt: now + request.leaseTtl });
    return { raw, role: 'leader', remaining: request.leaseTtl, serverNow: now };
  }

  /** Every request in one atomic step, as the batch script does. */
  acquireMany(requests: readonly KeyedAcquire[]): SharedRead[] {
    return requests.map(({ key, request }) => this.acquire(key, request));
  }

  #store(key: string, write: WriteRequest, now: number): string {
    const createdAt = now - write.elapsed;
    const freshUntil = createdAt + write.ttl;
    const raw = writeEnvelope(
      write.id,
      {
        createdAt,
        freshUntil,
        staleUntil: freshUntil + write.staleWhileRevalidate,
        errorUntil: freshUntil + write.staleIfError,
      },
      write.tail,
    );
    const keep = Math.max(
      1,
      write.ttl + Math.max(write.staleWhileRevalidate, write.staleIfError) - write.elapsed,
    );
    if (this.#retainValues) this.#entries.set(key, { value: raw, expiresAt: now + keep });
    return raw;
  }

  commit(
    key: string,
    write: WriteRequest,
    noticeHead: string,
    inlineLimit: number,
  ): { stored: boolean; serverNow: number } {
    const now = this.now();
    if (this.#live(this.#leases, key)?.value !== write.id) return { stored: false, serverNow: now };
    const raw = this.#store(key, write, now);
    this.#leases.delete(key);
    // Without retained values a caller waiting on the lease cannot read the value afterwards (it lives in
    // the leader's local tier, not here), so the notice carries it whatever its size: in-process, riding
    // along costs no bandwidth, and asking again would only find no value and no lease, and load again.
    const inline = !this.#retainValues || raw.length <= inlineLimit;
    this.publish(`${noticeHead}${now}|${inline ? raw : ''}`);
    return { stored: true, serverNow: now };
  }

  abandon(key: string, token: string, backoff: number, notice: string): boolean {
    const now = this.now();
    if (this.#live(this.#leases, key)?.value !== token) return false;
    if (backoff > 0) {
      this.#leases.set(key, { value: `${BACKOFF_PREFIX}${token} ${notice}`, expiresAt: now + backoff });
    } else this.#leases.delete(key);
    this.publish(notice);
    return true;
  }

  renew(key: string, token: string, leaseTtl: number): boolean {
    if (this.#live(this.#leases, key)?.value !== token) return false;
    this.#leases.set(key, { value: token, expiresAt: this.now() + leaseTtl });
    return true;
  }

  read(key: string): { raw: string | null; serverNow: number } {
    return { raw: this.#live(this.#entries, key)?.value ?? null, serverNow: this.now() };
  }

  write(key: string, write: WriteRequest, notice: string): { serverNow: number } {
    const now = this.now();
    this.#store(key, write, now);
    this.#leases.delete(key);
    this.publish(notice);
    return { serverNow: now };
  }

  remove(keys: readonly string[], notice: (key: string) => string): void {
    for (const key of keys) {
      this.#entries.delete(key);
      this.#leases.delete(key);
      this.publish(notice(key));
    }
  }

  invalidateTag(tag: string, noticeHead: string, lifetime: number): number {
    const now = this.now();
    const current = this.#live(this.#tags, tag);
    const stamp = Math.max(now, Number(current?.value ?? 0) + 1);
    const expiresAt = Math.max(current?.expiresAt ?? 0, now + lifetime);
    this.#tags.set(tag, { value: String(stamp), expiresAt });
    this.publish(`${noticeHead}${stamp}|`);
    return stamp;
  }

  tagStamps(tags: readonly string[]): number[] {
    return tags.map((tag) => Number(this.#live(this.#tags, tag)?.value ?? 0));
  }

  touchTags(tags: readonly string[], lifetime: number): number[] {
    const now = this.now();
    return tags.map((tag) => {
      const current = this.#live(this.#tags, tag);
      const value = current?.value ?? '0';
      this.#tags.set(tag, { value, expiresAt: Math.max(current?.expiresAt ?? 0, now + lifetime) });
      return Number(value);
    });
  }
}

class MemorySharedTier implements SharedTier {
  /** Single-process mode's lease table is not a shared tier: nothing lives there that another node could change. */
  readonly distributed: boolean;
  readonly #network: MemoryNetwork;

  constructor(network: MemoryNetwork, distributed: boolean) {
    this.#network = network;
    this.distributed = distributed;
  }

  async acquire(key: string, request: AcquireRequest): Promise<SharedRead> {
    return this.#network.acquire(key, request);
  }
  async acquireMany(requests: readonly KeyedAcquire[]): Promise<readonly SharedRead[]> {
    return this.#network.acquireMany(requests);
  }
  async commit(key: string, write: WriteRequest, noticeHead: string, inlineLimit: number) {
    return this.#network.commit(key, write, noticeHead, inlineLimit);
  }
  async abandon(key: string, token: string, backoff: number, notice: string): Promise<boolean> {
    return this.#network.abandon(key, token, backoff, notice);
  }
  async renew(key: string, token: string, leaseTtl: number): Promise<boolean> {
    return this.#network.renew(key, token, leaseTtl);
  }
  async get(key: string): Promise<string | null> {
    return this.#network.read(key).raw;
  }
  clockDomain(): number {
    return 0;
  }
  async read(key: string) {
    return this.#network.read(key);
  }
  async write(key: string, write: WriteRequest, notice: string) {
    return this.#network.write(key, write, notice);
  }
  async remove(keys: readonly string[], notice: (key: string) => string): Promise<void> {
    this.#network.remove(keys, notice);
  }
  async invalidateTag(tag: string, noticeHead: string, lifetime: number): Promise<number> {
    return this.#network.invalidateTag(tag, noticeHead, lifetime);
  }
  async tagStamps(tags: readonly string[]): Promise<readonly (number | undefined)[]> {
    return this.#network.tagStamps(tags);
  }
  async touchTags(tags: readonly string[], lifetime: number): Promise<readonly number[]> {
    return this.#network.touchTags(tags, lifetime);
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

  async beat(message: string): Promise<void> {
    const handlers = this.#handlers;
    if (handlers && this.#unsubscribe) queueMicrotask(() => handlers.onMessage(message));
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
