import type { Clock } from '../core/clock.js';
import type { ArmedWait, Wake } from '../core/waiters.js';
import { isTraced, tracing, type WaitContext } from './channels.js';

/**
 * Answers a follower got after waiting for another node's load, while lookups were traced. On `globalThis`
 * under a registered symbol, like the cache registry: the ESM and CommonJS builds may both be loaded.
 */
const FOLLOWED = Symbol.for('herdcache.observability.followed');
const holder = globalThis as { [FOLLOWED]?: WeakSet<object> };
holder[FOLLOWED] ??= new WeakSet<object>();
const followed: WeakSet<object> = holder[FOLLOWED];

/**
 * Marks an answer obtained after waiting for another node's load: with the default `inlineValueLimit` such
 * an answer is re-read from the shared tier and looks like a shared hit, but the caller was a follower.
 */
export function afterWait<T extends object>(answer: T): T {
  if (isTraced(tracing.lookup)) followed.add(answer);
  return answer;
}

/** Whether `afterWait` marked this answer. */
export function cameAfterWait(answer: object): boolean {
  return followed.has(answer);
}

/** What the follower knows when it starts waiting. */
export interface WaitStart {
  readonly cache: string;
  readonly key: string;
  readonly timeout: number;
  /** Where server time sits on this node's clock (see `ServerClocks.learn`), to date the holder's commit. */
  readonly offset: number;
  readonly clock: Clock;
}

/**
 * Runs a follower's wait (`follow`, given the armed wait to read its wake-ups from) as a `herdcache:wait`
 * operation when that channel has subscribers. The wake-ups are watched through a thin wrapper around the
 * armed wait, so the follower's own logic stays untouched: the last one read is how the wait ended.
 */
export function tracedWait<T>(
  start: WaitStart,
  leaseRemaining: number,
  armed: ArmedWait,
  follow: (armed: ArmedWait) => Promise<T>,
): Promise<T> {
  if (!isTraced(tracing.wait)) return follow(armed);
  const { clock, offset } = start;
  let startedAt = clock.now();
  const context: WaitContext = {
    cache: start.cache,
    key: start.key,
    timeout: start.timeout,
    leaseRemaining,
  };
  const watched: ArmedWait = {
    reset: () => armed.reset(),
    disarm: () => armed.disarm(),
    next: (ms) =>
      armed.next(ms).then((wake: Wake) => {
        const now = clock.now();
        context.wake = wake.kind;
        context.waited = now - startedAt;
        if (wake.kind === 'loaded') context.wakeLatency = Math.max(0, now - (wake.serverNow + offset));
        else delete context.wakeLatency;
        return wake;
      }),
  };
  return tracing.wait.tracePromise(() => {
    // Timed from inside the traced operation, so `waited` never exceeds the span a tracer measures.
    startedAt = clock.now();
    return follow(watched);
  }, context);
}
