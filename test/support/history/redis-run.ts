import { fileURLToPath } from 'node:url';
import { IpcChild } from '../ipc-child.js';
import type { CallRecord, HeardRecord, History, LoadRecord, Op, Script } from './model.js';
import { RedisWatch } from './redis-watch.js';
import { batches, nodeOptions } from './simulate.js';
import type { FromWorker, ToWorker } from './worker.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** A worker's report, tagged for `IpcChild.next`. */
type Report = { [K in FromWorker['type']]: Extract<FromWorker, { type: K }> & { ev: K } }[FromWorker['type']];

/** The machine's real clock, common to every process on it. */
const now = () => performance.timeOrigin + performance.now();

// A call still pending this long after the history's last op is reported as never settled.
const GIVE_UP_AFTER = 20_000;

class Worker extends IpcChild<Report> {
  constructor() {
    super(WORKER);
  }

  send(message: ToWorker): void {
    this.child.send(message);
  }

  close(): Promise<void> {
    return this.shutdown(() => this.child.disconnect());
  }
}

/** What one history collects while it runs. */
class Recording {
  readonly calls: CallRecord[];
  readonly loads = new Map<string, LoadRecord>();
  readonly stored = new Map<string, number>();
  readonly heard: HeardRecord[] = [];
  readonly takeovers: { key: string; at: number }[] = [];
  settled = 0;
  onSettled: (() => void) | undefined;

  constructor(script: Script) {
    this.calls = script.ops.map((op) => ({ op, start: Number.NaN }));
  }
}

/**
 * Processes acting as nodes, each with its wall clock shifted, running generated histories against a real
 * Redis: the same scripts as the simulation, checked by the same checker. Several histories run at once,
 * each under its own prefix. Writes are issued one at a time (a write waits for the previous one to be
 * acknowledged) so that the order in which a node heard writes identifies them.
 */
export class RedisFleet {
  readonly #workers: Worker[];
  readonly #redisUrl: string;
  readonly #recordings = new Map<number, Recording>();
  /** Per worker process, when it was starved of CPU and for how long. */
  readonly #stalls: { at: number; ms: number }[][];
  readonly #redisWatch: RedisWatch;
  #nextHistory = 0;

  private constructor(workers: Worker[], redisUrl: string, redisWatch: RedisWatch) {
    this.#workers = workers;
    this.#redisUrl = redisUrl;
    this.#redisWatch = redisWatch;
    this.#stalls = workers.map(() => []);
    workers.forEach((worker, index) => {
      worker.child.on('message', (report: FromWorker) => {
        if (report.type === 'stall') this.#stalls[index]?.push({ at: report.at, ms: report.ms });
        else this.#onReport(report);
      });
    });
  }

  static async start(redisUrl: string, clockOffsets: readonly number[]): Promise<RedisFleet> {
    const workers = clockOffsets.map(() => new Worker());
    await Promise.all(
      workers.map((worker, index) => {
        const ready = worker.next('ready');
        worker.send({ type: 'init', index, clockOffset: clockOffsets[index] as number });
        return ready;
      }),
    );
    return new RedisFleet(workers, redisUrl, await RedisWatch.start(redisUrl));
  }

  async stop(): Promise<void> {
    this.#redisWatch.stop();
    await Promise.all(this.#workers.map((worker) => worker.close()));
  }

  #onReport(report: FromWorker): void {
    if (!('history' in report)) return;
    const recording = this.#recordings.get(report.history);
    if (!recording) return;
    switch (report.type) {
      case 'callStart': {
        const call = recording.calls[report.index] as CallRecord & { start: number; setId?: string };
        call.start = report.start;
        if (report.setId) call.setId = report.setId;
        return;
      }
      case 'call': {
        const call = recording.calls[report.index] as CallRecord;
        Object.assign(call, {
          start: report.start,
          end: report.end,
          ...(report.value ? { value: report.value } : {}),
          ...(report.status ? { status: report.status, tier: report.tier } : {}),
          ...(report.error ? { error: report.error } : {}),
          ...(report.setId ? { setId: report.setId } : {}),
        });
        recording.settled += 1;
        recording.onSettled?.();
        return;
      }
      case 'load':
        recording.loads.set(report.load.id, report.load);
        return;
      case 'stored':
        recording.stored.set(report.id, report.at);
        return;
      case 'heard':
        recording.heard.push({ node: report.node, kind: report.kind, name: report.name, at: report.at });
        return;
      case 'takeover':
        recording.takeovers.push({ key: report.key, at: report.at });
        return;
    }
  }

