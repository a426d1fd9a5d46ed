import { specOf, tagsOf } from './generate.js';
import type { CallRecord, History, LoadRecord } from './model.js';

/** One broken promise, with what it takes to find it in the history. */
export interface Violation {
  readonly invariant: string;
  readonly detail: string;
}

/** Errors a caller may see, by name, and when. */
const LOADER_ERROR = 'LoaderFailure';

/**
 * Checks the contract on a recorded history:
 *
 * - invalidation wins: a call that starts after `invalidate(k)`, `set(k)` or `invalidateTag(t)` resolved
 *   (on that node; on another node once the write can have reached it) never returns a value from a load
 *   that started before the write, nor from a set that finished before it;
 * - ttl bounds age: no call that starts after a value's freshness ended gets it, unless it was served stale
 *   inside the windows the value was stored with;
 * - every call settles, within waitTimeout + leaseTtl + the longest load + network slack;
 * - single flight: while Redis is healthy, two loads of one key never overlap in the fleet, unless a write
 *   revoked the first one's lease, a follower took over after waitTimeout, or the holder's process or
 *   Redis stalled long enough for the lease to lapse; in one process, never;
 * - callers see only the loader's own failures, `RemoteLoadError` and (with hardTimeout) `LoadTimeoutError`,
 *   and only values of the key they asked for.
 */
export function check(history: History): Violation[] {
  const violations: Violation[] = [];
  const report = (invariant: string, detail: string) => violations.push({ invariant, detail });
  const loads = new Map(history.loads.map((load) => [load.id, load]));
  const sets = new Map(
    history.calls.filter((call) => call.setId !== undefined).map((call) => [call.setId as string, call]),
  );
  const { script } = history;
  const writes = history.calls.filter(
    (call) =>
      (call.op.kind === 'set' || call.op.kind === 'invalidate' || call.op.kind === 'invalidateTag') &&
      call.end !== undefined &&
      call.error === undefined,
  );

  for (const call of history.calls) {
    const op = call.op;
    const where = `${describe(call)}`;
    if (call.end === undefined) {
      report('settles', `${where} never settled`);
      continue;
    }
    const bound =
      script.options.waitTimeout +
      script.options.leaseTtl +
      script.maxLoad +
      script.options.failSafeBackoff +
      50 * history.requestBound;
    if (!history.degraded && call.end - call.start > bound) {
      report('settles', `${where} took ${call.end - call.start} ms (bound ${bound})`);
    }
    if (call.error !== undefined) {
      const spec = op.kind === 'lookup' ? specOf(script, op.key) : undefined;
      const allowed =
        (op.kind === 'lookup' &&
          (call.error.name === LOADER_ERROR ||
            call.error.name === 'RemoteLoadError' ||
            (call.error.name === 'LoadTimeoutError' && (spec?.hardTimeout ?? 0) > 0))) ||
        (history.degraded && call.error.name === 'RedisUnavailableError');
      if (!allowed) report('errors', `${where} rejected with ${call.error.name}: ${call.error.message}`);
      // A failure is an outcome of a load like a value is: an overtaken load's failure is as stale.
      const failed = loads.get(/^(L\d+) failed$/.exec(call.error.message)?.[1] ?? '');
      if (failed !== undefined && op.kind === 'lookup') {
        checkInvalidationWins(
          history,
          writes,
          call,
          failed,
          undefined,
          `the failure of ${failed.id}`,
          report,
        );
      }
      continue;
    }
    if (op.kind !== 'lookup' && op.kind !== 'get') continue;
    const value = call.value;
    if (value === undefined) {
      if (op.kind === 'lookup') report('values', `${where} resolved to undefined`);
      continue;
    }
    if (value.key !== op.key) report('values', `${where} returned a value of ${value.key}`);
    const load = loads.get(value.id);
    const set = sets.get(value.id);
    if (load === undefined && set === undefined) {
      report('values', `${where} returned ${value.id}, which nobody produced`);
      continue;
    }
    const spec = specOf(script, op.key);

    // ttl bounds age.
    const storedBy = load
      ? (load.storedBy ?? (load.end ?? Number.POSITIVE_INFINITY) + history.requestBound)
      : (set?.end as number);
    const window = call.status === 'stale' ? Math.max(spec.staleWhileRevalidate, spec.staleIfError) : 0;
    if (call.start > storedBy + spec.ttl + window + history.clockError) {
      report(
        'age',
        `${where} got ${value.id} (stored by ${storedBy}) ${call.start - storedBy} ms later; ttl ${spec.ttl}, stale window ${window}`,
      );
    }

    checkInvalidationWins(history, writes, call, load, set, value.id, report);
  }

  checkSingleFlight(history, report);
  return violations;
}

/**
 * A call that starts once a write on its key is visible to it never gets the outcome of a load that started
 * before the write, nor the value of a set that finished before it.
 */
function checkInvalidationWins(
  history: History,
  writes: readonly CallRecord[],
  call: CallRecord,
  load: LoadRecord | undefined,
  set: CallRecord | undefined,
  what: string,
  report: (invariant: string, detail: string) => void,
): void {
  const op = call.op;
  if (op.kind !== 'lookup' && op.kind !== 'get') return;
  for (const write of writes) {
    const wop = write.op;
    const touches =
      wop.kind === 'invalidateTag'
        ? tagsOf(history.script, op.key).includes(wop.tag)
        : 'key' in wop && wop.key === op.key;
    if (!touches || write === set) continue;
    const visibleAt = visibility(history, write, op.node, op.key);
    if (visibleAt === undefined || call.start <= visibleAt) continue;
    const older = load ? load.start < write.start : (set?.end as number) < write.start;
    if (older) {
      report(
        'invalidation wins',
        `${describe(call)} got ${what} (${load ? `load started ${load.start}` : `set ended ${set?.end}`}) after ${describe(write)} ended ${write.end}, visible to node ${op.node} at ${visibleAt}`,
      );
    }
  }
}

