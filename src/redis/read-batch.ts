import type { CommandClient } from './client-port.js';

/**
 * Keys per MGET; a batch that fills up goes out at once. Smaller batches keep Redis busy while this process
 * still serves the callers of the last reply: at 16 callers, batches of 8 read at 94-97% of a bare GET
 * loop's throughput, and one batch of 16 at 83-86%, Node and Redis taking turns (bench/hit-path.ts).
 */
export const KEYS_PER_READ = 8;

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
 * server). A busy process issues many reads per tick; one MGET for several costs Redis about what one GET
 * does. No timer is involved: a lone read waits only for the rest of its tick, a read asked for while a
 * batch is on the wire joins the next one, and a batch of KEYS_PER_READ goes out as soon as it is full.
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
    const read = new Promise<string | null | undefined>((resolve, reject) => {
      resolves.push(resolve);
      rejects.push(reject);
    });
    if (names.length >= KEYS_PER_READ) {
      // Full: sent now, so Redis works on it while this process goes on with the callers still to ask.
      this.#open.delete(group);
      this.#many(batch);
    }
    return read;
  }

  readonly #flush = (): void => {
    const open = this.#open;
    this.#scheduled = false;
    if (open.size === 0) return;
    this.#open = new Map();
    for (const batch of open.values()) {
      if (batch.names.length === 1) this.#single(batch);
      else this.#many(batch);
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

  #many(batch: Batch): void {
    const fail = (error: unknown) => {
      for (const reject of batch.rejects) reject(error);
    };
    let sent: Promise<(string | null)[]>;
    try {
      sent = this.#client.mget(batch.names);
    } catch (error) {
      fail(error);
      return;
    }
    sent.then((values) => {
      const { resolves } = batch;
      for (let index = 0; index < resolves.length; index++) {
        (resolves[index] as Batch['resolves'][number])(values[index] ?? null);
      }
    }, fail);
  }
}
