import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { assertRedisServerInstalled, freePort } from '../../support/redis-server.js';

/** A `redis-server --sentinel` of our own, monitoring one master under `name`. */
export interface SpawnedSentinel {
  readonly port: number;
  readonly name: string;
  /** A connection to the sentinel, for SENTINEL commands (closed by `stop`). */
  readonly client: Redis;
  /** Kill the sentinel (only this process, by its pid) and remove its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a sentinel watching the master on `masterPort` with quorum 1 (it alone decides) and a 1 s
 * down-after, so a killed master is failed over within a few seconds. Resolves once it monitors the master.
 */
export async function spawnSentinel(masterPort: number, name = 'herdcache'): Promise<SpawnedSentinel> {
  assertRedisServerInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'herdcache-sentinel-'));
  const port = await freePort();
  const config = join(dir, 'sentinel.conf');
  // Sentinel rewrites its config file as it learns the topology, so it gets a file of its own.
  writeFileSync(
    config,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 10000`,
      '',
    ].join('\n'),
  );
  const child = spawn('redis-server', [config, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await monitoring(child, name);
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  await client.connect();
  return {
    port,
    name,
    client,
    async stop() {
      client.disconnect();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function monitoring(child: ChildProcess, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes(`+monitor master ${name}`)) return;
      child.stdout?.off('data', onData);
      // Keep draining its log, or a full pipe would block the sentinel.
      child.stdout?.resume();
      resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.resume();
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server --sentinel exited with ${code}: ${output}`)));
  });
}

/** Polls `check` until it returns a value other than undefined, or fails after `ms` naming `what`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
