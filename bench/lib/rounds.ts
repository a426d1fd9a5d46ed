import { performance } from 'node:perf_hooks';
import { median } from './stats.js';

/** An async operation to repeat; `caller` numbers the concurrent loop running it (0..concurrency-1). */
export type Operation = (caller: number) => Promise<unknown>;

/** One contender of a throughput comparison. */
export interface Contender {
  readonly name: string;
  readonly op: Operation;
  /**
   * Runs before each of this contender's runs (warm-up included); the function it returns runs after. For
   * process-wide state only one contender may have on (diagnostics channel subscribers, say).
   */
  readonly around?: () => () => void;
}

/** One timed run of a contender, inside its `around` hook. */
async function contenderRun(contender: Contender, ms: number, concurrency: number) {
  const after = contender.around?.();
  try {
    return await timedRun(contender.op, ms, concurrency);
  } finally {
    after?.();
  }
}

/**
 * Measures something outside this process over one timed round (a server's CPU time, its command
 * counters): it is called just before the round, and the function it returns just after, with the number
 * of operations the round completed. Warm-up rounds are not probed.
 */
export type RoundProbe<T> = () => Promise<(operations: number) => Promise<T>>;

const BATCH = 512;

// Yield to the event loop between batches: a loop of already-resolved awaits never does, which would
// starve the cache's own timers (heartbeats) and sockets and measure a process no server ever is.
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What one timed run of `concurrency` loops completed, and in how long. */
async function timedRun(
  op: Operation,
  ms: number,
  concurrency: number,
): Promise<{ operations: number; seconds: number }> {
  let operations = 0;
  const started = performance.now();
  const end = started + ms;
  const loop = async (caller: number) => {
    while (performance.now() < end) {
      for (let i = 0; i < BATCH; i += 1) await op(caller);
      operations += BATCH;
      await yieldToLoop();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, caller) => loop(caller)));
  return { operations, seconds: (performance.now() - started) / 1000 };
}

/** Operations per second of `concurrency` sequential loops of `op`, for `ms` milliseconds. */
export async function opsPerSecond(op: Operation, ms: number, concurrency = 1): Promise<number> {
  const { operations, seconds } = await timedRun(op, ms, concurrency);
  return operations / seconds;
}

export interface RoundsResult<T = never> {
  readonly name: string;
  /** ops/s of every round, in order. */
  readonly rounds: readonly number[];
  readonly median: number;
  /** What the probe measured over every round, in order (empty without a probe). */
  readonly probes: readonly T[];
}

/**
 * Interleaved rounds: every round runs each contender once, alternating the order (A B, B A, ...) so
 * warm-up, GC and machine drift fall on all of them alike. A warm-up round is run first and dropped.
 */
export async function interleavedRounds<T = never>(
  contenders: readonly Contender[],
  options: { rounds: number; ms: number; concurrency?: number; warmupMs?: number; probe?: RoundProbe<T> },
): Promise<RoundsResult<T>[]> {
  const concurrency = options.concurrency ?? 1;
  for (const contender of contenders) await contenderRun(contender, options.warmupMs ?? 300, concurrency);
  const rounds = contenders.map(() => [] as number[]);
  const probes = contenders.map(() => [] as T[]);
  for (let round = 0; round < options.rounds; round += 1) {
    const order = contenders.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const index of order) {
      const finish = await options.probe?.();
      const { operations, seconds } = await contenderRun(contenders[index]!, options.ms, concurrency);
      rounds[index]!.push(operations / seconds);
      if (finish) probes[index]!.push(await finish(operations));
    }
  }
  return contenders.map((contender, i) => ({
    name: contender.name,
    rounds: rounds[i]!,
    median: median(rounds[i]!),
    probes: probes[i]!,
  }));
}
