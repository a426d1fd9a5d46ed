/** One stampede row: what a library did, summed over the fleet. */
import { Redis } from 'ioredis';
import { Histogram } from '../lib/stats.js';
import type { StampedeWorkerResult } from '../workers/stampede-protocol.js';

// One bin per second: the chart reads as loader calls per second.
export const BIN_MS = 1000;

/** One library's row. */
export interface StampedeRow {
  readonly library: string;
  /** Why the row has no numbers, when it has none. */
  readonly failure?: string;
  readonly loaderCalls: number;
  readonly loaderCallsAll: number;
  readonly pairs: number;
  readonly callsPerKeyWindow: number;
  readonly maxInOneWindow: number;
  readonly overlapping: number;
  readonly getsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly ok: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly staleShare: number;
  /** Answers older than ttl + 50 ms at receipt. */
  readonly tooOld: number;
  /** Answers that took more than 10 ms. */
  readonly slow: number;
  readonly oldestMs: number;
  readonly counterErrors: number;
  /** Loader calls per second, per BIN_MS bin from the start. */
  readonly loadRate: readonly number[];
  readonly libraryStats: readonly Readonly<Record<string, number>>[];
}

/** What one row runs with. */
export interface RunParams {
  readonly processes: number;
  readonly callers: number;
  readonly keys: number;
  readonly zipfS: number;
  readonly durationMs: number;
  readonly ttl: number;
  readonly loaderMs: number;
  /** Each load takes loaderMs +/- up to this, uniformly. */
  readonly loaderJitterMs: number;
}

/** A row that could not run: its reason is printed where its numbers would be. */
export function failedRow(library: string, failure: string): StampedeRow {
  return {
    library,
    failure,
    loaderCalls: Number.NaN,
    loaderCallsAll: Number.NaN,
    pairs: Number.NaN,
    callsPerKeyWindow: Number.NaN,
    maxInOneWindow: Number.NaN,
    overlapping: Number.NaN,
    getsPerSecond: Number.NaN,
    p50: Number.NaN,
    p99: Number.NaN,
    p999: Number.NaN,
    max: Number.NaN,
    ok: 0,
    errors: 0,
    errorSamples: [],
    staleShare: Number.NaN,
    tooOld: Number.NaN,
    slow: Number.NaN,
    oldestMs: Number.NaN,
    counterErrors: 0,
    loadRate: [],
    libraryStats: [],
  };
}

/** Loads of a key that started while another load of the same key was still running, fleet-wide. */
function overlappingLoads(results: readonly StampedeWorkerResult[]): number {
  const byKey = new Map<number, [number, number][]>();
  for (const result of results) {
    for (let i = 0; i < result.loads.length; i += 3) {
      const key = result.loads[i]!;
      const list = byKey.get(key) ?? [];
      list.push([result.loads[i + 1]!, result.loads[i + 2]!]);
      byKey.set(key, list);
    }
  }
  let overlapping = 0;
  for (const list of byKey.values()) {
    list.sort((a, b) => a[0] - b[0]);
    let runningUntil = Number.NEGATIVE_INFINITY;
    for (const [start, end] of list) {
      if (start < runningUntil) overlapping += 1;
      runningUntil = Math.max(runningUntil, end);
    }
  }
  return overlapping;
}

function loadRate(results: readonly StampedeWorkerResult[], durationMs: number): number[] {
  const bins = new Array<number>(Math.ceil(durationMs / BIN_MS)).fill(0);
  for (const result of results) {
    for (let i = 0; i < result.loads.length; i += 3) {
      const bin = Math.floor(result.loads[i + 1]! / BIN_MS);
      if (bin >= 0 && bin < bins.length) bins[bin]! += 1000 / BIN_MS;
    }
  }
  return bins;
}

/**
 * Loader calls per key per ttl window, each key's windows being the freshness periods of its first value:
 * counted from the end of its first load anywhere in the fleet, [stored + w·ttl, stored + (w+1)·ttl) for
 * w = 1, 2, ... as long as the window ends inside the run. Window 0 is warm-up (the cold fill, and a hot
 * key's first early refresh, about a load's time before its end). Counted from the first load's start
 * instead, that refresh was due 10 ms (the refresh margin) before window 0 ended: a few ms of contention
 * pushed it into window 1, which then held the next refresh too (9 loads in 8 windows, in 2 of 4 runs). A
 * window cut by the end of the run is left out, where a refresher with a period just under the ttl would
 * read one load more or less (11% over 9 windows). A window counts when a get for the key fell in it.
 */
