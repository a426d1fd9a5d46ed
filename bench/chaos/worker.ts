/**
 * One process of the chaos run: callers looping over the keys, plus a writer invalidating its share of the
 * keys whenever their version changes. Judges every answer against the clock-based origin and reports a
 * summary when told to stop.
 */
import { Cache } from '../../src/index.js';
import { Histogram } from './histogram.js';
import { type Answer, LOADER_MAX, MAX_STALENESS, POLICY, supersededAt, versionAt } from './origin.js';
import type { ToParent, ToWorker, WorkerSummary } from './protocol.js';

// An answer this long after a completed invalidation of a newer version should reflect it (informational).
const PROPAGATION = 200;

const send = (message: ToParent) => process.send?.(message);

async function run(start: Extract<ToWorker, { cmd: 'start' }>): Promise<void> {
  const cache = new Cache({ ...POLICY, redis: start.url, prefix: start.prefix });
  const errorLog: Array<[number, string]> = [];
  cache.on('error', (error) => {
    if (errorLog.length < 20_000)
      errorLog.push([Date.now(), `${error.name}: ${error.message}`.slice(0, 120)]);
  });
  await cache.ready();
  // The `load` event follows the loader's end (after the commit): mark the key's latest load stored or not.
  cache.on('load', ({ key, stored }) => {
    const load = summary.loads.findLast((l) => l[0] === key && l[3] === '?');
    if (load) load[3] = stored ? 's' : 'n';
  });
  const keys = Array.from({ length: start.keys }, (_, i) => `key-${i}`);
  const invalidatedTo = new Map<string, { version: number; at: number }>();
  process.on('message', (message: ToWorker) => {
    if (message.cmd !== 'invalidated') return;
    const known = invalidatedTo.get(message.key);
    if (!known || known.version < message.version) invalidatedTo.set(message.key, message);
  });

  const summary: WorkerSummary = {
    pid: process.pid,
    calls: 0,
    errors: {},
    durations: new Histogram().buckets,
    longest: { ms: 0, key: '', at: 0 },
    statuses: {},
    loads: [],
    staleViolations: 0,
    staleSamples: [],
    maxLag: -1e12,
    afterInvalidation: 0,
    afterInvalidationSamples: [],
    invalidations: { ok: 0, failed: 0 },
    events: {},
    errorLog,
  };
  const histogram = new Histogram(summary.durations);

  const loader = async ({ key }: { key: string }): Promise<Answer> => {
    const startedAt = Date.now();
    const version = versionAt(key, startedAt);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * LOADER_MAX));
    summary.loads.push([key, startedAt, Date.now(), '?']);
    return { key, version };
  };

  const judge = (answer: Answer, startedAt: number) => {
    const lag = startedAt - supersededAt(answer.key, answer.version);
    summary.maxLag = Math.max(summary.maxLag, lag);
    if (lag > MAX_STALENESS) {
      summary.staleViolations += 1;
      if (summary.staleSamples.length < 10) summary.staleSamples.push({ ...answer, startedAt, lag });
    }
    const invalidation = invalidatedTo.get(answer.key);
    if (invalidation && invalidation.version > answer.version && startedAt > invalidation.at + PROPAGATION) {
      summary.afterInvalidation += 1;
      if (summary.afterInvalidationSamples.length < 10) {
        summary.afterInvalidationSamples.push({ ...answer, startedAt, invalidatedAt: invalidation.at });
      }
    }
  };

  const caller = async () => {
    while (Date.now() < start.until) {
      const key = keys[Math.floor(Math.random() * keys.length)] as string;
      const startedAt = Date.now();
      try {
        const lookup = await cache.lookup(key, loader);
        const ms = Date.now() - startedAt;
        histogram.add(ms);
        if (ms > summary.longest.ms) summary.longest = { ms, key, at: startedAt };
        const status = `${lookup.status}/${lookup.tier}`;
        summary.statuses[status] = (summary.statuses[status] ?? 0) + 1;
        judge(lookup.value, startedAt);
      } catch (error) {
        const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        summary.errors[text] = (summary.errors[text] ?? 0) + 1;
      }
      summary.calls += 1;
      await new Promise((resolve) => setTimeout(resolve, start.pause));
    }
  };

  // This process invalidates its share of the keys right after each version change.
  const writer = (key: string) => {
    const schedule = () => {
      const next = supersededAt(key, versionAt(key, Date.now()));
      if (next >= start.until) return;
      setTimeout(
        async () => {
          const startedAt = Date.now();
          const version = versionAt(key, startedAt);
          try {
            await cache.invalidate(key);
            summary.invalidations.ok += 1;
            send({ ev: 'invalidated', key, version, startedAt, at: Date.now() });
          } catch {
            summary.invalidations.failed += 1;
          }
          schedule();
        },
        next - Date.now() + 5,
      );
    };
    schedule();
  };
  keys.filter((_, i) => i % start.processes === start.index).forEach(writer);

  await Promise.all(Array.from({ length: start.callers }, caller));
  summary.events = { ...cache.stats() };
  await cache.close();
  send({ ev: 'summary', summary });
}

process.on('message', (message: ToWorker) => {
  if (message.cmd === 'start') {
    run(message).catch((error: unknown) => {
      send({ ev: 'failed', message: String(error) });
    });
  }
});
send({ ev: 'ready' });
