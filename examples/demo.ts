/**
 * `npm start`: four app processes hammer one hot key that expires every second, through three contenders
 * in turn: no cache, per-process dedupe (an LRU with in-process single-flight, as every in-process cache
 * library does) and herdcache. Prints database queries and caller latencies side by side.
 *
 * Redis: REDIS_URL if set; otherwise a throwaway redis-server if one is installed; otherwise herdcache runs
 * in single-process mode (and then does no better than per-process dedupe, which the demo says).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { demoRedis } from './demo-redis.js';
import type { Contender, Job, WorkerMessage } from './demo-worker.js';

const PROCESSES = 4;
const CALLERS_PER_PROCESS = 25;
const DURATION = 3_000;
const TTL = 1_000;
const CONTENDERS: readonly Contender[] = ['no cache', 'per-process dedupe', 'herdcache'];
const WORKER = fileURLToPath(new URL('./demo-worker.ts', import.meta.url));

interface Outcome {
  readonly contender: Contender;
  queries: number;
  latencies: number[];
}

const count = (n: number) => n.toLocaleString('en-US');

/** A duration in the unit that keeps it readable: 0.8 µs, 35 µs, 0.35 ms, 101 ms. */
function duration(ms: number): string {
  if (ms < 0.01) return `${(ms * 1000).toFixed(1)} µs`;
  if (ms < 0.1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  return `${Math.round(ms)} ms`;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

function startWorker(): Promise<ChildProcess> {
  const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('message', () => resolve(child));
  });
}

/** Runs one contender on every worker at once; `onQuery` sees every database query as it happens. */
async function run(workers: readonly ChildProcess[], job: Job, onQuery: () => void): Promise<number[]> {
  const latencies = await Promise.all(
    workers.map(
      (worker) =>
        new Promise<number[]>((resolve) => {
          const onMessage = (message: WorkerMessage) => {
            if (message.type === 'query') onQuery();
            if (message.type !== 'done') return;
            worker.off('message', onMessage);
            resolve(message.latencies);
          };
          worker.on('message', onMessage);
          worker.send(job);
        }),
    ),
  );
  return latencies.flat().sort((a, b) => a - b);
}

/** One line per contender: rewritten in place on a terminal, printed once when done otherwise. */
function progress(contender: Contender): { query(): void; done(): void } {
  const label = `  ${contender} `.padEnd(24, '.');
  const started = performance.now();
  let queries = 0;
  const line = () =>
    `${label} ${((performance.now() - started) / 1000).toFixed(1)} s  ${count(queries).padStart(6)} queries`;
  const timer = process.stdout.isTTY
    ? setInterval(() => process.stdout.write(`\r${line()}`), 200)
    : undefined;
  return {
    query: () => {
      queries += 1;
    },
    done: () => {
      clearInterval(timer);
      process.stdout.write(`${process.stdout.isTTY ? '\r' : ''}${line()}\n`);
    },
  };
}

function report(outcomes: readonly Outcome[], seconds: number): string[] {
  const headers = ['', 'database queries', 'queries/s', 'requests served', 'p50', 'p99'];
  const rows = outcomes.map((o) => [
    o.contender,
    count(o.queries),
    (o.queries / seconds).toFixed(1),
    count(o.latencies.length),
    duration(percentile(o.latencies, 0.5)),
    duration(percentile(o.latencies, 0.99)),
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const format = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   ');
  return [format(headers), ...rows.map(format)];
}

const redis = await demoRedis();
console.log(
  `herdcache demo: ${PROCESSES} app processes x ${CALLERS_PER_PROCESS} callers request one hot key for ${DURATION / 1000} s per contender.`,
);
console.log(
  `The key expires every ${TTL / 1000} s; loading it is a 100 ms "database query". Redis: ${redis.note}.\n`,
);
const workers = await Promise.all(Array.from({ length: PROCESSES }, startWorker));
try {
  const outcomes: Outcome[] = [];
  for (const contender of CONTENDERS) {
    const shown = progress(contender);
    const job: Job = {
      contender,
      redis: redis.url,
      prefix: `herdcache-demo:${process.pid}:${Date.now()}:`,
      callers: CALLERS_PER_PROCESS,
      duration: DURATION,
      ttl: TTL,
    };
    const outcome: Outcome = { contender, queries: 0, latencies: [] };
    outcome.latencies = await run(workers, job, () => {
      outcome.queries += 1;
      shown.query();
    });
    shown.done();
    outcomes.push(outcome);
  }
  console.log(`\n${report(outcomes, DURATION / 1000).join('\n')}\n`);
  console.log(
    `database queries: ${outcomes.map((o) => count(o.queries)).join(' -> ')}  (${CONTENDERS.join(' -> ')})`,
  );
  if (redis.url === undefined) {
    console.log(
      'Without Redis, herdcache dedupes per process only, like the second row: set REDIS_URL or install',
    );
    console.log('redis-server to see one query per expiry for all processes.');
  } else {
    console.log(
      `Per-process dedupe still queries once per expiry in each of the ${PROCESSES} processes; herdcache queries once`,
    );
    console.log(
      'per expiry for all of them, and refreshes the key just before it expires, so nobody waits for the query.',
    );
  }
} finally {
  for (const worker of workers) worker.send('exit');
  await redis.stop();
}
