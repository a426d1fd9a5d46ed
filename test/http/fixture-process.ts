import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';

/** A fixture server running in a process of its own. */
export interface FixtureProcess {
  readonly child: ChildProcess;
  /** Where it listens, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** SIGTERM, then SIGKILL after 3 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Forks `script` (a fixture that serves on a free port and sends `{ port }` over IPC when it listens) on
 * the given Redis and prefix, so it shares a cache with the test's own process.
 */
export async function startFixtureProcess(
  script: string,
  redisUrl: string,
  prefix: string,
): Promise<FixtureProcess> {
  const child = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, HERDCACHE_TEST_REDIS_URL: redisUrl, HERDCACHE_TEST_PREFIX: prefix },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };
  const exitedEarly = once(child, 'exit').then(([code]) => {
    throw new Error(`fixture server exited early with ${code}`);
  });
  try {
    const [message] = (await Promise.race([once(child, 'message'), exitedEarly])) as [{ port: number }];
    return { child, url: `http://127.0.0.1:${message.port}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
