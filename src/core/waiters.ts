/** Why a follower woke up. */
export type Wake =
  | { kind: 'loaded'; raw?: string }
  | { kind: 'failed'; name: string; message: string }
  | { kind: 'empty' }
  | { kind: 'invalidated' }
  | { kind: 'timeout' };

/** A wait armed before the shared tier is asked, so a message that arrives in between is not lost. */
export interface ArmedWait {
  /** Resolves with the first wake-up, or `timeout` after `ms`. Never rejects. */
  wait(ms: number): Promise<Wake>;
  disarm(): void;
}

/** Followers waiting for another node's load, woken by bus messages. */
export class Waiters {
  readonly #byKey = new Map<string, Set<(wake: Wake) => void>>();

  arm(key: string): ArmedWait {
    let received: Wake | undefined;
    let deliver: ((wake: Wake) => void) | undefined;
    const listener = (wake: Wake) => {
      if (received) return;
      received = wake;
      deliver?.(wake);
    };
    let set = this.#byKey.get(key);
    if (!set) {
      set = new Set();
      this.#byKey.set(key, set);
    }
    set.add(listener);
    const disarm = () => {
      const current = this.#byKey.get(key);
      current?.delete(listener);
      if (current?.size === 0) this.#byKey.delete(key);
    };
    return {
      disarm,
      wait: (ms) => {
        if (received) {
          const wake = received;
          received = undefined;
          return Promise.resolve(wake);
        }
        return new Promise<Wake>((resolve) => {
          const timer = setTimeout(() => {
            deliver = undefined;
            resolve({ kind: 'timeout' });
          }, ms);
          deliver = (wake) => {
            clearTimeout(timer);
            deliver = undefined;
            received = undefined;
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

  /** Wakes everyone (close, or a bus outage where messages may be lost) so they re-check at once. */
  notifyAll(wake: Wake): void {
    for (const key of [...this.#byKey.keys()]) this.notify(key, wake);
  }
}
