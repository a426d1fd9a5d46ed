import { fileURLToPath } from 'node:url';
import type { CacheOptions } from '../../../src/index.js';
import { IpcChild } from '../../support/ipc-child.js';
import type { CallResult, Command, Forwarded, LoaderSpec, Report } from './worker.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

type Reported<E extends Report['ev']> = Extract<Report, { ev: E }>;

/** One cache node in a child process, driven over IPC; it can be paused with SIGSTOP or killed. */
export class ChildNode extends IpcChild<Report> {
  #nextId = 0;

  constructor() {
    super(WORKER);
  }

  /** The next forwarded cache event of this name. */
  nextEvent(name: Forwarded, match: (detail: unknown) => boolean = () => true): Promise<Reported<'event'>> {
    return this.next('event', (report) => report.name === name && match(report.detail));
  }

  events(name: Forwarded): Reported<'event'>[] {
    return this.reports.filter((r): r is Reported<'event'> => r.ev === 'event' && r.name === name);
  }

  loaderStarts(key?: string): number {
    return this.reports.filter((r) => r.ev === 'loaderStart' && (key === undefined || r.key === key)).length;
  }

  async init(options: CacheOptions): Promise<void> {
    const ready = this.next('ready');
    this.#send({ cmd: 'init', options });
    await ready;
  }

  run(key: string, callers: number, loader: LoaderSpec): Promise<CallResult[]> {
    const id = this.#nextId++;
    const result = this.next('result', (report) => report.id === id);
    this.#send({ cmd: 'run', id, key, callers, loader });
    return result.then((report) => report.results);
  }

  release(key: string): void {
    this.#send({ cmd: 'release', key });
  }

  async invalidate(key: string): Promise<boolean> {
    const id = this.#nextId++;
    const done = this.next('done', (report) => report.id === id);
    this.#send({ cmd: 'invalidate', id, key });
    return (await done).ok;
  }

  /** Closes the cache and waits for the process to exit; kills it if it does not. */
  close(): Promise<void> {
    return this.shutdown(() => this.#send({ cmd: 'close', id: this.#nextId++ }));
  }

  #send(command: Command): void {
    this.child.send(command);
  }
}

/** Starts `size` child nodes with the same options. */
export async function startChildren(size: number, options: CacheOptions): Promise<ChildNode[]> {
  const nodes = Array.from({ length: size }, () => new ChildNode());
  try {
    await Promise.all(nodes.map((node) => node.init(options)));
  } catch (error) {
    await stopChildren(nodes);
    throw error;
  }
  return nodes;
}

export async function stopChildren(nodes: readonly ChildNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.close()));
}
