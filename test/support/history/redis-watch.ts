import { connect, type Socket } from 'node:net';

/** A stretch in which Redis left a command unprocessed: it ended at `at` and lasted `ms`. */
export interface RedisStall {
  readonly at: number;
  readonly ms: number;
}

/** The machine's real clock, the one the history is recorded on. */
const now = () => performance.timeOrigin + performance.now();

/** How often a probe is sent: a stall is measured at most this much shorter than it was. */
const PROBE_EVERY = 5;

/**
 * Delays at least this long are recorded. Loopback round trips are well under a millisecond and a runnable
 * redis-server waits a scheduler slice or two for a CPU on a loaded machine; the checker only cares about
 * a third of a lease (27 ms at the generator's shortest, 80 ms), which a stall measured this low cannot be.
 */
const RECORD_FROM = 10;

/** Probes in flight beyond which no more are sent: a dead server must not grow the queue without end. */
const MAX_IN_FLIGHT = 400;

const TIME = '*1\r\n$4\r\nTIME\r\n';
/** One TIME reply: seconds and microseconds as bulk strings. */
const REPLY = /\*2\r\n\$\d+\r\n(\d+)\r\n\$\d+\r\n(\d+)\r\n/y;

/**
 * Watches a Redis server for stalls (the process not running: descheduled, paused) from the coordinating
 * process, on a connection of its own. Every PROBE_EVERY ms it sends TIME, pipelined, without waiting for
 * earlier replies: the server time in a reply says when Redis ran the command, so its delay is measured
 * from the send to that moment, not to when this process got round to reading the reply. A stall of this
 * process therefore cannot pass for one of Redis; one between reading the clock and the write is ruled out
 * by timing the send after the write returned, with nothing left in the socket's buffer.
 */
export class RedisWatch {
  readonly #socket: Socket;
  readonly #timer: NodeJS.Timeout;
  /** When each probe in flight was sent (undefined: not judged, the send itself was held up). */
  readonly #sent: (number | undefined)[] = [];
  readonly #stalls: RedisStall[] = [];
  #buffer = '';
  /**
   * The smallest gap yet between a probe's send and the server time in its reply: the server's and this
   * process's clocks' misalignment plus a bare trip. A probe's delay is counted beyond it.
   */
  #base = Number.POSITIVE_INFINITY;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    this.#timer = setInterval(() => this.#probe(), PROBE_EVERY).unref();
  }

  /** Connects to `redisUrl` and starts probing. */
  static async start(redisUrl: string): Promise<RedisWatch> {
    const { hostname, port } = new URL(redisUrl);
    const socket = connect({ host: hostname, port: Number(port || 6379) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RedisWatch(socket);
  }

  /** Stalls that ended at or after `from` (history clock). */
  stallsSince(from: number): RedisStall[] {
    return this.#stalls.filter((stall) => stall.at >= from);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#socket.destroy();
  }

  #probe(): void {
    if (this.#sent.length >= MAX_IN_FLIGHT) return;
    const before = now();
    this.#socket.write(TIME);
    const after = now();
    const judged = this.#socket.writableLength === 0 && after - before < 1;
    this.#sent.push(judged ? after : undefined);
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    REPLY.lastIndex = 0;
    let match = REPLY.exec(this.#buffer);
    let consumed = 0;
    while (match !== null) {
      consumed = REPLY.lastIndex;
      this.#onReply(Number(match[1]) * 1_000 + Number(match[2]) / 1_000, this.#sent.shift());
      match = REPLY.exec(this.#buffer);
    }
    this.#buffer = this.#buffer.slice(consumed);
  }

  #onReply(serverNow: number, sentAt: number | undefined): void {
    if (sentAt === undefined) return;
    this.#base = Math.min(this.#base, serverNow - sentAt);
    const ms = serverNow - sentAt - this.#base;
    if (ms < RECORD_FROM) return;
    const at = sentAt + ms;
    // Probes sent during one stall are run together when it ends: the first, the longest wait, stands for all.
    const last = this.#stalls.at(-1);
    if (last !== undefined && at <= last.at + 1) return;
    this.#stalls.push({ at, ms });
  }
}
