import { MemoryNetwork } from '../../../src/memory/memory-network.js';
import type { AcquireRequest, Bus, KeyedAcquire, SharedTier, WriteRequest } from '../../../src/types.js';
import type { Random } from './random.js';
import type { Sim } from './sim.js';

/** How the simulated network behaves. */
export interface NetworkModel {
  /** Longest one-way delay of a command or a reply, and of a pub/sub delivery, in virtual ms. */
  readonly maxDelay: number;
  /** Where the server's clock stands against virtual time. */
  readonly serverOffset: number;
}

/**
 * A simulated Redis: the in-memory network's semantics (the same as the Lua scripts'), reached through
 * connections with random delays. Like a TCP connection, each node's command connection applies its
 * commands in order and returns replies in order, and each subscription delivers messages in order; what
 * a node hears on the bus and what it reads on its command connection are not ordered against each other.
 */
export class SimNetwork {
  readonly server: MemoryNetwork;
  readonly #sim: Sim;
  readonly #random: Random;
  readonly #model: NetworkModel;
  /** Until when the server answers nothing (a paused Redis). */
  #stalledUntil = Number.NEGATIVE_INFINITY;

  constructor(sim: Sim, random: Random, model: NetworkModel) {
    this.#sim = sim;
    this.#random = random;
    this.#model = model;
    this.server = new MemoryNetwork({ now: () => Math.floor(sim.now + model.serverOffset) });
  }

  /** The server applies nothing from now until `until` (commands queue, as they do for a paused process). */
  stall(until: number): void {
    this.#stalledUntil = Math.max(this.#stalledUntil, until);
  }

  delay(): number {
    return this.#random() * this.#model.maxDelay;
  }

  /** When something sent now on a connection whose last step happened at `last` takes place. */
  next(last: number): number {
    const at = Math.max(last, this.#sim.now + this.delay());
    return at < this.#stalledUntil ? this.#stalledUntil + this.delay() : at;
  }

  tier(): SharedTier {
    return new SimTier(this, this.#sim);
  }

  bus(): Bus {
    return new SimBus(this, this.#sim);
  }
}

class SimTier implements SharedTier {
  readonly distributed = true;
  readonly #network: SimNetwork;
  readonly #sim: Sim;
  #lastApplied = 0;
  #lastReplied = 0;

  constructor(network: SimNetwork, sim: Sim) {
    this.#network = network;
    this.#sim = sim;
  }

  #call<T>(apply: (server: MemoryNetwork) => T): Promise<T> {
    const appliedAt = this.#network.next(this.#lastApplied);
    this.#lastApplied = appliedAt;
    return new Promise<T>((resolve, reject) => {
      this.#sim.at(appliedAt, () => {
        let outcome: () => void;
        try {
          const value = apply(this.#network.server);
          outcome = () => resolve(value);
        } catch (error) {
          outcome = () => reject(error);
        }
        const repliedAt = Math.max(this.#lastReplied, this.#sim.now + this.#network.delay());
        this.#lastReplied = repliedAt;
        this.#sim.at(repliedAt, outcome);
      });
    });
  }

  acquire(key: string, request: AcquireRequest) {
    return this.#call((s) => s.acquire(key, request));
  }
  acquireMany(requests: readonly KeyedAcquire[]) {
    return this.#call((s) => s.acquireMany(requests));
  }
  commit(key: string, write: WriteRequest, noticeHead: string, inlineLimit: number) {
    return this.#call((s) => s.commit(key, write, noticeHead, inlineLimit));
  }
  abandon(key: string, token: string, backoff: number, notice: string) {
    return this.#call((s) => s.abandon(key, token, backoff, notice));
  }
  renew(key: string, token: string, leaseTtl: number) {
    return this.#call((s) => s.renew(key, token, leaseTtl));
  }
  get(key: string) {
    return this.#call((s) => s.read(key).raw);
  }
  clockDomain(): number {
    return 0;
  }
  read(key: string) {
    return this.#call((s) => s.read(key));
  }
  write(key: string, write: WriteRequest, notice: string) {
    return this.#call((s) => s.write(key, write, notice));
  }
  remove(keys: readonly string[], notice: (key: string) => string) {
    return this.#call((s) => s.remove(keys, notice));
  }
  invalidateTag(tag: string, noticeHead: string, lifetime: number) {
    return this.#call((s) => s.invalidateTag(tag, noticeHead, lifetime));
  }
  tagStamps(tags: readonly string[]) {
    return this.#call((s) => s.tagStamps(tags));
  }
  touchTags(tags: readonly string[], lifetime: number) {
    return this.#call((s) => s.touchTags(tags, lifetime));
  }
  async close(): Promise<void> {}
}

class SimBus implements Bus {
  readonly #network: SimNetwork;
  readonly #sim: Sim;
  #unsubscribe: (() => void) | undefined;
  #onMessage: ((message: string) => void) | undefined;
  #lastDelivered = 0;

  constructor(network: SimNetwork, sim: Sim) {
    this.#network = network;
    this.#sim = sim;
  }

  async subscribe(onMessage: (message: string) => void): Promise<void> {
    this.#onMessage = onMessage;
    this.#unsubscribe = this.#network.server.subscribe((message) => this.#deliver(message));
  }

  #deliver(message: string): void {
    const at = Math.max(this.#lastDelivered, this.#sim.now + this.#network.delay());
    this.#lastDelivered = at;
    this.#sim.at(at, () => {
      if (this.#unsubscribe) this.#onMessage?.(message);
    });
  }

  async beat(message: string): Promise<void> {
    if (this.#unsubscribe) this.#deliver(message);
  }

  reconnect(): void {}

  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}
