import type { CommandClient } from './client-port.js';

/** Keys per MGET: a bound on how long one read keeps the server (and every client behind it) waiting. */
const MAX_KEYS_PER_READ = 128;

/** The reads of one slot group asked for in the current tick. */
interface Batch {
  readonly names: string[];
  readonly resolves: ((raw: string | null | undefined) => void)[];
  readonly rejects: ((error: unknown) => void)[];
}

/** GET's answer for a value of another Redis type is an error; the shared tier reads it as undefined. */
function wrongTypeAsUndefined(error: unknown): undefined {
  if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return undefined;
  throw error;
}

/**
 * Plain reads of entries, sent together: the reads asked for in one tick go out as one MGET per slot
 * group (a plain GET when a group has one), once the tick's synchronous work and promise jobs are done.
 *
 * Why: every shared hit is such a read, and under concurrency most of its cost, in Node and in Redis, is
 * per command rather than per key (a command object, a promise, a reply to parse, a syscall to wake the
 * server). A busy process issues many reads per tick; one MGET for them costs Redis about what one GET
 * does. No timer is involved: a lone read waits only for the rest of its tick, and a read asked for while
 * a batch is on the wire joins the next one, so nothing waits on a batch it did not join.
 */
export class ReadBatch {
  readonly #client: CommandClient;
  /** Open batches by slot group; one flush is scheduled while any is open. */
  #open = new Map<number, Batch>();
  #scheduled = false;

  constructor(client: CommandClient) {
    this.#client = client;
  }

  /**
   * The string stored under `name` (a full Redis key of slot group `group`); null when there is none, or,
   * when read with others, when a value of another type is there (MGET does not tell); undefined when
   * read alone and the value is of another type.
   */
  get(name: string, group: number): Promise<string | null | undefined> {
    let batch = this.#open.get(group);
    if (batch === undefined) {
      batch = { names: [], resolves: [], rejects: [] };
      this.#open.set(group, batch);
      if (!this.#scheduled) {
        this.#scheduled = true;
        // After the current promise jobs: callers resumed by one reply all ask before the batch goes out.
        process.nextTick(this.#flush);
      }
    }
    const { names, resolves, rejects } = batch;
    names.push(name);
    return new Promise((resolve, reject) => {
      resolves.push(resolve);
      rejects.push(reject);
    });
  }

  readonly #flush = (): void => {
    const open = this.#open;
    this.#open = new Map();
    this.#scheduled = false;
    for (const batch of open.values()) {
      if (batch.names.length === 1) this.#single(batch);
      else {
        for (let from = 0; from < batch.names.length; from += MAX_KEYS_PER_READ) {
          this.#many(batch, from, Math.min(from + MAX_KEYS_PER_READ, batch.names.length));
        }
      }
    }
  };

  #single(batch: Batch): void {
    const resolve = batch.resolves[0] as Batch['resolves'][number];
    const reject = batch.rejects[0] as Batch['rejects'][number];
    let sent: Promise<string | null>;
    try {
      sent = this.#client.get(batch.names[0] as string);
    } catch (error) {
      reject(error);
      return;
    }
    sent.catch(wrongTypeAsUndefined).then(resolve, reject);
  }

  #many(batch: Batch, from: number, to: number): void {
    const fail = (error: unknown) => {
      for (let i = from; i < to; i++) (batch.rejects[i] as Batch['rejects'][number])(error);
    };
    let sent: Promise<(string | null)[]>;
    try {
      sent = this.#client.mget(batch.names.slice(from, to));
    } catch (error) {
      fail(error);
      return;
    }
    sent.then((values) => {
      for (let i = from; i < to; i++) {
        (batch.resolves[i] as Batch['resolves'][number])(values[i - from] ?? null);
      }
    }, fail);
  }
}
