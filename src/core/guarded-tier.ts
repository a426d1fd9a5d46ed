import { duringKnownOutage, messageOf, RedisUnavailableError } from '../errors.js';
import type { AcquireRequest, KeyedAcquire, SharedRead, SharedTier, WriteRequest } from '../types.js';
import type { CircuitBreaker } from './breaker.js';
import type { Clock } from './clock.js';
import { DeadlineQueue } from './deadline-queue.js';

/** Errors by which a Redis Cluster says where a slot lives now, or that it is being reconfigured. */
function isClusterRedirection(error: unknown): boolean {
  return error instanceof Error && /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN)\b/.test(error.message);
}

/**
 * Wraps a shared tier so that every call has its own deadline and passes through the circuit breaker.
 * A call that misses its deadline may still run on the server later; lease-checked writes make that safe.
 */
export class GuardedTier implements SharedTier {
  readonly distributed: boolean;
  readonly #inner: SharedTier;
  readonly #breaker: CircuitBreaker;
  readonly #timeout: number;
  /** Every call's deadline, under one timer (see `DeadlineQueue` for what a late timer means). */
  readonly #deadlines: DeadlineQueue;
  readonly #releaseNotice: (key: string, token: string) => string;

  /** @param releaseNotice the message that tells followers a lease was given back unused. */
  constructor(
    inner: SharedTier,
    breaker: CircuitBreaker,
    timeout: number,
    clock: Clock,
    releaseNotice: (key: string, token: string) => string,
  ) {
    this.distributed = inner.distributed;
    this.#inner = inner;
    this.#breaker = breaker;
    this.#timeout = timeout;
    this.#deadlines = new DeadlineQueue(clock, timeout);
    this.#releaseNotice = releaseNotice;
  }

  /**
   * @param onLate receives a result that arrived after the deadline (the caller has moved on without it).
   */
  #guard<T>(operation: string, call: () => Promise<T>, onLate?: (value: T) => void): Promise<T> {
    if (!this.#breaker.allow()) {
      return Promise.reject(
        duringKnownOutage(
          new RedisUnavailableError(`Redis ${operation} skipped: the circuit breaker is open`),
        ),
      );
    }
    // A probe while the breaker is open (half-open) that fails is the same outage, already announced.
    const probing = this.#breaker.isOpen;
    const outcome = (error: RedisUnavailableError) => (probing ? duringKnownOutage(error) : error);
    return new Promise<T>((resolve, reject) => {
      // Once the deadline has passed, the call has been counted as a failure: a late answer must not also
      // count as a success (that would reset the count, and a Redis slower than the deadline would never
      // open the breaker), nor a late error as a second failure.
      let settled = false;
      const deadline = this.#deadlines.add(() => {
        if (settled) return;
        settled = true;
        this.#breaker.failure();
        reject(
          outcome(new RedisUnavailableError(`Redis ${operation} missed its ${this.#timeout} ms deadline`)),
        );
      });
      call().then(
        (value) => {
          if (settled) {
            onLate?.(value);
            return;
          }
          settled = true;
          deadline.settle();
          this.#breaker.success();
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          deadline.settle();
          // A cluster reconfiguring or a key that moved says nothing about Redis being down.
          if (!isClusterRedirection(error)) this.#breaker.failure();
          reject(
            outcome(
              error instanceof RedisUnavailableError
                ? error
                : new RedisUnavailableError(`Redis ${operation} failed: ${messageOf(error)}`, {
                    cause: error,
                  }),
            ),
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
        // it, and other nodes would wait for it until it expires. Give it back, waking them, if still ours.
        if (read.role === 'leader') {
          this.#inner.abandon(key, request.token, 0, this.#releaseNotice(key, request.token)).catch(() => {});
        }
      },
    );
  }
  acquireMany(requests: readonly KeyedAcquire[]): Promise<readonly SharedRead[]> {
    return this.#guard(
      'acquireMany',
      () => this.#inner.acquireMany(requests),
      (reads) => {
        // As for `acquire`: leases taken after their callers moved on are given back at once.
        reads.forEach((read, index) => {
          const { key, request } = requests[index] as KeyedAcquire;
          if (read.role === 'leader') {
            this.#inner
              .abandon(key, request.token, 0, this.#releaseNotice(key, request.token))
              .catch(() => {});
          }
        });
      },
    );
  }
  commit(key: string, write: WriteRequest, noticeHead: string, inlineLimit: number) {
    return this.#guard('commit', () => this.#inner.commit(key, write, noticeHead, inlineLimit));
  }
  abandon(key: string, token: string, backoff: number, notice: string): Promise<boolean> {
    return this.#guard('abandon', () => this.#inner.abandon(key, token, backoff, notice));
  }
  renew(key: string, token: string, leaseTtl: number): Promise<boolean> {
    return this.#guard('renew', () => this.#inner.renew(key, token, leaseTtl));
  }
  get(key: string): Promise<string | null | undefined> {
    return this.#guard('get', () => this.#inner.get(key));
  }
  clockDomain(key: string): number {
    return this.#inner.clockDomain(key);
  }
  read(key: string) {
    return this.#guard('read', () => this.#inner.read(key));
  }
  write(key: string, write: WriteRequest, notice: string) {
    return this.#guard('write', () => this.#inner.write(key, write, notice));
  }
  remove(keys: readonly string[], notice: (key: string) => string): Promise<void> {
    return this.#guard('remove', () => this.#inner.remove(keys, notice));
  }
  invalidateTag(tag: string, noticeHead: string, lifetime: number): Promise<number> {
    return this.#guard('invalidateTag', () => this.#inner.invalidateTag(tag, noticeHead, lifetime));
  }
  tagStamps(tags: readonly string[]): Promise<readonly (number | undefined)[]> {
    return this.#guard('tagStamps', () => this.#inner.tagStamps(tags));
  }
  touchTags(tags: readonly string[], lifetime: number): Promise<readonly number[]> {
    return this.#guard('touchTags', () => this.#inner.touchTags(tags, lifetime));
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}
