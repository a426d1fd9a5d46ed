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

/**
 * When this node refreshes an entry ahead of expiry, after XFetch (Vattani, Chierichetti, Lowenstein,
 * VLDB 2015): a head start of `delta * beta * -ln(random)`, `delta` being how long the last load took and
 * `random` in (0, 1], plus one `delta * beta` so the new value is ready before the old one expires.
 *
 * The paper draws on every request; at a million hits per second that puts the refresh right after the
 * load, so here each node draws once per entry. Duplicate refreshes need no randomness to avoid: the lease
 * lets only one node load.
 */
export function earlyRefreshAt(entry: Entry, beta: number, random: number): number {
  return entry.freshUntil - entry.loadMs * beta * (1 - Math.log(random));
}

/** Shortens a ttl by a random fraction up to `jitter`, so entries written together expire apart. */
export function jitteredTtl(ttl: number, jitter: number, random: number): number {
  if (jitter <= 0) return ttl;
  return Math.max(1, Math.round(ttl * (1 - jitter * random)));
}

/**
 * The timeline of a value loaded at `now` under `policy`. An early refresh passes the expiry of the value it
 * replaces as `from`: the new value's ttl starts there, so refreshing ahead of time never adds loads (one
 * per ttl window still holds) at the price of the value being up to the refresh's head start older.
 */
export function timeline(
  policy: CallPolicy,
  isNull: boolean,
  now: number,
  jitter: number,
  random: number,
  from: number = now,
): { freshUntil: number; staleUntil: number; errorUntil: number } {
  const baseTtl = isNull && policy.nullTtl !== undefined ? policy.nullTtl : policy.ttl;
  const freshUntil = Math.max(now, from) + jitteredTtl(baseTtl, jitter, random);
  return {
    freshUntil,
    staleUntil: freshUntil + policy.staleWhileRevalidate,
    errorUntil: freshUntil + policy.staleIfError,
  };
}

/** How long the shared tier should keep an entry: until no window can use it any more. */
export function retention(
  entry: Pick<Entry, 'freshUntil' | 'staleUntil' | 'errorUntil'>,
  now: number,
): number {
  return Math.max(1, Math.max(entry.freshUntil, entry.staleUntil, entry.errorUntil) - now);
}

/** Whether a tag invalidation at `invalidatedAt` voids an entry: any load that started before it. */
export function voidedByTag(entry: Entry, invalidatedAt: number | undefined): boolean {
  return invalidatedAt !== undefined && entry.createdAt - entry.loadMs <= invalidatedAt;
}
