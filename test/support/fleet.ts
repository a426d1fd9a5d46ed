import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { CacheOptions } from '../../src/index.js';
import type { CallResult, Command, LoaderSpec, Report } from './fleet-worker.js';

const WORKER = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));

type Reported<E extends Report['ev']> = Extract<Report, { ev: E }>;

/** One child process running a cache, driven over IPC. */
export class FleetNode extends EventEmitter {
  readonly child: ChildProcess;
  readonly reports: Report[] = [];
  #nextId = 0;

  constructor() {
    super();
    this.child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (report: Report) => {
      this.reports.push(report);
      this.emit(report.ev, report);
    });
  }

  #send(command: Command): void {
    this.child.send(command);
  }

  /** Waits for the next report of a kind that matches. */
  async next<E extends Report['ev']>(
    ev: E,
    match: (report: Reported<E>) => boolean = () => true,
  ): Promise<Reported<E>> {
    return new Promise((resolve, reject) => {
      const onReport = (report: Reported<E>) => {
        if (!match(report)) return;
        this.off(ev, onReport);
        this.child.off('exit', onExit);
        resolve(report);
      };
      const onExit = () => {
        this.off(ev, onReport);
        reject(new Error(`worker ${this.child.pid} exited while waiting for ${ev}`));
      };
      this.on(ev, onReport);
      this.child.once('exit', onExit);
    });
  }

  async init(options: CacheOptions): Promise<void> {
    const ready = this.next('ready');
    this.#send({ cmd: 'init', options });
    await ready;
  }

  /** Starts `callers` concurrent lookups; resolves with their results. */
  run(
    key: string,
    callers: number,
    loader: LoaderSpec,
    callOptions?: Record<string, unknown>,
  ): Promise<CallResult[]> {
    const id = this.#nextId++;
    const result = this.next('result', (report) => report.id === id);
    this.#send({ cmd: 'run', id, key, callers, loader, callOptions });
    return result.then((report) => report.results);
  }

  soak(
    keys: string[],
    callers: number,
    duration: number,
    pause: number,
    loader: LoaderSpec,
  ): Promise<CallResult[]> {
    const id = this.#nextId++;
    const result = this.next('result', (report) => report.id === id);
    this.#send({ cmd: 'soak', id, keys, callers, duration, pause, loader });
    return result.then((report) => report.results);
  }

  release(key: string): void {
    this.#send({ cmd: 'release', key });
  }

  async invalidate(key: string): Promise<void> {
    const id = this.#nextId++;
    const done = this.next('done', (report) => report.id === id);
    this.#send({ cmd: 'invalidate', id, key });
    await done;
  }

  count(ev: 'loaderStart' | 'loaderEnd' | 'wait', key?: string): number {
    return this.reports.filter((r) => r.ev === ev && (key === undefined || r.key === key)).length;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    const id = this.#nextId++;
    try {
      this.#send({ cmd: 'close', id });
    } catch {
      // Already disconnected: the kill below is enough.
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** Starts `size` nodes with the same options. */
export async function startFleet(size: number, options: CacheOptions): Promise<FleetNode[]> {
  const nodes = Array.from({ length: size }, () => new FleetNode());
  await Promise.all(nodes.map((node) => node.init(options)));
  return nodes;
}

export async function stopFleet(nodes: readonly FleetNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.close()));
}
