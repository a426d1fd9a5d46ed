/** What a bus worker process is for. */
export type BusRole = 'idle' | 'writer';

/** The coordinator's messages to a bus worker. */
export type ToBusWorker =
  | {
      readonly type: 'init';
      readonly role: BusRole;
      readonly redisUrl: string;
      /** Shared by the whole fleet of one size: every instance subscribes to `${prefix}bus`. */
      readonly prefix: string;
      /** Cache instances (nodes) this process holds; the writer holds one. */
      readonly instances: number;
    }
  | {
      /** Writer only: make misses at a fixed rate from `at` (epoch ms) for `seconds`. */
      readonly type: 'misses';
      readonly at: number;
      readonly perSecond: number;
      readonly seconds: number;
      /** Length of the value's JSON encoding. */
      readonly valueBytes: number;
    }
  | { readonly type: 'exit' };

/** What the writer measured. */
export interface MissResult {
  /** `cached()` calls made, each on a key nobody asked for before. */
  readonly calls: number;
  /** Loader calls: every call should be a miss that runs the loader once. */
  readonly loads: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  /** From the first call to the last settled call. */
  readonly elapsedMs: number;
}

export type FromBusWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'missed'; readonly result: MissResult }
  /** Sent before exiting: 'error' events the process's caches emitted over the whole run. */
  | { readonly type: 'closed'; readonly errorEvents: number };
