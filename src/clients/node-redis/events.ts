import { EventEmitter } from 'node:events';
import type { ConnectionEvents } from '../../redis/client-port.js';

/**
 * Translates node-redis's events into the port's. node-redis reports a lost connection as `error` (then
 * `reconnecting`) and a closed one as `end`; the port says `close` once per loss of a ready connection,
 * as ioredis does, and keeps `error` for every failure (the outage reporter coalesces them).
 */
export class PortEvents<Events extends ConnectionEvents = ConnectionEvents> {
  readonly #emitter = new EventEmitter();
  /** Whether the connection was up when last heard of. */
  #up: boolean;
  /** Whether it has failed since it was last up (so it is redialling, not setting up its first connection). */
  #lost = false;

  constructor(up: boolean) {
    this.#up = up;
    // An `error` with no listener would throw from node-redis's own event handler; the port's listeners
    // (the outage reporter) are optional.
    this.#emitter.on('error', () => {});
  }

  get lost(): boolean {
    return this.#lost;
  }

  on(event: string, listener: (...args: never[]) => void): void {
    this.#emitter.on(event, listener as (...args: unknown[]) => void);
  }

  off(event: string, listener: (...args: never[]) => void): void {
    this.#emitter.off(event, listener as (...args: unknown[]) => void);
  }

  emit(event: keyof Events & string, ...args: unknown[]): void {
    this.#emitter.emit(event, ...args);
  }

  ready(): void {
    this.#up = true;
    this.#lost = false;
    this.#emitter.emit('ready');
  }

  /** The connection failed (`error`): say `error`, and `close` if it was up. */
  failed(error: Error, stillUp: boolean): void {
    this.#emitter.emit('error', error);
    if (stillUp) return;
    this.#lost = true;
    this.down();
  }

  /** The connection is gone (lost, or closed for good). */
  down(): void {
    if (!this.#up) return;
    this.#up = false;
    this.#emitter.emit('close');
  }
}