  /** Runs one script; resolves with its history once every call settled (or was given up on). */
  async run(script: Script): Promise<History> {
    const history = this.#nextHistory++;
    const recording = new Recording(script);
    this.#recordings.set(history, recording);
    const prefix = `test:histories:${process.pid}:${history}:`;
    const nodeOf = (node: number) => this.#workers[node % this.#workers.length] as Worker;
    await Promise.all(
      Array.from({ length: script.nodes }, (_, node) => {
        const worker = nodeOf(node);
        const opened = worker.next('opened', (report) => report.history === history);
        worker.send({
          type: 'open',
          history,
          node,
          redisUrl: this.#redisUrl,
          prefix,
          options: { ...nodeOptions(script, node), redis: this.#redisUrl },
          keys: script.keys,
        });
        return opened;
      }),
    );
    const indexOf = new Map(script.ops.map((op, index) => [op, index]));
    const isWrite = (op: Op) => op.kind === 'set' || op.kind === 'invalidate' || op.kind === 'invalidateTag';
    const writes: Op[][] = [];
    let writing: number[] | undefined;
    const sendBatch = (batch: Op[]) => {
      const ops = batch.map((op) => ({ index: indexOf.get(op) as number, op }));
      if (batch.some(isWrite)) writing = ops.filter(({ op }) => isWrite(op)).map(({ index }) => index);
      nodeOf(batch[0]?.node ?? 0).send({ type: 'ops', history, ops });
    };
    // A batch with a write waits for the write before it to be acknowledged.
    const writeDone = () => {
      if (writing?.every((i) => recording.calls[i]?.end !== undefined)) {
        writing = undefined;
        const next = writes.shift();
        if (next) sendBatch(next);
      }
    };
    const t0 = now() + 20;
    const timers = batches(script.ops).map((batch) =>
      setTimeout(
        () => {
          if (batch.some(isWrite) && (writing !== undefined || writes.length > 0)) writes.push(batch);
          else sendBatch(batch);
        },
        Math.max(0, t0 + (batch[0]?.at ?? 0) - now()),
      ),
    );
    await new Promise<void>((resolve) => {
      const giveUp = setTimeout(resolve, (script.ops.at(-1)?.at ?? 0) + GIVE_UP_AFTER);
      const check = () => {
        writeDone();
        if (recording.settled === script.ops.length) {
          clearTimeout(giveUp);
          resolve();
        }
      };
      recording.onSettled = check;
    });
    for (const timer of timers) clearTimeout(timer);
    await Promise.all(
      Array.from({ length: script.nodes }, (_, node) => {
        const worker = nodeOf(node);
        const closed = worker.next('closed', (report) => report.history === history);
        worker.send({ type: 'close', history });
        return closed;
      }),
    );
    this.#recordings.delete(history);
    const unsent = recording.calls.filter((call) => Number.isNaN(call.start)).length;
    if (unsent > 0) throw new Error(`history of seed ${script.seed}: ${unsent} ops were never sent`);
    const loads = [...recording.loads.values()].map((load) => {
      const storedBy = recording.stored.get(load.id);
      return storedBy === undefined ? load : { ...load, storedBy };
    });
    const from = Math.min(...recording.calls.map((call) => call.start));
    const stalls = Array.from({ length: script.nodes }, (_, node) =>
      (this.#stalls[node % this.#workers.length] ?? [])
        .filter((stall) => stall.at >= from)
        .map((stall) => ({ node, ...stall })),
    ).flat();
    return {
      script,
      calls: recording.calls,
      loads,
      takeovers: recording.takeovers,
      stalls,
      redisStalls: this.#redisWatch.stallsSince(from),
      heard: recording.heard,
      requestBound: 50,
      clockError: 2,
      degraded: false,
    };
  }
}
