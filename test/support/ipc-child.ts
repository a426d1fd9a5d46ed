import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter, once } from 'node:events';

/** Any report a worker sends: a tagged object. */
export interface TaggedReport {
  readonly ev: string;
}

/**
 * A TypeScript worker in a child process, driven over IPC: it keeps every report it sent and lets a test
 * await the next one of a kind. The fleet harness and the fault harness build their nodes on it.
 */
export class IpcChild<R extends TaggedReport> extends EventEmitter {
  readonly child: ChildProcess;
  readonly reports: R[] = [];

  constructor(workerPath: string) {
    super();
    this.child = fork(workerPath, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (report: R) => {
      this.reports.push(report);
      this.emit(report.ev, report);
    });
  }

  /** The next report of a kind that matches (reports already received do not count). */
  next<E extends R['ev']>(
    ev: E,
    match: (report: Extract<R, { ev: E }>) => boolean = () => true,
  ): Promise<Extract<R, { ev: E }>> {
    return new Promise((resolve, reject) => {
      const onReport = (report: Extract<R, { ev: E }>) => {
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

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Asks the worker to close (`sendClose`), waits for it to exit, and kills it if it does not. */
  protected async shutdown(sendClose: () => void): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGCONT');
    try {
      sendClose();
    } catch {
      // Already disconnected: the kill below ends it.
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
}
