import type { AcquireRequest, KeyedAcquire, SharedRead, SharedTier } from '../types.js';
import type { FirstAcquire } from './get-or-load.js';

/** What the batch reports once its replies are in, before any lookup sees its own reply. */
export interface BatchReplies {
  /** The keys that now hold a lease here, or all keys when the batch failed (they load in-process). */
  readonly leading: readonly string[];
}

interface Asked {
  readonly ask: KeyedAcquire;
  readonly resolve: (read: SharedRead) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Collects the first lease question of every lookup of one `cachedMany` call, asked synchronously while the
 * lookups start, and sends them as one `acquireMany` (one round trip per script group). Questions asked after
 * `send` (a follower asking again, a retry) go straight to the shared tier.
 */
export class AcquireBatch implements FirstAcquire {
  readonly #shared: SharedTier;
  #asked: Asked[] | undefined = [];

  constructor(shared: SharedTier) {
    this.#shared = shared;
  }

  acquire(key: string, request: AcquireRequest): Promise<SharedRead> {
    const asked = this.#asked;
    if (asked === undefined) return this.#shared.acquire(key, request);
    return new Promise<SharedRead>((resolve, reject) => {
      asked.push({ ask: { key, request }, resolve, reject });
    });
  }

  /**
   * Sends the collected questions. `onReplies` runs once the answers (or the failure) are in and before the
   * lookups continue, so the caller can tell which keys will call their loader.
   */
  send(onReplies: (replies: BatchReplies) => void): void {
    const asked = this.#asked ?? [];
    this.#asked = undefined;
    if (asked.length === 0) {
      onReplies({ leading: [] });
      return;
    }
    this.#shared.acquireMany(asked.map((one) => one.ask)).then(
      (reads) => {
        onReplies({
          leading: asked.filter((_, index) => reads[index]?.role === 'leader').map((one) => one.ask.key),
        });
        asked.forEach((one, index) => {
          one.resolve(reads[index] as SharedRead);
        });
      },
      (error: unknown) => {
        onReplies({ leading: asked.map((one) => one.ask.key) });
        for (const one of asked) one.reject(error);
      },
    );
  }
}
