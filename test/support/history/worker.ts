/**
 * A child process playing one node in many histories at once (one cache per history), against a real
 * Redis, with its wall clock shifted. It reports every call, load, takeover and remote invalidation it
 * saw, timed on the machine's real clock so that the parent can merge the reports of all processes.
 */
import { Cache, type CacheOptions, type Lookup } from '../../../src/index.js';
import { startCall } from './calls.js';
import type { KeySpec, LoadRecord, Op, Value } from './model.js';

export type ToWorker =
  | { type: 'init'; index: number; clockOffset: number }
  | {
      type: 'open';
      history: number;
      node: number;
      redisUrl: string;
      prefix: string;
      options: CacheOptions;
      keys: readonly KeySpec[];
    }
  | { type: 'ops'; history: number; ops: readonly { index: number; op: Op }[] }
  | { type: 'close'; history: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'opened'; history: number }
  | { type: 'closed'; history: number }
  | {
      type: 'call';
      history: number;
      index: number;
      start: number;
      end: number;
      value?: Value;
      status?: string;
      tier?: string;
      setId?: string;
      error?: { name: string; message: string };
    }
  | { type: 'callStart'; history: number; index: number; start: number; setId?: string }
  | { type: 'load'; history: number; load: LoadRecord }
  | { type: 'stored'; history: number; id: string; at: number }
  | { type: 'heard'; history: number; node: number; kind: 'key' | 'tag'; name: string; at: number }
  | { type: 'takeover'; history: number; key: string; at: number }
  /** This process did not run for `ms` before `at` (CPU starvation): its lease renewals were late. */
  | { type: 'stall'; at: number; ms: number };

/** The machine's real clock, which the shifted `Date.now` does not touch. */
const now = () => performance.timeOrigin + performance.now();
// Once the parent disconnected (closing the fleet) a late report, a stall's say, has nowhere to go: sending
// it would crash this process on its way out.
const send = (message: FromWorker) => {
  if (process.connected) process.send?.({ ...message, ev: message.type });
};

class LoaderFailure extends Error {
  override readonly name = 'LoaderFailure';
}

interface Open {
  readonly cache: Cache;
  readonly keys: readonly KeySpec[];
  readonly node: number;
  /** Loads that finished and await their `load` event (emitted once the commit returned), by key. */
  readonly committing: Map<string, string[]>;
}

let index = 0;
let counter = 0;
const open = new Map<number, Open>();

function specOf(entry: Open, key: string): KeySpec {
  return entry.keys.find((spec) => spec.name === key) as KeySpec;
}

function loader(history: number, entry: Open, op: Extract<Op, { kind: 'lookup' }>) {
  return async ({ key, signal }: { key: string; signal: AbortSignal }): Promise<Value> => {
    counter += 1;
    const load: LoadRecord = { id: `L${index}.${counter}`, key, node: entry.node, start: now() };
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, op.loader.duration);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason);
        });
      });
      if (op.loader.fail) {
        load.failed = true;
        throw new LoaderFailure(`${load.id} failed`);
      }
      entry.committing.set(key, [...(entry.committing.get(key) ?? []), load.id]);
      return { key, id: load.id };
    } finally {
      load.end = now();
      send({ type: 'load', history, load });
    }
  };
}

function run(history: number, entry: Open, at: number, op: Op): void {
  const start = now();
  let setId: string | undefined;
  if (op.kind === 'set') {
    counter += 1;
    setId = `S${index}.${counter}`;
  }
  const pending = startCall(
    entry.cache,
    op,
    (key) => specOf(entry, key),
    (lookup) => loader(history, entry, lookup),
    setId ?? '',
  );
  send({ type: 'callStart', history, index: at, start, ...(setId ? { setId } : {}) });
  pending.then(
    (result) => {
      const end = now();
      if (op.kind === 'lookup') {
        const lookup = result as Lookup<Value>;
        send({
          type: 'call',
          history,
          index: at,
          start,
          end,
          value: lookup.value,
          status: lookup.status,
          tier: lookup.tier,
        });
      } else if (op.kind === 'get') {
        send({ type: 'call', history, index: at, start, end, ...(result ? { value: result as Value } : {}) });
      } else send({ type: 'call', history, index: at, start, end, ...(setId ? { setId } : {}) });
    },
    (error: Error) => {
      send({
        type: 'call',
        history,
        index: at,
        start,
        end: now(),
        error: { name: error.name, message: error.message },
      });
    },
  );
}

/** Stalls at least this long are reported: a lease renewal late by that much can let the lease lapse. */
const STALL_MS = 15;

/** Reports every time this process did not get to run for STALL_MS or more (a timer that fired late). */
function watchForStalls(): void {
  const every = 5;
  let expected = now() + every;
  setInterval(() => {
    const at = now();
    if (at - expected >= STALL_MS) send({ type: 'stall', at, ms: at - expected });
    expected = at + every;
  }, every).unref();
}

process.on('message', async (message: ToWorker) => {
  switch (message.type) {
    case 'init': {
      index = message.index;
      // This machine's wall clock is off by clockOffset ms: herdcache must not care.
      const realNow = Date.now;
      Date.now = () => realNow() + message.clockOffset;
      watchForStalls();
      send({ type: 'ready' });
      return;
    }
    case 'open': {
      const { history } = message;
      const cache = new Cache({ ...message.options, redis: message.redisUrl, prefix: message.prefix });
      const entry: Open = { cache, keys: message.keys, node: message.node, committing: new Map() };
      cache.on('error', () => {});
      cache.on('takeover', ({ key }) => send({ type: 'takeover', history, key, at: now() }));
      cache.on('load', ({ key }) => {
        const [id, ...rest] = entry.committing.get(key) ?? [];
        entry.committing.set(key, rest);
        if (id !== undefined) send({ type: 'stored', history, id, at: now() });
      });
      cache.on('invalidate', ({ keys, origin }) => {
        if (origin !== 'remote') return;
        for (const name of keys)
          send({ type: 'heard', history, node: message.node, kind: 'key', name, at: now() });
      });
      cache.on('invalidateTag', ({ tags, origin }) => {
        if (origin !== 'remote') return;
        for (const name of tags)
          send({ type: 'heard', history, node: message.node, kind: 'tag', name, at: now() });
      });
      await cache.ready();
      open.set(history, entry);
      send({ type: 'opened', history });
      return;
    }
    case 'ops': {
      const entry = open.get(message.history);
      // Ops of one batch start in one synchronous run, like `Promise.all([...])`.
      if (entry) for (const { index: at, op } of message.ops) run(message.history, entry, at, op);
      return;
    }
    case 'close':
      await open.get(message.history)?.cache.close();
      open.delete(message.history);
      send({ type: 'closed', history: message.history });
      return;
  }
});
