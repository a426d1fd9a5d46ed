/**
 * Chaos run (by hand, not in CI nor `npm run bench`):
 *
 *   npx tsx bench/chaos.ts --processes 4 --duration 120
 *
 * W processes call the cache under traffic while a spawned redis-server is killed, paused, restarted, runs
 * out of memory, loses its scripts and its subscribers on a schedule. Reports errors reaching callers, the
 * longest call, loader calls (and loads of one key that overlapped), and answers staler than the policy
 * allows. Exits 1 if any caller saw an error, any answer was too stale, or a process loaded a key twice at
 * once.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnRedis } from '../test/support/redis-server.js';
import { runSchedule } from './chaos/faults.js';
import type { ToParent, ToWorker, WorkerSummary } from './chaos/protocol.js';
import { report } from './chaos/report.js';

const { values } = parseArgs({
  options: {
    processes: { type: 'string', default: '4' },
    duration: { type: 'string', default: '120' },
    keys: { type: 'string', default: '40' },
    callers: { type: 'string', default: '10' },
    pause: { type: 'string', default: '5' },
    // A baseline with the same traffic and no faults.
    'no-faults': { type: 'boolean', default: false },
  },
});
const processes = Number(values.processes);
const seconds = Number(values.duration);
const keys = Number(values.keys);
const callers = Number(values.callers);
const pause = Number(values.pause);
for (const [name, n] of Object.entries({ processes, seconds, keys, callers, pause })) {
  if (!Number.isInteger(n) || n < (name === 'pause' ? 0 : 1)) throw new Error(`--${name} must be an integer`);
}

const WORKER = fileURLToPath(new URL('./chaos/worker.ts', import.meta.url));

function start(): ChildProcess {
  return fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

const redis = await spawnRedis();
const invalidations: Array<{ key: string; startedAt: number; at: number }> = [];
const workers = Array.from({ length: processes }, start);
try {
  await Promise.all(workers.map((worker) => once(worker, 'message')));
  const summaries: Promise<WorkerSummary>[] = workers.map(
    (worker) =>
      new Promise((resolve, reject) => {
        worker.on('message', (message: ToParent) => {
          if (message.ev === 'summary') resolve(message.summary);
          if (message.ev === 'failed') reject(new Error(message.message));
          // Every process learns of every completed invalidation, to judge its answers against it.
          if (message.ev === 'invalidated') {
            invalidations.push(message);
            const notice: ToWorker = { cmd: 'invalidated', ...message };
            for (const other of workers) if (other.connected) other.send(notice);
          }
        });
        worker.once('exit', (code) => reject(new Error(`worker ${worker.pid} exited with ${code}`)));
      }),
  );
  const startedAt = Date.now();
  const until = startedAt + seconds * 1_000;
  const prefix = `chaos:${randomUUID()}:`;
  workers.forEach((worker, index) => {
    const command: ToWorker = {
      cmd: 'start',
      url: redis.url,
      prefix,
      index,
      processes,
      keys,
      callers,
      pause,
      until,
    };
    worker.send(command);
  });
  const faults = values['no-faults']
    ? []
    : await runSchedule(redis, startedAt, until, { warmup: 5_000, gap: 6_000 });
  const verdict = report(await Promise.all(summaries), {
    processes,
    callers,
    keys,
    seconds,
    startedAt,
    faults,
    invalidations,
  });
  console.log(verdict.lines.join('\n'));
  process.exitCode = verdict.failed ? 1 : 0;
} finally {
  for (const worker of workers) if (worker.exitCode === null) worker.kill('SIGKILL');
  await redis.stop();
}
