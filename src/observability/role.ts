import type { Lookup } from '../types.js';
import { cameAfterWait } from './trace-wait.js';

/**
 * A caller's part in how its value was produced: `hit` (a fresh cached value), `leader` (a load in this
 * process, run or joined), `follower` (another node's load, waited for), `stale` (an expired value served
 * on purpose).
 */
export type LookupRole = 'hit' | 'leader' | 'follower' | 'stale';

/**
 * The role behind an answer seen on `herdcache:lookup` (`context.result`). Exact only while that channel has
 * a subscriber when the answer is made (a follower's answer is marked then).
 */
export function lookupRole(answer: Lookup<unknown>): LookupRole {
  if (answer.status === 'stale') return 'stale';
  if (answer.tier === 'load') return 'leader';
  if (answer.status === 'miss' || cameAfterWait(answer)) return 'follower';
  return 'hit';
}