function anchoredWindows(
  results: readonly StampedeWorkerResult[],
  params: RunParams,
  windows: number,
): { loaderCalls: number; pairs: number; maxInOneWindow: number } {
  const requested = new Set(results.flatMap((r) => r.requested));
  const loadsByKey = new Map<number, { start: number; end: number }[]>();
  for (const result of results) {
    for (let i = 0; i < result.loads.length; i += 3) {
      const key = result.loads[i]!;
      const loads = loadsByKey.get(key) ?? [];
      loads.push({ start: result.loads[i + 1]!, end: result.loads[i + 2]! });
      loadsByKey.set(key, loads);
    }
  }
  let loaderCalls = 0;
  let pairs = 0;
  let maxInOneWindow = 0;
  for (const [key, loads] of loadsByKey) {
    const first = loads.reduce((a, b) => (b.start < a.start ? b : a));
    const stored = first.end;
    const complete = Math.floor((params.durationMs - stored) / params.ttl) - 1;
    const perWindow = new Array<number>(Math.max(0, complete + 1)).fill(0);
    for (const { start } of loads) {
      const window = Math.floor((start - stored) / params.ttl);
      if (window >= 1 && window <= complete) perWindow[window]! += 1;
    }
    for (let window = 1; window <= complete; window++) {
      // The anchored window overlaps two of the run's windows, in which the workers flagged their gets.
      const absolute = Math.floor((stored + window * params.ttl) / params.ttl);
      const asked = [absolute, absolute + 1].some((a) => a < windows && requested.has(key * windows + a));
      if (!asked) continue;
      pairs += 1;
      loaderCalls += perWindow[window]!;
      maxInOneWindow = Math.max(maxInOneWindow, perWindow[window]!);
    }
  }
  return { loaderCalls, pairs, maxInOneWindow };
}

/** Reads the fleet's loader-call count from Redis and merges what the workers measured. */
export async function summarize(
  library: string,
  results: readonly StampedeWorkerResult[],
  params: RunParams,
  redisUrl: string,
  counterKey: string,
): Promise<StampedeRow> {
  const windows = Math.max(1, Math.ceil(params.durationMs / params.ttl));
  const redis = new Redis(redisUrl);
  let loaderCallsAll: number;
  try {
    loaderCallsAll = Number((await redis.get(counterKey)) ?? 0);
    await redis.del(counterKey);
  } finally {
    redis.disconnect();
  }
  const { loaderCalls, pairs, maxInOneWindow } = anchoredWindows(results, params, windows);
  const latency = Histogram.from(results.map((r) => r.latency));
  const ok = results.reduce((sum, r) => sum + r.ok, 0);
  const errors = results.reduce((sum, r) => sum + r.errors, 0);
  const stale = results.reduce((sum, r) => sum + r.stale, 0);
  return {
    library,
    loaderCalls,
    loaderCallsAll,
    pairs,
    callsPerKeyWindow: pairs === 0 ? Number.NaN : loaderCalls / pairs,
    maxInOneWindow,
    overlapping: overlappingLoads(results),
    getsPerSecond: ok / (params.durationMs / 1000),
    p50: latency.percentile(0.5) / 1e6,
    p99: latency.percentile(0.99) / 1e6,
    p999: latency.percentile(0.999) / 1e6,
    max: latency.max / 1e6,
    ok,
    errors,
    errorSamples: [...new Set(results.flatMap((r) => r.errorSamples))].slice(0, 3),
    staleShare: ok === 0 ? 0 : stale / ok,
    tooOld: results.reduce((sum, r) => sum + r.tooOld, 0),
    slow: results.reduce((sum, r) => sum + r.slow, 0),
    oldestMs: Math.max(0, ...results.map((r) => r.oldestMs)),
    counterErrors: results.reduce((sum, r) => sum + r.counterErrors, 0),
    loadRate: loadRate(results, params.durationMs),
    libraryStats: results.flatMap((r) => (r.libraryStats ? [r.libraryStats] : [])),
  };
}

/** herdcache's own rows carry the targets. */
export function isHerdcache(library: string): boolean {
  return library.startsWith('herdcache');
}
