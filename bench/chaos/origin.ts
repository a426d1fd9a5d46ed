/**
 * The chaos run's source of truth, shared by every process without any coordination: the current version of
 * a key is a function of the wall clock (all processes run on one machine). Each key moves to its next version
 * every PERIOD ms, at its own offset, so staleness of any answer can be judged exactly after the fact.
 */
import { createHash } from 'node:crypto';
import type { CacheOptions } from '../../src/index.js';

export const PERIOD = 3_000;
/** The slowest loader (ms); loaders take a random time up to this. */
export const LOADER_MAX = 30;

/** The policy under test. Durations are small so a two-minute run crosses many expiries. */
export const POLICY = {
  ttl: 1_000,
  staleWhileRevalidate: 500,
  leaseTtl: 1_000,
  waitTimeout: 2_000,
  redisTimeout: 200,
  heartbeatInterval: 250,
  maxLocalAge: 5_000,
  breaker: { failureThreshold: 5, cooldown: 500 },
} satisfies CacheOptions;

/**
 * The oldest an answer may be: a fresh or revalidating entry is at most ttl + staleWhileRevalidate old, and
 * it holds what the loader read when it started (up to LOADER_MAX earlier). The slack covers event-loop
 * delays on a loaded machine between reading the clock and the call starting.
 */
export const SLACK = 250;
export const MAX_STALENESS = POLICY.ttl + POLICY.staleWhileRevalidate + LOADER_MAX + SLACK;

function offset(key: string): number {
  return createHash('sha1').update(key).digest().readUInt32BE(0) % PERIOD;
}

export function versionAt(key: string, at: number): number {
  return Math.floor((at + offset(key)) / PERIOD);
}

/** When `version` of `key` was replaced by the next one. */
export function supersededAt(key: string, version: number): number {
  return (version + 1) * PERIOD - offset(key);
}

export interface Answer {
  readonly key: string;
  readonly version: number;
}
