import type { Clock } from './clock.js';

/**
 * A circuit breaker: after `failureThreshold` consecutive failures it opens and rejects calls without
 * making them; after `cooldown` it lets one probe through (half-open) and closes if the probe succeeds.
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #cooldown: number;
  readonly #onChange: (open: boolean, failures: number) => void;
  readonly #clock: Clock;
  #failures = 0;
  #openedAt = 0;
  #state: 'closed' | 'open' | 'half-open' = 'closed';

  constructor(
    threshold: number,
    cooldown: number,
    clock: Clock,
    onChange: (open: boolean, failures: number) => void,
  ) {
    this.#clock = clock;
    this.#threshold = threshold;
    this.#cooldown = cooldown;
    this.#onChange = onChange;
  }

  get isOpen(): boolean {
    return this.#state !== 'closed';
  }

  /** Whether a call may be made now. While half-open only the first asker gets the probe. */
  allow(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open' && this.#clock.now() - this.#openedAt >= this.#cooldown) {
      this.#state = 'half-open';
      return true;
    }
    return false;
  }

  success(): void {
    this.#failures = 0;
    if (this.#state !== 'closed') {
      this.#state = 'closed';
      this.#onChange(false, 0);
    }
  }

  failure(): void {
    this.#failures += 1;
    if (this.#state === 'half-open' || (this.#state === 'closed' && this.#failures >= this.#threshold)) {
      const wasClosed = this.#state === 'closed';
      this.#state = 'open';
      this.#openedAt = this.#clock.now();
      if (wasClosed) this.#onChange(true, this.#failures);
    }
  }
}
