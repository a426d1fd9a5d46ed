import type { Clock } from './clock.js';

/** What a follower can be woken by. Results carry the lease token of the load they come from. */
export type Wake =
  | { kind: 'loaded'; token: string; serverNow: number; raw?: string }
  | {
      kind: 'failed';
      token: string;
      name: string;
      message: string;
      tags: readonly string[];
      stamps: readonly number[];
    }
  | { kind: 'empty' | 'released'; token: string }
  /** The key was invalidated or set: any lease was revoked. */
  | { kind: 'invalidated' }
  /** Messages may have been lost (subscription gap): ask the shared tier again. */
  | { kind: 'lost' }
  | { kind: 'closed' }
  | { kind: 'timeout' };

/**
 * A wait armed before the shared tier is asked, so that a message arriving while the question is on its way
 * is not lost. Every message for the key is kept, in order, not only the first.
 */
export interface ArmedWait {
  /** Drops what was received so far: call it right before each new question to the shared tier. */
  reset(): void;
  /** The next message received since the last reset, or `timeout` after `ms`. Never rejects. */
  next(ms: number): Promise<Wake>;
  disarm(): void;
}

// A follower that falls this far behind its messages just asks the shared tier again.
const MAX_QUEUED = 32;

/** Followers waiting for another node's load, woken by bus messages. */
export class Waiters {
  readonly #byKey = new Map<string, Set<(wake: Wake) => void>>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  arm(key: string): ArmedWait {
    let queue: Wake[] = [];
    let deliver: ((wake: Wake) => void) | undefined;
    const listener = (wake: Wake) => {
      if (deliver) {
        deliver(wake);
        return;
      }
      if (queue.length < MAX_QUEUED) queue.push(wake);
      else queue = [{ kind: 'lost' }];
    };
    let set = this.#byKey.get(key);
    if (!set) {
      set = new Set();
      this.#byKey.set(key, set);
    }
    set.add(listener);
    return {
      reset: () => {
        queue = [];
      },
      disarm: () => {
        const current = this.#byKey.get(key);
        current?.delete(listener);
        if (current?.size === 0) this.#byKey.delete(key);
      },
      next: (ms) => {
        const queued = queue.shift();
        if (queued) return Promise.resolve(queued);
        return new Promise<Wake>((resolve) => {
          const cancel = this.#clock.schedule(
            () => {
              deliver = undefined;
              resolve({ kind: 'timeout' });
            },
            Math.max(0, ms),
          );
          deliver = (wake) => {
            cancel();
            deliver = undefined;
            resolve(wake);
          };
        });
      },
    };
  }

  notify(key: string, wake: Wake): void {
    const set = this.#byKey.get(key);
    if (!set) return;
    for (const listener of [...set]) listener(wake);
  }

  /** Wakes everyone: messages may have been lost, or the cache is closing. */
  notifyAll(wake: Wake): void {
    for (const key of [...this.#byKey.keys()]) this.notify(key, wake);
  }
}
