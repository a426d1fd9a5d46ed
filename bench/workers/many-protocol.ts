/** Messages between bench/many.ts and its workers. */

export interface ManyInit {
  readonly type: 'init';
  readonly index: number;
  /** A standalone Redis URL, or the URLs of a Cluster's nodes. */
  readonly redis: string | { readonly cluster: readonly string[] };
  readonly prefix: string;
  /** `many`: one cachedMany per call; `single`: the same keys as parallel cached calls. */
  readonly mode: 'many' | 'single';
  readonly callers: number;
  readonly keys: number;
  readonly batch: number;
  readonly zipfS: number;
  readonly ttl: number;
  readonly loaderMs: number;
  readonly durationMs: number;
}

export type ToManyWorker = ManyInit | { readonly type: 'start'; readonly at: number };

export interface ManyResult {
  readonly type: 'result';
  readonly calls: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  /** Per call, in ms. */
  readonly latencies: readonly number[];
  /** Per key load: key index, start (epoch ms). */
  readonly loads: readonly [number, number][];
  /** loadMany calls (many) or loader calls (single). */
  readonly loaderCalls: number;
  /** Commands that ask for a value or a lease (ACQUIRE_MANY, ACQUIRE, GET, READ), and commits. */
  readonly leaseCommands: number;
  readonly commitCommands: number;
  readonly otherCommands: number;
  /** Per cachedMany call that sent lease scripts: [scripts sent, hash-tag groups they touched]. */
  readonly batches: readonly [number, number][];
}

export type FromManyWorker = { readonly type: 'ready' } | ManyResult;
