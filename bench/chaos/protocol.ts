/** Messages between the chaos run (bench/chaos.ts) and its worker processes. */

export type ToWorker =
  | {
      cmd: 'start';
      url: string;
      prefix: string;
      index: number;
      processes: number;
      keys: number;
      callers: number;
      /** Pause between one caller's calls (ms). */
      pause: number;
      /** Date.now() at which callers stop. */
      until: number;
    }
  /** Another process completed an invalidation that moved `key` to `version`. */
  | { cmd: 'invalidated'; key: string; version: number; startedAt: number; at: number };

export type ToParent =
  | { ev: 'ready' }
  | { ev: 'invalidated'; key: string; version: number; startedAt: number; at: number }
  | { ev: 'summary'; summary: WorkerSummary }
  | { ev: 'failed'; message: string };

export interface WorkerSummary {
  pid: number;
  calls: number;
  /** Rejected calls, by error text. */
  errors: Record<string, number>;
  /** Call durations, see Histogram. */
  durations: number[];
  longest: { ms: number; key: string; at: number };
  /** Answers by `status/tier`. */
  statuses: Record<string, number>;
  /** Loader calls: [key, started, ended (Date.now()), 's' stored / 'n' not stored / '?' unknown]. */
  loads: Array<[string, number, number, string]>;
  /** Answers older than the policy allows. Must be 0. */
  staleViolations: number;
  staleSamples: Array<{ key: string; version: number; startedAt: number; lag: number }>;
  /** Largest (call start - time the answer's version was superseded); negative means always current. */
  maxLag: number;
  /** Answers older than an invalidation completed elsewhere more than 200 ms before the call (informational). */
  afterInvalidation: number;
  afterInvalidationSamples: Array<{ key: string; version: number; startedAt: number; invalidatedAt: number }>;
  invalidations: { ok: number; failed: number };
  /** cache.stats() at the end. */
  events: Record<string, number>;
  /** `error` events: [Date.now(), message], the first 20 000. */
  errorLog: Array<[number, string]>;
}
