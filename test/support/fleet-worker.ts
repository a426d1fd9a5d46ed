/**
 * A child process acting as one node of a fleet. The parent (test/support/fleet.ts) sends commands over
 * IPC; the worker reports loader starts/ends, waits and results with its own timestamps.
 */
import { Cache, type CacheOptions } from '../../src/index.js';
import { type ClientName, type MadeClient, makeClient, makeClusterClient } from './clients.js';

/**
 * A client the worker makes itself and hands to its cache as `redis` (a client cannot cross IPC): of
 * `name`, for the Redis at `url` or the Cluster with nodes at `cluster`.
 */
export interface ClientSpec {
  readonly name: ClientName;
  readonly url?: string;
  readonly cluster?: readonly string[];
}

export interface LoaderSpec {
  /** Milliseconds the loader takes before returning. */
  readonly delay?: number;
  /** Wait for a `release` command before returning (or throwing). */
  readonly gated?: boolean;
  /** Throw an Error with this message instead of returning. */
  readonly fail?: string;
  /** Extra fields for the returned value. */
  readonly tag?: string;
}

export type Command =
  | { cmd: 'init'; options: CacheOptions; clockOffset?: number; client?: ClientSpec }
  | {
      cmd: 'run';
      id: number;
      key: string;
      callers: number;
      loader: LoaderSpec;
      callOptions?: Record<string, unknown>;
    }
  | {
      cmd: 'soak';
      id: number;
      keys: string[];
      callers: number;
      duration: number;
      pause: number;
      loader: LoaderSpec;
    }
  | {
      /** `callers` concurrent `lookupMany(keys)` calls; results per caller, in key order, flattened. */
      cmd: 'runMany';
      id: number;
      keys: string[];
      callers: number;
      loader: LoaderSpec;
      callOptions?: Record<string, unknown>;
    }
  | { cmd: 'release'; key: string }
  | { cmd: 'invalidate'; id: number; key: string }
  | { cmd: 'invalidateTag'; id: number; tag: string }
  | { cmd: 'set'; id: number; key: string; value: unknown; options?: Record<string, unknown> }
  | { cmd: 'close'; id: number };

export interface CallResult {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: { name: string; message: string; code?: string };
  readonly status?: string;
  /** The key asked for (runMany). */
  readonly key?: string;
  /** Date.now() when the call settled. */
  readonly at: number;
  readonly startedAt: number;
}

export type Report =
  | { ev: 'ready'; pid: number }
  | { ev: 'loaderStart'; key: string; at: number }
  | { ev: 'loaderEnd'; key: string; at: number }
  /** A `loadMany` call of runMany started with these keys. */
  | { ev: 'batchStart'; keys: string[]; at: number }
  /** The leader's commit of load `n` returned (its value was stored, if at all, by then). */
  | { ev: 'stored'; key: string; n: number; at: number }
  | { ev: 'wait'; key: string; at: number }
  | { ev: 'invalidated'; key: string; at: number }
  | { ev: 'tagInvalidated'; tag: string; at: number }
  | { ev: 'result'; id: number; results: CallResult[] }
  | { ev: 'done'; id: number };

let cache: Cache | undefined;
let client: MadeClient | undefined;
let loads = 0;
/** Loads whose value went to the cache, in order, until their `load` event says the commit returned. */
const committing: number[] = [];
const gates = new Map<string, Array<() => void>>();

function send(report: Report): void {
  process.send?.(report);
}

function makeLoader(spec: LoaderSpec) {
  return async ({ key }: { key: string }) => {
    loads += 1;
    const n = loads;
    send({ ev: 'loaderStart', key, at: Date.now() });
    if (spec.gated) {
      await new Promise<void>((resolve) => {
        const list = gates.get(key) ?? [];
        list.push(resolve);
        gates.set(key, list);
      });
    }
    if (spec.delay) await new Promise((resolve) => setTimeout(resolve, spec.delay));
    send({ ev: 'loaderEnd', key, at: Date.now() });
    if (spec.fail !== undefined) throw new Error(spec.fail);
    committing.push(n);
    return { pid: process.pid, n, key, tag: spec.tag ?? null, loadedAt: Date.now() };
  };
}

/** A loadMany running `spec`'s loader for every key at once (a gate per key), reporting each key. */
function makeBatchLoader(spec: LoaderSpec) {
  const one = makeLoader(spec);
  return (keys: readonly string[]) => {
    send({ ev: 'batchStart', keys: [...keys], at: Date.now() });
    return Promise.all(keys.map((key) => one({ key })));
  };
}

