import type { Clock } from '../../../src/core/clock.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
  cancelled: boolean;
}

/**
 * Virtual time for a whole fleet in one process. Timers run in (time, creation) order; between two timers
 * every pending microtask runs, so the code under test sees the same interleaving on every replay.
 */
export class Sim {
  now = 0;
  readonly #heap: Timer[] = [];
  #seq = 0;

  /** Runs `run` at virtual time `at` (not before now). */
  at(at: number, run: () => void): () => void {
    const timer: Timer = { at: Math.max(at, this.now), seq: this.#seq++, run, cancelled: false };
    this.#push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** A node's clock: virtual time seen with `offset` (nodes never agree on the time of day). */
  clock(offset: number): Clock {
    return {
      now: () => this.now + offset,
      schedule: (callback, ms) => this.at(this.now + Math.max(0, ms), callback),
      afterPendingIo: (callback) => this.at(this.now, callback),
    };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.at(this.now + ms, resolve));
  }

  /** Runs timers until none is left before `until`; returns whether timers remain. */
  async run(until = Number.POSITIVE_INFINITY): Promise<boolean> {
    for (;;) {
      await drain();
      const next = this.#pop();
      if (next === undefined) return false;
      if (next.at > until) {
        this.#push(next);
        return true;
      }
      this.now = next.at;
      next.run();
    }
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Timer, heap[parent] as Timer)) break;
      [heap[i], heap[parent]] = [heap[parent] as Timer, heap[i] as Timer];
      i = parent;
    }
  }

  #pop(): Timer | undefined {
    const heap = this.#heap;
    for (;;) {
      const top = heap[0];
      if (top === undefined) return undefined;
      const last = heap.pop() as Timer;
      if (heap.length > 0) {
        heap[0] = last;
        let i = 0;
        for (;;) {
          const left = 2 * i + 1;
          const right = left + 1;
          let smallest = i;
          if (left < heap.length && before(heap[left] as Timer, heap[smallest] as Timer)) smallest = left;
          if (right < heap.length && before(heap[right] as Timer, heap[smallest] as Timer)) smallest = right;
          if (smallest === i) break;
          [heap[i], heap[smallest]] = [heap[smallest] as Timer, heap[i] as Timer];
          i = smallest;
        }
      }
      if (!top.cancelled) return top;
    }
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Lets every queued microtask (and what they queue) run. */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
