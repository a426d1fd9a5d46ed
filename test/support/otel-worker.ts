/**
 * A child process running one cache with herdcache/otel on a real OpenTelemetry SDK and herdcache/prometheus
 * on a real prom-client registry (see otel-sdk.ts). The parent (test/support/otel-node.ts) drives it over
 * IPC and asks for what both recorded.
 */
import { Cache } from '../../src/index.js';
import { observe, type PointRecord, type SpanRecord } from './otel-sdk.js';

export type ObsCommand =
  | { cmd: 'init'; redis: string; prefix: string }
  | { cmd: 'run'; id: number; key: string; callers: number; gated: boolean }
  | { cmd: 'release'; key: string }
  | { cmd: 'collect'; id: number }
  | { cmd: 'close'; id: number };

export type ObsReport =
  | { ev: 'ready' }
  | { ev: 'loaderStart'; key: string }
  | { ev: 'wait'; key: string }
  | { ev: 'result'; id: number; statuses: string[] }
  | { ev: 'collected'; id: number; spans: SpanRecord[]; otel: PointRecord[]; prometheus: PointRecord[] }
  | { ev: 'done'; id: number };

const observed = observe({ nestSpans: true });
let cache: Cache | undefined;
const gates = new Map<string, (() => void)[]>();

function send(report: ObsReport): void {
  process.send?.(report);
}

function loader(gated: boolean) {
  return async ({ key }: { key: string }) => {
    send({ ev: 'loaderStart', key });
    if (gated) await new Promise<void>((resolve) => gates.set(key, [...(gates.get(key) ?? []), resolve]));
    return { key, pid: process.pid };
  };
}

process.on('message', async (command: ObsCommand) => {
  switch (command.cmd) {
    case 'init':
      cache = new Cache({
        redis: command.redis,
        prefix: command.prefix,
        waitTimeout: 10_000,
        leaseTtl: 20_000,
      });
      cache.on('error', () => {});
      cache.on('wait', ({ key }) => send({ ev: 'wait', key }));
      await cache.ready();
      send({ ev: 'ready' });
      return;
    case 'run': {
      const make = loader(command.gated);
      const lookups = await Promise.all(
        Array.from({ length: command.callers }, () => cache!.lookup(command.key, make)),
      );
      send({ ev: 'result', id: command.id, statuses: lookups.map((l) => `${l.status}/${l.tier}`) });
      return;
    }
    case 'release':
      for (const resolve of gates.get(command.key) ?? []) resolve();
      gates.delete(command.key);
      return;
    case 'collect':
      send({
        ev: 'collected',
        id: command.id,
        spans: observed.spans(),
        otel: await observed.otel(),
        prometheus: await observed.prometheus(),
      });
      return;
    case 'close':
      await cache?.close();
      await observed.close();
      send({ ev: 'done', id: command.id });
      process.disconnect?.();
      return;
  }
});
