import type { Lookup } from '../types.js';
import { fill, type NodeState, served } from './node.js';
import { type Reading, readStored } from './reading.js';
import { ServerClocks } from './server-clock.js';

/**
 * Reads of the shared entry that take no lease: a caller's first question, and `peek`. They cost a plain
 * GET while this node knows where the server's clock is (learned from the scripts' replies).
 */
export class SharedReads {
  readonly #node: NodeState;
  /** Where each server's clock sits on this node's, so a plain GET can be judged without asking the time. */
  readonly #serverClocks: ServerClocks;

  constructor(node: NodeState) {
    this.#node = node;
    this.#serverClocks = new ServerClocks(node.clock);
  }

  /** Records the server time a lease script replied with; returns the offset that places it here. */
  learn(key: string, sentAt: number, serverNow: number): number {
    return this.#serverClocks.learn(this.#node.shared.clockDomain(key), sentAt, serverNow);
  }

  /**
   * One read of the shared entry without the lease, placed on this node's clock: a plain GET while this
   * node knows where the server's clock is, else a read that also asks the server's time (and teaches it).
   * With `reportProblems` false, foreign data under the key reads as nothing and is left for the lease
   * script to report, so it is reported once.
   */
  read(key: string, reportProblems: boolean): Promise<Reading> {
    const node = this.#node;
    const offset = this.#serverClocks.offset(node.shared.clockDomain(key));
    if (offset === undefined) return this.#readWithTime(key, reportProblems);
    // Chained, not awaited in an async function: this is every shared hit's path, and each async layer
    // costs a promise and a turn of the microtask queue.
    return node.shared
      .get(key)
      .then((raw) =>
        raw === undefined
          ? this.#readWithTime(key, reportProblems)
          : readStored(node, key, raw, undefined, offset, reportProblems),
      );
  }

  async #readWithTime(key: string, reportProblems: boolean): Promise<Reading> {
    const node = this.#node;
    const sentAt = node.clock.now();
    const read = await node.shared.read(key);
    if (!reportProblems && read.problem !== undefined) return {};
    const problem = reportProblems ? read.problem : undefined;
    const learned = this.#serverClocks.learn(node.shared.clockDomain(key), sentAt, read.serverNow);
    return readStored(node, key, read.raw, problem, learned, reportProblems);
  }

  /**
   * A shared hit at the cost of a GET: one read of the entry and the server's clock, no lease logic. Only
   * an entry that is fresh and not due for early refresh, as judged on this node's (conservative) view of
   * the server's clock, is served; anything else goes to the lease script, which decides authoritatively.
   */
  freshHit(key: string, stamp: number): Promise<Lookup<unknown> | undefined> {
    return this.read(key, false).then((reading) => {
      const stored = reading.entry;
      const node = this.#node;
      const now = node.clock.now();
      if (stored === undefined || now >= stored.freshUntil || now >= stored.refreshAt) return undefined;
      fill(node, key, stored, reading.encoded as string, stamp);
      node.emit('hit', { key, tier: 'shared', age: now - stored.createdAt });
      return served(stored, 'hit', 'shared', now);
    });
  }
}
