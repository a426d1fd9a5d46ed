import type { FaultRecord } from './faults.js';
import { Histogram } from './histogram.js';
import { MAX_STALENESS } from './origin.js';
import type { WorkerSummary } from './protocol.js';

/** Loads that stay "during a fault" this long after it ended: breaker cooldown, redial, resubscribe. */
const RECOVERY = 3_000;

export interface RunInfo {
  readonly processes: number;
  readonly callers: number;
  readonly keys: number;
  readonly seconds: number;
  readonly startedAt: number;
  readonly faults: readonly FaultRecord[];
  /** Completed invalidations (Date.now() when started and when done). */
  readonly invalidations: ReadonlyArray<{ key: string; startedAt: number; at: number }>;
}

export interface Verdict {
  readonly lines: string[];
  readonly failed: boolean;
}

function add(into: Record<string, number>, from: Record<string, number>): void {
  for (const [name, n] of Object.entries(from)) into[name] = (into[name] ?? 0) + n;
}

function duringFault(info: RunInfo): (at: number) => boolean {
  return (at) =>
    info.faults.some((f) => at >= info.startedAt + f.from && at <= info.startedAt + f.to + RECOVERY);
}

/** `error` events (not seen by callers) outside the faults: Redis calls that missed a deadline under load. */
function healthyErrors(summaries: readonly WorkerSummary[], info: RunInfo): string[] {
  const faulty = duringFault(info);
  const outside = summaries.flatMap((s) => s.errorLog.filter(([at]) => !faulty(at)));
  const byText: Record<string, number> = {};
  for (const [, text] of outside) byText[text] = (byText[text] ?? 0) + 1;
  return [
    `error events outside faults (+${RECOVERY / 1000} s): ${outside.length}`,
    ...Object.entries(byText).map(([text, n]) => `  ${n} x ${text}`),
    ...outside.slice(0, 5).map(([at, text]) => `  at ${at - info.startedAt} ms: ${text}`),
  ];
}

/** Loads of one key that started while another load of that key was running. */
function overlaps(summaries: readonly WorkerSummary[], info: RunInfo) {
  const byKey = new Map<string, Array<{ pid: number; start: number; end: number; stored: string }>>();
  for (const s of summaries) {
    for (const [key, start, end, stored] of s.loads) {
      byKey.set(key, [...(byKey.get(key) ?? []), { pid: s.pid, start, end, stored }]);
    }
  }
  const faulty = duringFault(info);
  // An invalidation revokes the lease of a load in flight: the next load may start before that one ends.
  const revoked = (key: string, from: number, to: number) =>
    info.invalidations.some((i) => i.key === key && i.startedAt <= to && i.at >= from);
  const result = { sameProcess: 0, afterInvalidation: 0, crossHealthy: 0, crossDuringFault: 0 };
  const samples: string[] = [];
  for (const [key, loads] of byKey) {
    loads.sort((x, y) => x.start - y.start);
    loads.forEach((load, i) => {
      const running = loads.slice(0, i).filter((other) => other.end > load.start);
      if (running.length === 0) return;
      const kind = running.every((other) => revoked(key, other.start, load.start))
        ? 'afterInvalidation'
        : running.some((other) => other.pid === load.pid)
          ? 'sameProcess'
          : faulty(load.start)
            ? 'crossDuringFault'
            : 'crossHealthy';
      result[kind] += 1;
      if (kind === 'sameProcess' || kind === 'crossHealthy') {
        const at = (l: { pid: number; start: number; end: number; stored: string }) =>
          `pid ${l.pid} ${l.start - info.startedAt}-${l.end - info.startedAt} ms (stored: ${l.stored})`;
        samples.push(`  ${kind} ${key}: ${at(load)}, while ${running.map(at).join(', ')}`);
      }
    });
  }
  return { ...result, samples: samples.slice(0, 10) };
}

export function report(summaries: readonly WorkerSummary[], info: RunInfo): Verdict {
  const histogram = new Histogram();
  const errors: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  const events: Record<string, number> = {};
  for (const s of summaries) {
    histogram.merge(s.durations);
    add(errors, s.errors);
    add(statuses, s.statuses);
    add(events, s.events);
  }
  const sum = (pick: (s: WorkerSummary) => number) => summaries.reduce((total, s) => total + pick(s), 0);
  const calls = sum((s) => s.calls);
  const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
  const longest = summaries.reduce((a, s) => (s.longest.ms > a.longest.ms ? s : a)).longest;
  const stale = sum((s) => s.staleViolations);
  const loads = sum((s) => s.loads.length);
  const overlap = overlaps(summaries, info);
  const t = (at: number) => `${((at - info.startedAt) / 1000).toFixed(1)} s`;
  const lines = [
    `herdcache chaos run: ${info.processes} processes x ${info.callers} callers, ${info.keys} keys, ${info.seconds} s, Node ${process.version}, ${new Date(info.startedAt).toISOString()}`,
    'faults:',
    ...info.faults.map((f) => `  ${(f.from / 1000).toFixed(1)}-${(f.to / 1000).toFixed(1)} s  ${f.name}`),
    `calls: ${calls} (${Math.round(calls / info.seconds)}/s)`,
    `errors reaching callers: ${errorCount}`,
    ...Object.entries(errors).map(([text, n]) => `  ${n} x ${text}`),
    `latency ms: p50 ${histogram.quantile(0.5)}, p99 ${histogram.quantile(0.99)}, p99.9 ${histogram.quantile(0.999)}, longest ${longest.ms} (${longest.key} at ${t(longest.at)})`,
    `answers: ${Object.entries(statuses)
      .sort((a, b) => b[1] - a[1])
      .map(([status, n]) => `${status} ${n}`)
      .join(', ')}`,
    `loader calls: ${loads}; of those, started while another load of the key ran:`,
    `  in the same process: ${overlap.sameProcess}`,
    `  in another process, Redis healthy: ${overlap.crossHealthy}`,
    `  in another process, during a fault or ${RECOVERY / 1000} s after: ${overlap.crossDuringFault}`,
    `  after an invalidation revoked the running load's lease (by design): ${overlap.afterInvalidation}`,
    ...overlap.samples,
    `answers staler than the policy allows (> ${MAX_STALENESS} ms behind the origin): ${stale}`,
    ...summaries.flatMap((s) =>
      s.staleSamples.map((x) => `  ${JSON.stringify({ ...x, at: t(x.startedAt) })}`),
    ),
    `largest lag behind the origin: ${Math.max(...summaries.map((s) => s.maxLag))} ms`,
    `answers older than an invalidation completed > 200 ms before the call (informational): ${sum((s) => s.afterInvalidation)}`,
    ...summaries.flatMap((s) =>
      s.afterInvalidationSamples
        .slice(0, 3)
        .map((x) => `  ${x.key} v${x.version} at ${t(x.startedAt)}, invalidated at ${t(x.invalidatedAt)}`),
    ),
    `invalidations: ${sum((s) => s.invalidations.ok)} ok, ${sum((s) => s.invalidations.failed)} rejected (Redis unreachable)`,
    ...healthyErrors(summaries, info),
    `events: ${['breakerOpen', 'breakerClose', 'localFlush', 'leaseLost', 'takeover', 'error']
      .map((name) => `${name} ${events[name] ?? 0}`)
      .join(', ')}`,
  ];
  return { lines, failed: errorCount > 0 || stale > 0 || overlap.sameProcess > 0 };
}
