import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway redis-server owned by a test or benchmark: started on a free port, killed at the end. */
export interface SpawnedRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** SIGSTOP: the server stops answering but keeps its sockets open. */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
  /** SIGKILL and wait for the process to exit. */
  kill(): Promise<void>;
  /** Start a fresh server on the same port (after `kill()`); data does not survive. */
  restart(): Promise<void>;
  /** Kill the server and remove its directory. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'redis-server was not found on PATH. Install it with `sudo apt-get install -y redis-server` (Debian/Ubuntu) or set REDIS_URL.';

/** Fails with one clear line when redis-server is not installed. */
export function assertRedisServerInstalled(): void {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) throw new Error(INSTALL_HINT);
}

async function portIsFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free loopback port. With `clusterBus`, port + 10000 (where a cluster node listens for its peers) is free
 * as well, so the port is drawn below 55535.
 */
export async function freePort(clusterBus = false): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await portIsFree(port)) && (!clusterBus || (await portIsFree(port + 10_000)))) return port;
  }
}

function startProcess(port: number, dir: string, extra: readonly string[] = []): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts a redis-server on a free loopback port; `extra` are more command-line arguments. */
export async function spawnRedis(extra: readonly string[] = [], port?: number): Promise<SpawnedRedis> {
  assertRedisServerInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'herdcache-redis-'));
  const chosen = port ?? (await freePort());
  let child = await startProcess(chosen, dir, extra);
  const signal = (name: NodeJS.Signals) => {
    child.kill(name);
  };
  return {
    url: `redis://127.0.0.1:${chosen}`,
    port: chosen,
    get pid() {
      return child.pid ?? -1;
    },
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async kill() {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await waitForExit(child);
    },
    async restart() {
      child = await startProcess(chosen, dir, extra);
    },
    async stop() {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await waitForExit(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
