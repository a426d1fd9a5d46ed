import { CacheClosedError, LoadTimeoutError, RemoteLoadError } from '../errors.js';
import type { CallPolicy } from '../options.js';
import type { Entry, Lookup } from '../types.js';
import { fill, type NodeState, served, validEntry } from './node.js';
import { canServeOnError } from './policy.js';
import { readStored } from './reading.js';
import type { ArmedWait } from './waiters.js';

/** What a follower learned from the shared tier, to judge the messages it is woken by. */
export interface Followed {
  readonly holder: string | undefined;
  /** Generation stamp taken before the question was sent. */
  readonly stamp: number;
  /** Where server time sits on this node's clock, from the reply that made this caller a follower. */
  readonly offset: number;
  /** Generation stamp when the lookup started (for the stale value it holds). */
  readonly since: number;
}

/**
 * Waits up to `ms` for the holder's result. Returns the outcome, or undefined to ask the shared tier again.
 * Every message for the key is looked at; only the holder's lease decides.
 */
export async function follow(
  node: NodeState,
  key: string,
  armed: ArmedWait,
  ms: number,
  stale: Entry | undefined,
  followed: Followed,
): Promise<Lookup<unknown> | undefined> {
  const until = node.clock.now() + ms;
  for (;;) {
    const wake = await armed.next(until - node.clock.now());
    const now = node.clock.now();
    switch (wake.kind) {
      case 'loaded': {
        // Another lease's result (an older load, or a newer one after a takeover): Redis knows best.
        if (wake.token !== followed.holder || wake.raw === undefined) return undefined;
        const reading = await readStored(node, key, wake.raw, undefined, followed.offset);
        if (reading.entry === undefined) return undefined;
        fill(node, key, reading.entry, reading.encoded, followed.stamp);
        return served(reading.entry, 'miss', 'shared', node.clock.now());
      }
      case 'failed': {
        if (wake.token !== followed.holder) continue;
        // A tag invalidation cannot revoke leases: the failure of a load it overtook is not an answer.
        if (wake.tags.length > 0 && node.tags.voids(wake.tags, wake.stamps) !== false) return undefined;
        // The stale value was read before the wait: an invalidation heard meanwhile rules it out.
        const fallback = validEntry(node, key, stale, followed.since);
        if (fallback !== undefined && canServeOnError(fallback, now)) {
          node.emit('stale', { key, age: now - fallback.createdAt, reason: 'error' });
          return served(fallback, 'stale', 'local', now);
        }
        throw new RemoteLoadError(key, wake.name, wake.message);
      }
      case 'empty':
        if (wake.token !== followed.holder) continue;
        return { value: undefined, status: 'miss', tier: 'shared', age: 0 };
      case 'released':
        if (wake.token !== followed.holder) continue;
        return undefined;
      case 'closed':
        throw new CacheClosedError();
      default:
        // Invalidated (the lease was revoked), messages lost, or timed out (the lease may have expired).
        return undefined;
    }
  }
}

/** A follower's `hardTimeout` passed: the stale value inside stale-if-error, else `LoadTimeoutError`. */
export function timedOut(
  node: NodeState,
  key: string,
  policy: CallPolicy,
  stale: Entry | undefined,
  now: number,
): Lookup<unknown> {
  if (stale !== undefined && canServeOnError(stale, now)) {
    node.emit('stale', { key, age: now - stale.createdAt, reason: 'error' });
    return served(stale, 'stale', 'local', now);
  }
  throw new LoadTimeoutError(key, policy.hardTimeout);
}
