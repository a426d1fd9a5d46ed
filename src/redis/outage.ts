import { CacheError, messageOf, RedisUnavailableError } from '../errors.js';

/** How often an outage that goes on is mentioned again. */
export const OUTAGE_REMINDER_MS = 60_000;

/** Something that reports connection trouble with `error` and recovery with `ready` (an ioredis client). */
interface Connection {
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
}

/**
 * Turns the stream of errors a reconnecting client emits (one per attempt, several a second) into what an
 * operator needs: one `RedisUnavailableError` when a connection goes down, a reminder every
 * `OUTAGE_REMINDER_MS` while it stays down, and nothing more until it has been up again.
 */
export class OutageReporter {
  readonly #emit: (error: Error) => void;
  readonly #now: () => number;
  /** Sources currently down, with when they were last reported. */
  readonly #down = new Map<string, number>();

  constructor(emit: (error: Error) => void, now: () => number = () => performance.now()) {
    this.#emit = emit;
    this.#now = now;
  }

  /** Reports `connection`'s failures under `source` (for example `subscriber 10.0.0.1:6379`). */
  watch(connection: Connection, source: string): void {
    connection.on('error', (error: Error) => this.failed(source, error));
    connection.on('ready', () => this.recovered(source));
  }

  failed(source: string, error: Error): void {
    const last = this.#down.get(source);
    const now = this.#now();
    if (last !== undefined && now - last < OUTAGE_REMINDER_MS) return;
    this.#down.set(source, now);
    this.#emit(
      error instanceof CacheError
        ? error
        : new RedisUnavailableError(`Redis ${source}: ${messageOf(error)}`, { cause: error }),
    );
  }

  recovered(source: string): void {
    this.#down.delete(source);
  }
}
