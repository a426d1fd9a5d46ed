/**
 * A child process running one cache node for the fault tests. Like test/support/fleet-worker.ts, plus the
 * events the fault tests need to observe (breaker, lease loss, local flushes, loads) without sleeping.
 */
import { Cache, type CacheEvents, type CacheOptions } from '../../../src/index.js';

export interface LoaderSpec {
  /** Wait for a `release` command before returning. */
  readonly gated?: boolean;
  /** Milliseconds the loader takes (after the gate, if any). */
  readonly delay?: number;
  /** Returned as `tag`, to tell values apart. */
  readonly tag?: string;
}

export type Command =
  | { cmd: 'init'; options: CacheOptions }
  | { cmd: 'run'; id: number; key: string; callers: number; loader: LoaderSpec }
  | { cmd: 'release'; key: string }
  | { cmd: 'invalidate'; id: number; key: string }
  | { cmd: 'close'; id: number };

export interface CallResult {
  readonly ok: boolean;
  readonly value?: { pid: number; tag: string | null };
  readonly error?: string;
  readonly startedAt: number;
  readonly at: number;
}

/** Events forwarded to the parent. */
export const FORWARDED = ['breakerOpen', 'breakerClose', 'leaseLost', 'localFlush', 'load', 'wait'] as const;
export type Forwarded = (typeof FORWARDED)[number];

export type Report =
  | { ev: 'ready'; pid: number }
  | { ev: 'loaderStart'; key: string; at: number }
  | { ev: 'result'; id: number; results: CallResult[] }
  | { ev: 'done'; id: number; ok: boolean }
  | { ev: 'event'; name: Forwarded; detail: unknown; at: number };

let cache: Cache | undefined;
const gates = new Map<string, Array<() => void>>();

function send(report: Report): void {
  process.send?.(report);
}

function loader(spec: LoaderSpec) {
  return async ({ key }: { key: string }) => {
    send({ ev: 'loaderStart', key, at: Date.now() });
    if (spec.gated) {
      await new Promise<void>((resolve) => gates.set(key, [...(gates.get(key) ?? []), resolve]));
    }
    if (spec.delay) await new Promise((resolve) => setTimeout(resolve, spec.delay));
    return { pid: process.pid, tag: spec.tag ?? null };
  };
}

async function call(key: string, spec: LoaderSpec): Promise<CallResult> {
  const startedAt = Date.now();
  try {
    const value = await cache!.cached(key, loader(spec));
    return { ok: true, value, startedAt, at: Date.now() };
  } catch (error) {
    return { ok: false, error: String(error), startedAt, at: Date.now() };
  }
}

process.on('message', async (command: Command) => {
  switch (command.cmd) {
    case 'init': {
      cache = new Cache(command.options);
      cache.on('error', () => {});
      for (const name of FORWARDED) {
        const forward = (...args: unknown[]) => send({ ev: 'event', name, detail: args[0], at: Date.now() });
        cache.on(name, forward as (...args: CacheEvents[typeof name]) => void);
      }
      await cache.ready();
      send({ ev: 'ready', pid: process.pid });
      return;
    }
    case 'run': {
      const calls = Array.from({ length: command.callers }, () => call(command.key, command.loader));
      send({ ev: 'result', id: command.id, results: await Promise.all(calls) });
      return;
    }
    case 'release':
      for (const resolve of gates.get(command.key) ?? []) resolve();
      gates.delete(command.key);
      return;
    case 'invalidate': {
      const ok = await cache!.invalidate(command.key).then(
        () => true,
        () => false,
      );
      send({ ev: 'done', id: command.id, ok });
      return;
    }
    case 'close':
      await cache?.close();
      send({ ev: 'done', id: command.id, ok: true });
      process.disconnect?.();
  }
});
