/**
 * A generated history: what each node is told to do and when (the script), and what happened (the record).
 * The same script runs in-process on simulated time and across real processes against a real Redis; the
 * same checker judges both records.
 */

/** Per-key policy: every call on a key uses it, so the checker knows what each value was promised. */
export interface KeySpec {
  readonly name: string;
  readonly tags: readonly string[];
  readonly ttl: number;
  readonly staleWhileRevalidate: number;
  readonly staleIfError: number;
  /** 0: off. */
  readonly hardTimeout: number;
  /** 0: off. */
  readonly softTimeout: number;
}

/** What a loader invocation does. */
export interface LoaderSpec {
  readonly duration: number;
  readonly fail: boolean;
}

export type Op =
  | {
      readonly kind: 'lookup';
      readonly at: number;
      readonly node: number;
      readonly key: string;
      readonly loader: LoaderSpec;
    }
  | { readonly kind: 'get'; readonly at: number; readonly node: number; readonly key: string }
  | { readonly kind: 'set'; readonly at: number; readonly node: number; readonly key: string }
  | { readonly kind: 'invalidate'; readonly at: number; readonly node: number; readonly key: string }
  | { readonly kind: 'invalidateTag'; readonly at: number; readonly node: number; readonly tag: string };

/** Options every node of the history gets (a subset of `CacheOptions`, all JSON). */
export interface NodeOptions {
  readonly leaseTtl: number;
  readonly waitTimeout: number;
  readonly earlyRefresh: false | { readonly margin: number };
  readonly failSafeBackoff: number;
  readonly redisTimeout: number;
  /** Node index that keeps no local tier, if any. */
  readonly sharedOnlyNode: number | undefined;
}

export interface Script {
  readonly seed: number;
  readonly nodes: number;
  /** Per node, how far its clocks are off (ms). */
  readonly clockOffsets: readonly number[];
  readonly options: NodeOptions;
  readonly keys: readonly KeySpec[];
  readonly ops: readonly Op[];
  /** Longest loader run, for the liveness bound. */
  readonly maxLoad: number;
}

/** Identifies where a value came from: `L<n>` (a load) or `S<n>` (a set). */
export interface Value {
  readonly key: string;
  readonly id: string;
}

/** One loader invocation. Times are the recorder's (a clock common to all nodes). */
export interface LoadRecord {
  readonly id: string;
  readonly key: string;
  readonly node: number;
  readonly start: number;
  end?: number;
  failed?: boolean;
  /** When the leader's commit had returned (real processes), so its value was stored by then. */
  storedBy?: number;
}

/** One call of the API. */
export interface CallRecord {
  readonly op: Op;
  /** The value id of a set. */
  readonly setId?: string;
  readonly start: number;
  end?: number;
  /** The value returned, if any (lookup, get). */
  value?: Value | undefined;
  status?: string;
  tier?: string;
  error?: { readonly name: string; readonly message: string };
}

/** A node heard another node's invalidation of a key (or tag) at `at`. */
export interface HeardRecord {
  readonly node: number;
  readonly kind: 'key' | 'tag';
  readonly name: string;
  readonly at: number;
}

export interface History {
  readonly script: Script;
  readonly calls: readonly CallRecord[];
  readonly loads: readonly LoadRecord[];
  /**
   * When a node's process was starved of CPU (real processes only): a lease holder that does not run for
   * long enough cannot renew its lease, which then lapses, and another node may load meanwhile. That is the
   * lease's contract (the lapsed holder's write is refused), not a single-flight violation.
   */
  readonly stalls?: readonly { readonly node: number; readonly at: number; readonly ms: number }[];
  /**
   * When redis-server left a command waiting for `ms` until `at` (real processes only): a renewal that waits
   * long enough comes too late, the lease lapses, and another node may take it and load meanwhile. Like a
   * node's stall, that is the lease's contract, not a single-flight violation.
   */
  readonly redisStalls?: readonly { readonly at: number; readonly ms: number }[];
  /** Takeovers (a follower gave up waiting and loaded itself), per key and time. */
  readonly takeovers: readonly { readonly key: string; readonly at: number }[];
  /**
   * When a node heard of another node's write at the latest: the bound used for cross-node ordering.
   * `undefined` in the simulation, where the network's own bound applies.
   */
  readonly heard?: readonly HeardRecord[];
  /** Upper bound on one bus delivery after its publication (simulation only). */
  readonly deliveryBound?: number;
  /** Upper bound on one command's trip to the server (for the age bound). */
  readonly requestBound: number;
  /**
   * How far apart two processes' readings of one instant can be. Real processes each fix
   * `performance.timeOrigin` at start, so their timestamps disagree by a fraction of a millisecond; the
   * simulation has one clock (0).
   */
  readonly clockError: number;
  /** Whether Redis stalled or failed at some point: single flight across the fleet is not promised then. */
  readonly degraded: boolean;
}