async function callMany(
  keys: readonly string[],
  spec: LoaderSpec,
  callOptions?: Record<string, unknown>,
): Promise<CallResult[]> {
  const startedAt = Date.now();
  const outcomes = await cache!.lookupMany(keys, makeBatchLoader(spec), callOptions);
  return outcomes.map((outcome, index) => {
    const key = keys[index] as string;
    if (outcome.status === 'fulfilled') {
      const { value, status } = outcome.value;
      return { ok: true, key, value, status, at: Date.now(), startedAt };
    }
    const e = outcome.reason as Error & { code?: string };
    return {
      ok: false,
      key,
      error: { name: e.name, message: e.message, code: e.code },
      at: Date.now(),
      startedAt,
    };
  });
}

async function call(
  key: string,
  spec: LoaderSpec,
  callOptions?: Record<string, unknown>,
): Promise<CallResult> {
  const startedAt = Date.now();
  try {
    const lookup = await cache!.lookup(key, makeLoader(spec), callOptions);
    return { ok: true, value: lookup.value, status: lookup.status, at: Date.now(), startedAt };
  } catch (error) {
    const e = error as Error & { code?: string };
    return {
      ok: false,
      error: { name: e.name, message: e.message, code: e.code },
      at: Date.now(),
      startedAt,
    };
  }
}

process.on('message', async (command: Command) => {
  switch (command.cmd) {
    case 'init':
      if (command.clockOffset) {
        // This machine's wall clock is off by clockOffset ms (herdcache must not care).
        const realNow = Date.now;
        const offset = command.clockOffset;
        Date.now = () => realNow() + offset;
      }
      if (command.client) {
        const spec = command.client;
        client = spec.cluster
          ? await makeClusterClient(spec.name, spec.cluster)
          : await makeClient(spec.name, spec.url as string);
      }
      cache = new Cache(client ? { ...command.options, redis: client.redis } : command.options);
      cache.on('error', () => {});
      cache.on('wait', ({ key }) => send({ ev: 'wait', key, at: Date.now() }));
      cache.on('load', ({ key }) => {
        const n = committing.shift();
        if (n !== undefined) send({ ev: 'stored', key, n, at: Date.now() });
      });
      cache.on('invalidate', ({ keys, origin }) => {
        if (origin === 'remote') for (const key of keys) send({ ev: 'invalidated', key, at: Date.now() });
      });
      cache.on('invalidateTag', ({ tags, origin }) => {
        if (origin === 'remote') for (const tag of tags) send({ ev: 'tagInvalidated', tag, at: Date.now() });
      });
      await cache.ready();
      send({ ev: 'ready', pid: process.pid });
      return;
    case 'run': {
      const results = await Promise.all(
        Array.from({ length: command.callers }, () => call(command.key, command.loader, command.callOptions)),
      );
      send({ ev: 'result', id: command.id, results });
      return;
    }
    case 'runMany': {
      const results = await Promise.all(
        Array.from({ length: command.callers }, () =>
          callMany(command.keys, command.loader, command.callOptions),
        ),
      );
      send({ ev: 'result', id: command.id, results: results.flat() });
      return;
    }
    case 'soak': {
      const until = Date.now() + command.duration;
      const results: CallResult[] = [];
      await Promise.all(
        Array.from({ length: command.callers }, async (_, caller) => {
          let i = caller;
          while (Date.now() < until) {
            results.push(await call(command.keys[i % command.keys.length] as string, command.loader));
            i += 1;
            await new Promise((resolve) => setTimeout(resolve, command.pause));
          }
        }),
      );
      send({ ev: 'result', id: command.id, results });
      return;
    }
    case 'release': {
      for (const resolve of gates.get(command.key) ?? []) resolve();
      gates.delete(command.key);
      return;
    }
    case 'invalidate':
      await cache!.invalidate(command.key);
      send({ ev: 'done', id: command.id });
      return;
    case 'invalidateTag':
      await cache!.invalidateTag(command.tag);
      send({ ev: 'done', id: command.id });
      return;
    case 'set':
      await cache!.set(command.key, command.value, command.options);
      send({ ev: 'done', id: command.id });
      return;
    case 'close':
      await cache?.close();
      await client?.close();
      send({ ev: 'done', id: command.id });
      process.disconnect?.();
      return;
  }
});
