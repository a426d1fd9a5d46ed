import { fileURLToPath } from 'node:url';
import type { CacheOptions } from '../../src/index.js';
import type { CallResult, ClientSpec, Command, LoaderSpec, Report } from './fleet-worker.js';
import { IpcChild } from './ipc-child.js';

const WORKER = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));

/** One child process running a cache, driven over IPC. */
export class FleetNode extends IpcChild<Report> {
  #nextId = 0;

  constructor() {
    super(WORKER);
  }

  #send(command: Command): void {
    this.child.send(command);
  }

  /**
   * @param clockOffset how far this process's wall clock is off, in ms.
   * @param client a client for the worker to make and pass as `redis`, instead of `options.redis`.
   */
  async init(options: CacheOptions, clockOffset = 0, client?: ClientSpec): Promise<void> {
    const ready = this.next('ready');
    this.#send({ cmd: 'init', options, clockOffset, ...(client ? { client } : {}) });
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

  /** Starts `callers` concurrent `lookupMany(keys)` calls; resolves with every key's result, caller by caller. */
  runMany(
    keys: string[],
    callers: number,
    loader: LoaderSpec,
    callOptions?: Record<string, unknown>,
  ): Promise<CallResult[]> {
    const id = this.#nextId++;
    const result = this.next('result', (report) => report.id === id);
    this.#send({ cmd: 'runMany', id, keys, callers, loader, callOptions });
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
    await this.#request((id) => ({ cmd: 'invalidate', id, key }));
  }

  async invalidateTag(tag: string): Promise<void> {
    await this.#request((id) => ({ cmd: 'invalidateTag', id, tag }));
  }

  async set(key: string, value: unknown, options?: Record<string, unknown>): Promise<void> {
    await this.#request((id) => ({ cmd: 'set', id, key, value, ...(options ? { options } : {}) }));
  }

  async #request(command: (id: number) => Command): Promise<void> {
    const id = this.#nextId++;
    const done = this.next('done', (report) => report.id === id);
    this.#send(command(id));
    await done;
  }

  count(ev: 'loaderStart' | 'loaderEnd' | 'wait' | 'batchStart', key?: string): number {
    return this.reports.filter((r) => r.ev === ev && (key === undefined || ('key' in r && r.key === key)))
      .length;
  }

  close(): Promise<void> {
    return this.shutdown(() => this.#send({ cmd: 'close', id: this.#nextId++ }));
  }
}

/**
 * Starts `size` nodes with the same options; `clockOffsets[i]` shifts node i's wall clock; with `client`,
 * each node makes that client and passes it as `redis`.
 */
export async function startFleet(
  size: number,
  options: CacheOptions,
  clockOffsets: readonly number[] = [],
  client?: ClientSpec,
): Promise<FleetNode[]> {
  const nodes = Array.from({ length: size }, () => new FleetNode());
  await Promise.all(nodes.map((node, i) => node.init(options, clockOffsets[i] ?? 0, client)));
  return nodes;
}

export async function stopFleet(nodes: readonly FleetNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.close()));
}
