/**
 * The demo's Redis: REDIS_URL if set, else a throwaway redis-server on a free port if one is installed
 * (stopped when the demo ends), else none.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DemoRedis {
  /** Undefined: no Redis, the caches run in single-process mode. */
  readonly url: string | undefined;
  /** Where it came from, for the header. */
  readonly note: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes('Ready to accept connections')) return;
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      resolve();
    };
    child.stdout?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  });
}

export async function demoRedis(): Promise<DemoRedis> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) return { url: fromEnv, note: `the Redis at REDIS_URL`, stop: async () => {} };
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    return {
      url: undefined,
      note: 'no Redis (REDIS_URL unset, no redis-server on PATH)',
      stop: async () => {},
    };
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'herdcache-demo-'));
  const args = [
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
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  // A demo stopped with Ctrl-C must not leave its server running.
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  await started(child);
  return {
    url: `redis://127.0.0.1:${port}`,
    note: `a throwaway redis-server on port ${port}`,
    async stop() {
      process.off('exit', kill);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
