import { performance } from 'node:perf_hooks';
import { median } from './stats.js';

/** An async operation to repeat; `caller` numbers the concurrent loop running it (0..concurrency-1). */
export type Operation = (caller: number) => Promise<unknown>;

/** One contender of a throughput comparison. */
export interface Contender {
  readonly name: string;
  readonly op: Operation;
}

const BATCH = 512;

// Yield to the event loop between batches: a loop of already-resolved awaits never does, which would
// starve the cache's own timers (heartbeats) and sockets and measure a process no server ever is.
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Operations per second of `concurrency` sequential loops of `op`, for `ms` milliseconds. */
export async function opsPerSecond(op: Operation, ms: number, concurrency = 1): Promise<number> {
  let ops = 0;
  const started = performance.now();
  const end = started + ms;
  const loop = async (caller: number) => {
    while (performance.now() < end) {
      for (let i = 0; i < BATCH; i += 1) await op(caller);
      ops += BATCH;
      await yieldToLoop();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, caller) => loop(caller)));
  return ops / ((performance.now() - started) / 1000);
}

export interface RoundsResult {
  readonly name: string;
  /** ops/s of every round, in order. */
  readonly rounds: readonly number[];
  readonly median: number;
}

/**
 * Interleaved rounds: every round runs each contender once, alternating the order (A B, B A, ...) so
 * warm-up, GC and machine drift fall on all of them alike. A warm-up round is run first and dropped.
 */
export async function interleavedRounds(
  contenders: readonly Contender[],
  options: { rounds: number; ms: number; concurrency?: number; warmupMs?: number },
): Promise<RoundsResult[]> {
  for (const contender of contenders)
    await opsPerSecond(contender.op, options.warmupMs ?? 300, options.concurrency);
  const rounds = contenders.map(() => [] as number[]);
  for (let round = 0; round < options.rounds; round += 1) {
    const order = contenders.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const index of order) {
      rounds[index]!.push(await opsPerSecond(contenders[index]!.op, options.ms, options.concurrency));
    }
  }
  return contenders.map((contender, i) => ({
    name: contender.name,
    rounds: rounds[i]!,
    median: median(rounds[i]!),
  }));
}
