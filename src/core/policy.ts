import type { CallPolicy } from '../options.js';
import type { Entry } from '../types.js';

// Pure decisions about entries and time. No I/O, no clocks: `now` is always passed in.

/** Fresh: served without asking anyone. */
export function isFresh(entry: Entry, now: number): boolean {
  return now < entry.freshUntil;
}

/** Inside stale-while-revalidate: serve at once, refresh in the background. */
export function canServeWhileRevalidating(entry: Entry, now: number): boolean {
  return now < entry.staleUntil;
}

/** Inside stale-if-error: may stand in for a failed or timed-out load. */
export function canServeOnError(entry: Entry, now: number): boolean {
  return now < entry.errorUntil;
}

/** Shortens a ttl by a random fraction up to `jitter`, so entries written together expire apart. */
export function jitteredTtl(ttl: number, jitter: number, random: number): number {
  if (jitter <= 0 || ttl === 0) return ttl;
  return Math.max(1, Math.round(ttl * (1 - jitter * random)));
}

/** The ttl a value gets under `policy` (`nullTtl` for null), jittered. */
export function ttlFor(policy: CallPolicy, isNull: boolean, jitter: number, random: number): number {
  const base = isNull && policy.nullTtl !== undefined ? policy.nullTtl : policy.ttl;
  return jitteredTtl(base, jitter, random);
}

/**
 * The next load-time estimate, which sets how early a refresh starts. It rises by a quarter of the gap, so
 * one slow load does not decide it alone, and falls by half: an estimate too high starts refreshes too early
 * and so loads more often than once per ttl (what the cache exists to prevent), while one too low only
 * makes a refresh finish a little after expiry, behind a lease. A node busy at start-up (the first load
 * measured slow) thus returns to once per ttl within a few windows.
 */
export function nextLoadEstimate(previous: number | undefined, observed: number): number {
  const load = Math.max(1, Math.round(observed));
  return previous === undefined || previous <= 0
    ? load
    : Math.max(1, Math.round(previous + (load - previous) / (load > previous ? 4 : 2)));
}
