import type { Clock } from './clock.js';

/** One deadline in a `DeadlineQueue`; `settle()` withdraws it. */
export interface QueuedDeadline {
  /** Withdraws the deadline: its call ended in time. */
  settle(): void;
}

class Pending implements QueuedDeadline {
  due: number;
  done = false;
  /** Whether this call was already given its one more deadline. */
  extended = false;
  /** Dropped once settled: it holds its call's promise, which must not live on until the deadline. */
  onExpire: (() => void) | undefined;

  constructor(due: number, onExpire: () => void) {
    this.due = due;
    this.onExpire = onExpire;
  }

  settle(): void {
    this.done = true;
    this.onExpire = undefined;
  }
}

/**
 * Deadlines that all have the same length, kept in the order they were set (which is the order they fall
 * due) under one timer. A Redis call on the hot path costs a queue slot, not a timer of its own.
 *
 * Under CPU pressure the timer fires late, and the answer may be sitting in the socket already: a deadline is
 * judged only once that I/O has been read. A timer more than half a deadline late means this process, not
 * the server, was slow: those calls get one more deadline, once.
 */
export class DeadlineQueue {
  readonly #clock: Clock;
  readonly #length: number;
  #queue: Pending[] = [];
  #head = 0;
  #armed = false;

  constructor(clock: Clock, length: number) {
    this.#clock = clock;
    this.#length = length;
  }

  /** How many deadlines the queue holds: those in flight, and settled ones behind one still in flight. */
  get held(): number {
    return this.#queue.length - this.#head;
  }

  /** Calls `onExpire` once the deadline has passed, unless settled before. */
  add(onExpire: () => void): QueuedDeadline {
    const pending = new Pending(this.#clock.now() + this.#length, onExpire);
    // Calls on one connection are answered in order, so the settled ones are mostly at the head: dropping
    // them here keeps the queue as long as the calls in flight, instead of every call of the last deadline
    // (tens of thousands of objects a busy process would otherwise carry into the old generation).
    while (this.#head < this.#queue.length && (this.#queue[this.#head] as Pending).done) this.#head += 1;
    this.#compact();
    this.#queue.push(pending);
    if (!this.#armed) this.#arm(this.#length);
    return pending;
  }

  #arm(ms: number): void {
    this.#armed = true;
    this.#clock.schedule(() => this.#fire(), Math.max(1, ms));
  }

  #fire(): void {
    this.#armed = false;
    const now = this.#clock.now();
    const expired: Pending[] = [];
    const extended: Pending[] = [];
    while (this.#head < this.#queue.length) {
      const pending = this.#queue[this.#head] as Pending;
      if (!pending.done && pending.due > now) break;
      this.#head += 1;
      if (pending.done) continue;
      if (pending.extended || now - pending.due <= this.#length / 2) expired.push(pending);
      else {
        pending.due = now + this.#length;
        pending.extended = true;
        extended.push(pending);
      }
    }
    this.#compact();
    // Extended deadlines fall due after every one still queued, so the order holds.
    this.#queue.push(...extended);
    const next = this.#queue[this.#head];
    if (next !== undefined) this.#arm(next.due - now);
    if (expired.length > 0) {
      this.#clock.afterPendingIo(() => {
        for (const pending of expired) if (!pending.done) pending.onExpire?.();
      });
    }
  }

  /** Drops the slots already passed, once they are most of the array. */
  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