/** When a write must be visible to calls on `node`: at once on its own node, else once it can have arrived. */
function visibility(history: History, write: CallRecord, node: number, key: string): number | undefined {
  const end = write.end as number;
  if (write.op.node === node) return end;
  if (history.deliveryBound !== undefined) return end + history.deliveryBound;
  // Across real processes: the harness ran writes one after another, so Redis ordered them as they were
  // issued and every node hears another node's writes of one name in that order. The i-th notice `node`
  // heard for the name is the i-th write of it by another node.
  const tag = write.op.kind === 'invalidateTag' ? write.op.tag : undefined;
  const sameName = (call: CallRecord) =>
    tag === undefined
      ? (call.op.kind === 'set' || call.op.kind === 'invalidate') && call.op.key === key
      : call.op.kind === 'invalidateTag' && call.op.tag === tag;
  const remoteWrites = history.calls
    .filter((call) => call.op.node !== node && sameName(call))
    .sort((a, b) => a.start - b.start);
  const heard = (history.heard ?? []).filter(
    (h) => h.node === node && h.kind === (tag === undefined ? 'key' : 'tag') && h.name === (tag ?? key),
  );
  return heard[remoteWrites.indexOf(write)]?.at;
}

function checkSingleFlight(history: History, report: (invariant: string, detail: string) => void): void {
  const { script } = history;
  const byKey = new Map<string, LoadRecord[]>();
  for (const load of history.loads) byKey.set(load.key, [...(byKey.get(load.key) ?? []), load]);
  const slack = 10 * history.requestBound;
  for (const [key, list] of byKey) {
    const sorted = [...list].sort((a, b) => a.start - b.start);
    for (let i = 0; i < sorted.length; i += 1) {
      const first = sorted[i] as LoadRecord;
      const firstEnd = first.end ?? Number.POSITIVE_INFINITY;
      for (let j = i + 1; j < sorted.length; j += 1) {
        const second = sorted[j] as LoadRecord;
        if (second.start >= firstEnd) break;
        const revoked = history.calls.some(
          (call) =>
            (call.op.kind === 'set' || call.op.kind === 'invalidate') &&
            call.op.key === key &&
            call.start <= second.start &&
            (call.end ?? Number.POSITIVE_INFINITY) >= first.start - slack,
        );
        const takenOver = history.takeovers.some(
          (t) => t.key === key && t.at >= first.start - slack && t.at <= second.start,
        );
        // The first holder's process stalled for a third of the lease (its renewal period) or more between
        // taking the lease (up to a lease before its loader started) and the second load.
        const lapsed = (history.stalls ?? []).some(
          (stall) => stall.node === first.node && canLapse(history, stall, first, second),
        );
        if (revoked || takenOver || lapsed) continue;
        // Redis left a command (a renewal, or the reply granting the lease) waiting as long in that span: the
        // lease can lapse on the server with no node at fault. One process still never loads twice at once.
        const redisLapsed =
          first.node !== second.node &&
          (history.redisStalls ?? []).some((stall) => canLapse(history, stall, first, second));
        if (redisLapsed) continue;
        if (first.node === second.node) {
          report('single flight', `node ${first.node} ran ${first.id} and ${second.id} of ${key} at once`);
        } else if (!history.degraded) {
          report(
            'single flight',
            `${first.id} (node ${first.node}, ${first.start}-${firstEnd}) and ${second.id} (node ${second.node}, from ${second.start}) of ${key} overlap; leaseTtl ${script.options.leaseTtl}`,
          );
        }
      }
    }
  }
}

/**
 * Whether a stall (of a node or of Redis) of `ms` ending at `at` can have let `first`'s lease lapse before
 * `second` started: it lasted a renewal period (a third of the lease) or more, and overlapped the span from
 * the lease's taking (up to a lease before the loader started) to the second load's start.
 */
function canLapse(
  history: History,
  stall: { readonly at: number; readonly ms: number },
  first: LoadRecord,
  second: LoadRecord,
): boolean {
  const { leaseTtl } = history.script.options;
  return (
    stall.ms >= leaseTtl / 3 && stall.at >= first.start - leaseTtl && stall.at - stall.ms <= second.start
  );
}

function describe(call: CallRecord): string {
  const op = call.op;
  const subject = op.kind === 'invalidateTag' ? op.tag : op.key;
  return `${op.kind}(${subject}) on node ${op.node} [${call.start}-${call.end ?? '…'}]`;
}

/** One line for a failed history: its seed (to replay it) and its first violations. */
export function describeFailure(seed: number, violations: readonly Violation[]): string {
  return `seed ${seed}: ${violations
    .slice(0, 3)
    .map((v) => `[${v.invariant}] ${v.detail}`)
    .join('; ')}`;
}

/** The error a generated loader throws. */
export class LoaderFailure extends Error {
  override readonly name = LOADER_ERROR;
}
