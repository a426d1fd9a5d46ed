import { messageOf, RedisUnavailableError } from '../errors.js';
import type { AcquireRequest, SharedRead, SharedTier } from '../types.js';
import type { CircuitBreaker } from './breaker.js';

/**
 * Wraps a shared tier so that every call has its own deadline and passes through the circuit breaker.
 * A call that misses its deadline may still run on the server later; lease-checked writes make that safe.
 */
export class GuardedTier implements SharedTier {
  readonly distributed: boolean;
  readonly #inner: SharedTier;
  readonly #breaker: CircuitBreaker;
  readonly #timeout: number;

  constructor(inner: SharedTier, breaker: CircuitBreaker, timeout: number) {
    this.distributed = inner.distributed;
    this.#inner = inner;
    this.#breaker = breaker;
    this.#timeout = timeout;
  }

  /**
   * @param onLate receives a result that arrived after the deadline (the caller has moved on without it).
   */
  #guard<T>(operation: string, call: () => Promise<T>, onLate?: (value: T) => void): Promise<T> {
    if (!this.#breaker.allow()) {
      return Promise.reject(
        new RedisUnavailableError(`Redis ${operation} skipped: the circuit breaker is open`),
      );
    }
    return new Promise<T>((resolve, reject) => {
      // Once the deadline has passed, the call has been counted as a failure: a late answer must not also
      // count as a success (that would reset the count, and a Redis slower than the deadline would never
      // open the breaker), nor a late error as a second failure.
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        this.#breaker.failure();
        reject(new RedisUnavailableError(`Redis ${operation} missed its ${this.#timeout} ms deadline`));
      }, this.#timeout);
      call().then(
        (value) => {
          if (settled) {
            onLate?.(value);
            return;
          }
          settled = true;
          clearTimeout(timer);
          this.#breaker.success();
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.#breaker.failure();
          reject(
            error instanceof RedisUnavailableError
              ? error
              : new RedisUnavailableError(`Redis ${operation} failed: ${messageOf(error)}`, { cause: error }),
          );
        },
      );
    });
  }

  acquire(key: string, request: AcquireRequest): Promise<SharedRead> {
    return this.#guard(
      'acquire',
      () => this.#inner.acquire(key, request),
      (read) => {
        // The lease was taken after its caller gave up and loaded without it: nobody will renew or release
        // it, and other nodes would wait for it until it expires. Shorten it to 1 ms, only if still ours.
        if (read.role === 'leader') this.#inner.renew(key, request.token, 1).catch(() => {});
      },
    );
  }
  commit(key: string, token: string, raw: string, ttl: number, notice: string): Promise<boolean> {
    return this.#guard('commit', () => this.#inner.commit(key, token, raw, ttl, notice));
  }
  abandon(key: string, token: string, backoff: number, notice: string): Promise<void> {
    return this.#guard('abandon', () => this.#inner.abandon(key, token, backoff, notice));
  }
  renew(key: string, token: string, leaseTtl: number): Promise<boolean> {
    return this.#guard('renew', () => this.#inner.renew(key, token, leaseTtl));
  }
  read(key: string): Promise<string | null> {
    return this.#guard('read', () => this.#inner.read(key));
  }
  write(key: string, raw: string, ttl: number, notice: string): Promise<void> {
    return this.#guard('write', () => this.#inner.write(key, raw, ttl, notice));
  }
  remove(keys: readonly string[], notice: (key: string) => string): Promise<void> {
    return this.#guard('remove', () => this.#inner.remove(keys, notice));
  }
  invalidateTags(tags: readonly string[], at: number, notice: string): Promise<void> {
    return this.#guard('invalidateTags', () => this.#inner.invalidateTags(tags, at, notice));
  }
  tagTimes(tags: readonly string[]): Promise<readonly (number | undefined)[]> {
    return this.#guard('tagTimes', () => this.#inner.tagTimes(tags));
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}
