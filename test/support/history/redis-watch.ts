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

/** Probes `start` waits for, at most, for one judged reply. */
const CALIBRATION_TRIES = 100;

interface Probe {
  /** When it was sent; undefined when the send itself was held up, so its delay cannot be told. */
  readonly sentAt: number | undefined;
  readonly answered: (() => void) | undefined;
}

const TIME = '*1\r\n$4\r\nTIME\r\n';
/** One TIME reply: seconds and microseconds as bulk strings. */
const REPLY = /\*2\r\n\$\d+\r\n(\d+)\r\n\$\d+\r\n(\d+)\r\n/y;

/**
 * Watches a Redis server for stalls (the process not running: descheduled, paused) from the coordinating
 * process, on a connection of its own. Every PROBE_EVERY ms it sends TIME, pipelined, without waiting for
 * earlier replies, so a probe is waiting in Redis whenever Redis stops. The server time in a reply says when
 * Redis ran the command: a probe's delay is the lesser of the wait until then and the round trip, so this
 * process reading a reply late cannot pass for a stall of Redis, nor can a step of the server's wall clock.
 * A stall of this process between reading the clock and the write is ruled out by timing the send after
 * the write returned, with nothing left in the socket's buffer.
 */
export class RedisWatch {
  readonly #socket: Socket;
  readonly #timer: NodeJS.Timeout;
  /** The probes in flight, oldest first. */
  readonly #sent: Probe[] = [];
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
    // A lost connection ends the watch: nothing more is recorded, which only leaves the checker stricter.
    socket.on('error', () => {});
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
    const watch = new RedisWatch(socket);
    // The first probes' sends can be slow (code not yet optimised) and go unjudged: until one is judged
    // there is no calibration, and a stall then would set it and go unseen.
    for (let tries = 0; tries < CALIBRATION_TRIES && watch.#base === Number.POSITIVE_INFINITY; tries += 1) {
      await watch.flush();
    }
    return watch;
  }

  /** Stalls that ended at or after `from` (history clock). */
  stallsSince(from: number): RedisStall[] {
    return this.#stalls.filter((stall) => stall.at >= from);
  }

  /** Resolves once a probe sent now is answered, and with it every probe before it. */
  flush(): Promise<void> {
    return new Promise((resolve) => this.#probe(resolve));
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#socket.destroy();
  }

  #probe(answered?: () => void): void {
    if (this.#sent.length >= MAX_IN_FLIGHT && answered === undefined) return;
    const before = now();
    this.#socket.write(TIME);
    const after = now();
    const judged = this.#socket.writableLength === 0 && after - before < 1;
    this.#sent.push({ sentAt: judged ? after : undefined, answered });
  }

  #onData(chunk: string): void {
    const receivedAt = now();
    this.#buffer += chunk;
    REPLY.lastIndex = 0;
    let match = REPLY.exec(this.#buffer);
    let consumed = 0;
    while (match !== null) {
      consumed = REPLY.lastIndex;
      const probe = this.#sent.shift();
      this.#onReply(Number(match[1]) * 1_000 + Number(match[2]) / 1_000, probe?.sentAt, receivedAt);
      probe?.answered?.();
      match = REPLY.exec(this.#buffer);
    }
    this.#buffer = this.#buffer.slice(consumed);
  }

  #onReply(serverNow: number, sentAt: number | undefined, receivedAt: number): void {
    if (sentAt === undefined) return;
    this.#base = Math.min(this.#base, serverNow - sentAt);
    // A step of the server's wall clock shifts its times but not the round trip on this process's monotonic
    // clock, and this process reading late stretches the round trip but not the server's time: a stall of
    // Redis stretches both, and only what both show is counted.
    const ms = Math.min(serverNow - sentAt - this.#base, receivedAt - sentAt);
    if (ms < RECORD_FROM) return;
    const at = sentAt + ms;
    // Probes sent during one stall are run together when it ends: the first, the longest wait, stands for all.
    const last = this.#stalls.at(-1);
    if (last !== undefined && at <= last.at + 1) return;
    this.#stalls.push({ at, ms });
  }
}
