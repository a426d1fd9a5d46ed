import type { Clock } from './clock.js';

/** How many clock domains a shared tier may report (see `SharedTier.clockDomain`). */
export const CLOCK_DOMAINS = 1024;

/**
 * How long one reading of a server's clock is trusted for judging plain reads. Server time and this node's
 * monotonic clock advance together, so a reading stays a valid lower bound; what ends that is the server's
 * wall clock being stepped, or a failover to a replica with a clock of its own. A reading this young bounds
 * the error such an event can cause to what it changes within this window.
 */
export const SERVER_CLOCK_TRUST = 500;

/**
 * The latest known placement of each server clock on this node's clock (see `serverOffset`), learned from
 * the replies of the scripts, which carry the server's time. A plain read (GET, no script, no server time)
 * is judged with it, so a fresh shared hit costs Redis what a GET costs.
 */
export class ServerClocks {
  readonly #clock: Clock;
  readonly #offsets = new Float64Array(CLOCK_DOMAINS);
  readonly #learnedAt = new Float64Array(CLOCK_DOMAINS).fill(Number.NEGATIVE_INFINITY);

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Records a reply's server time for `domain`; returns the offset that places it on this node's clock. */
  learn(domain: number, sentAt: number, serverNow: number): number {
    const offset = sentAt - serverNow;
    this.#offsets[domain] = offset;
    this.#learnedAt[domain] = sentAt;
    return offset;
  }

  /** The offset for `domain` if one was learned recently enough to be trusted, else undefined. */
  offset(domain: number): number | undefined {
    const learnedAt = this.#learnedAt[domain] as number;
    return this.#clock.now() - learnedAt <= SERVER_CLOCK_TRUST ? this.#offsets[domain] : undefined;
  }
}
