import { fileURLToPath } from 'node:url';
import { IpcChild } from './ipc-child.js';
import type { PointRecord, SpanRecord } from './otel-sdk.js';
import type { ObsCommand, ObsReport } from './otel-worker.js';

const WORKER = fileURLToPath(new URL('./otel-worker.ts', import.meta.url));

/** What a node's OpenTelemetry SDK and prom-client registry recorded. */
export interface Recorded {
  readonly spans: SpanRecord[];
  readonly otel: PointRecord[];
  readonly prometheus: PointRecord[];
}

/** A child process with a cache instrumented by herdcache/otel and herdcache/prometheus. */
export class ObservedNode extends IpcChild<ObsReport> {
  #nextId = 0;

  constructor() {
    super(WORKER);
  }

  #send(command: ObsCommand): void {
    this.child.send(command);
  }

  async init(redis: string, prefix: string): Promise<void> {
    const ready = this.next('ready');
    this.#send({ cmd: 'init', redis, prefix });
    await ready;
  }

  /** `callers` concurrent lookups of `key`; resolves with each one's `status/tier`. */
  run(key: string, callers: number, gated = false): Promise<string[]> {
    const id = this.#nextId++;
    const result = this.next('result', (report) => report.id === id);
    this.#send({ cmd: 'run', id, key, callers, gated });
    return result.then((report) => report.statuses);
  }

  release(key: string): void {
    this.#send({ cmd: 'release', key });
  }

  async collect(): Promise<Recorded> {
    const id = this.#nextId++;
    const collected = this.next('collected', (report) => report.id === id);
    this.#send({ cmd: 'collect', id });
    const { spans, otel, prometheus } = await collected;
    return { spans, otel, prometheus };
  }

  close(): Promise<void> {
    return this.shutdown(() => this.#send({ cmd: 'close', id: this.#nextId++ }));
  }
}
