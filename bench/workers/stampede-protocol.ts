import type { HistogramData } from '../lib/stats.js';
import type { PlainRedisConnection } from '../peers/types.js';

/** The coordinator's messages to a stampede worker. */
export type ToStampedeWorker =
  | {
      readonly type: 'init';
      readonly peer: string;
      readonly index: number;
      readonly redisUrl: string;
      /** Where the cache keeps its entries, when not on redisUrl (PeerConfig.cacheRedis). */
      readonly cacheRedis?: PlainRedisConnection;
      readonly namespace: string;
      readonly ttl: number;
      readonly keys: number;
      readonly zipfS: number;
      readonly callers: number;
      readonly durationMs: number;
      readonly loaderMs: number;
      /** Each load takes loaderMs +/- up to this, uniformly. */
      readonly loaderJitterMs: number;
      /** Redis counter (INCR) of loader calls, shared by the fleet: a cross-check of the loads reported. */
      readonly counterKey: string;
    }
  | { readonly type: 'start'; readonly at: number };

/** What a stampede worker measured. Times are milliseconds since the shared start instant. */
export interface StampedeWorkerResult {
  readonly latency: HistogramData;
  readonly ok: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  /** Answers whose payload was for another key: a correctness failure, counted as errors too. */
  readonly wrongValues: number;
  /** Answers older than ttl at receipt, and the oldest age seen. */
  readonly stale: number;
  /** Answers older than ttl + 50 ms at receipt (the freshness target's tolerance). */
  readonly tooOld: number;
  /** Answers that took more than 10 ms: callers that waited for a loader. */
  readonly slow: number;
  readonly oldestMs: number;
  /** Indexes (key * windows + window) of the (key, ttl window) pairs this worker requested. */
  readonly requested: readonly number[];
  /** Loader calls here, flattened as [key, start, end, ...]. */
  readonly loads: readonly number[];
  /** Failed counter writes to Redis (the counts would then be short). */
  readonly counterErrors: number;
  readonly libraryStats?: Readonly<Record<string, number>>;
}

export type FromStampedeWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly reason: string }
  | ({ readonly type: 'result' } & StampedeWorkerResult);
