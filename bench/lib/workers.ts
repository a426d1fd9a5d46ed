import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Every IPC message is a plain object with a `type`. */
export interface Message {
  readonly type: string;
}

type Of<M extends Message, T extends M['type']> = Extract<M, { type: T }>;

// The tsx loader by absolute URL, so workers start the same way whatever the current directory is.
const TSX_LOADER = import.meta.resolve('tsx');

/** Queues messages until someone asks for them: a reply that arrives early is never lost. */
class Inbox<In extends Message> {
  readonly #queue: In[] = [];
  readonly #waiting: { types: readonly string[]; resolve: (m: In) => void; reject: (e: Error) => void }[] =
    [];
  #closed: Error | undefined;

  push(message: In): void {
    const index = this.#waiting.findIndex((w) => w.types.includes(message.type));
    if (index >= 0) {
      const [waiter] = this.#waiting.splice(index, 1);
      waiter!.resolve(message);
    } else this.#queue.push(message);
  }

  close(error: Error): void {
    this.#closed = error;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
  }

  /** The first queued or future message of one of `types`. */
  take<T extends In['type']>(types: readonly T[], timeoutMs: number, who: string): Promise<Of<In, T>> {
    const index = this.#queue.findIndex((m) => (types as readonly string[]).includes(m.type));
    if (index >= 0) return Promise.resolve(this.#queue.splice(index, 1)[0] as Of<In, T>);
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      const waiter = {
        types,
        resolve: (m: In) => {
          clearTimeout(timer);
          resolve(m as Of<In, T>);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
        reject(new Error(`${who}: no '${types.join("' or '")}' message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.push(waiter);
    });
  }
}

/** One child process running a bench worker script, spoken to over IPC. */
export class Worker<Out extends Message, In extends Message> {
  readonly name: string;
  readonly #child: ChildProcess;
  readonly #inbox = new Inbox<In>();
  readonly #exited: Promise<void>;

  constructor(script: URL, name: string, env: NodeJS.ProcessEnv = {}) {
    this.name = name;
    this.#child = fork(fileURLToPath(script), [], {
      execArgv: ['--import', TSX_LOADER],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.#child.on('message', (message: In) => this.#inbox.push(message));
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#inbox.close(new Error(`${name} exited (${signal ?? code}) before answering`));
        resolve();
      });
    });
  }

  send(message: Out): void {
    if (this.#child.connected) this.#child.send(message);
  }

  /** The next message of this type (or of any of these types). */
  receive<T extends In['type']>(type: T | readonly T[], timeoutMs = 60_000): Promise<Of<In, T>> {
    return this.#inbox.take(typeof type === 'string' ? [type] : type, timeoutMs, this.name);
  }

  /** Waits up to `graceMs` for the worker to exit on its own, then kills it. */
  async stop(graceMs = 5_000): Promise<void> {
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** Starts `count` workers of one script. */
export function startWorkers<Out extends Message, In extends Message>(
  script: URL,
  count: number,
  label: string,
): Worker<Out, In>[] {
  return Array.from({ length: count }, (_, index) => new Worker<Out, In>(script, `${label} #${index}`));
}

/** Stops every worker, whatever state it is in. */
export async function stopAll(
  workers: readonly { stop(graceMs?: number): Promise<void> }[],
  graceMs?: number,
): Promise<void> {
  await Promise.all(workers.map((worker) => worker.stop(graceMs)));
}

/** The worker side of the channel. */
export class Parent<Out extends Message, In extends Message> {
  readonly #inbox = new Inbox<In>();
  #leaving = false;

  constructor() {
    if (!process.send) throw new Error('this script is a bench worker: start it through its scenario');
    process.on('message', (message: In) => this.#inbox.push(message));
    // Exit once the channel closes: when the coordinator went away (crash, Ctrl-C) a worker must never
    // outlive it, and after done() a library's stray timer must not keep the process alive.
    process.on('disconnect', () => process.exit(this.#leaving ? 0 : 1));
  }

  send(message: Out): Promise<void> {
    return new Promise((resolve, reject) => {
      process.send!(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** The next message of this type (or of any of these types). */
  receive<T extends In['type']>(type: T | readonly T[], timeoutMs = 600_000): Promise<Of<In, T>> {
    return this.#inbox.take(typeof type === 'string' ? [type] : type, timeoutMs, 'coordinator');
  }

  /** Lets go of the IPC channel, which ends the process. */
  done(): void {
    this.#leaving = true;
    process.disconnect();
  }
}

/** Resolves at the given epoch millisecond: all workers told the same instant start together. */
export function sleepUntil(epochMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - Date.now())));
}
