/**
 * A cache node in a child process whose Redis is found through Sentinel: an ioredis client configured with
 * `sentinels` and `name`, passed in as `redis`, as an app using Sentinel would. Driven over IPC by
 * test/faults/sentinel.test.ts.
 */
import { Redis } from 'ioredis';
import { type Cache, createCache } from '../../../src/index.js';

export type SentinelCommand =
  | {
      cmd: 'init';
      sentinels: { host: string; port: number }[];
      name: string;
      prefix: string;
      /** The client options the README recommends for a client passed in (no offline queue, no retries). */
      failFast: boolean;
    }
  | { cmd: 'run'; id: number; key: string; callers: number; delay: number }
  | { cmd: 'close'; id: number };

export interface SentinelCallResult {
  readonly ok: boolean;
  readonly value?: { pid: number; key: string };
  readonly status?: string;
  readonly error?: string;
}

export type SentinelReport =
  | { ev: 'ready'; pid: number }
  | { ev: 'loaderStart'; key: string }
  | { ev: 'result'; id: number; results: SentinelCallResult[] }
  /** Every `error` event the cache emitted: its class name and code. */
  | { ev: 'cacheError'; name: string; code: string | undefined; message: string }
  | { ev: 'done'; id: number };

let cache: Cache | undefined;
let client: Redis | undefined;
const send = (report: SentinelReport) => process.send?.(report);

async function call(key: string, delay: number): Promise<SentinelCallResult> {
  try {
    const lookup = await cache!.lookup(key, async () => {
      send({ ev: 'loaderStart', key });
      await new Promise((resolve) => setTimeout(resolve, delay));
      return { pid: process.pid, key };
    });
    return { ok: true, value: lookup.value, status: lookup.status };
  } catch (error) {
    return { ok: false, error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

process.on('message', async (command: SentinelCommand) => {
  switch (command.cmd) {
    case 'init':
      client = new Redis({
        sentinels: command.sentinels,
        name: command.name,
        ...(command.failFast ? { enableOfflineQueue: false, maxRetriesPerRequest: 0 } : {}),
      });
      client.on('error', () => {});
      cache = createCache({ redis: client, prefix: command.prefix });
      cache.on('error', (error) => {
        send({
          ev: 'cacheError',
          name: error.name,
          code: (error as { code?: string }).code,
          message: error.message,
        });
      });
      await cache.ready();
      send({ ev: 'ready', pid: process.pid });
      return;
    case 'run': {
      const results = await Promise.all(
        Array.from({ length: command.callers }, () => call(command.key, command.delay)),
      );
      send({ ev: 'result', id: command.id, results });
      return;
    }
    case 'close':
      await cache?.close();
      // The client was passed in: it stays ours to close.
      client?.disconnect();
      send({ ev: 'done', id: command.id });
      process.disconnect?.();
      return;
  }
});
