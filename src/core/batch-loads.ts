import { BatchResultError, CacheClosedError, describe, InvalidArgumentError } from '../errors.js';
import type {
  BatchLoader,
  BatchLoaderContext,
  BatchResult,
  EntryPolicy,
  Loader,
  LoaderContext,
} from '../types.js';
import type { BatchReplies } from './acquire-batch.js';

interface Waiting<T> {
  readonly context: LoaderContext<T>;
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Turns the per-key loader calls of one `cachedMany` call into as few `loadMany` calls as possible. Each
 * key's lookup runs the ordinary per-key flow (lease, deadlines, lease-checked commit) with a loader that
 * asks this collector for the key's value. The first `loadMany` waits until every key that took a lease in
 * the batched question has asked for its value (or settled otherwise); keys that ask later, after waiting for
 * another node, are loaded together in a later call.
 */
export class BatchLoads<T> {
  readonly #loadMany: BatchLoader<T>;
  readonly #closing: AbortSignal;
  /** Keys that took a lease in the batched question and have not asked for their value yet. */
  readonly #expected = new Set<string>();
  /** Keys whose lookup settled: they will not ask in the first round. */
  readonly #settled = new Set<string>();
  #pending = new Map<string, Waiting<T>>();
  #repliesIn = false;
  #firstSent = false;
  #laterQueued = false;

  constructor(loadMany: BatchLoader<T>, closing: AbortSignal) {
    this.#loadMany = loadMany;
    this.#closing = closing;
  }

  /** The per-key loader handed to the lookup of `key`. */
  loaderFor(key: string): Loader<T> {
    return (context) => this.#ask(key, context);
  }

  /** The batched question was answered: these keys will ask for their values. */
  replies(replies: BatchReplies): void {
    for (const key of replies.leading) if (!this.#settled.has(key)) this.#expected.add(key);
    this.#repliesIn = true;
    this.#flushIfComplete();
  }

  /** The lookup of `key` settled. */
  settled(key: string): void {
    this.#settled.add(key);
    if (this.#expected.delete(key)) this.#flushIfComplete();
  }

  #ask(key: string, context: LoaderContext<T>): Promise<T> {
    const known = this.#pending.get(key);
    if (known !== undefined) return known.promise;
    let resolve!: (value: T) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<T>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    this.#pending.set(key, { context, promise, resolve, reject });
    this.#expected.delete(key);
    this.#flushIfComplete();
    return promise;
  }

  #flushIfComplete(): void {
    if (this.#pending.size === 0 || !this.#repliesIn || this.#expected.size > 0) return;
    if (!this.#firstSent) {
      this.#firstSent = true;
      this.#flush();
      return;
    }
    // Late keys asking in the same turn of the event loop share one call.
    if (this.#laterQueued) return;
    this.#laterQueued = true;
    queueMicrotask(() => {
      this.#laterQueued = false;
      this.#flush();
    });
  }

  #flush(): void {
    const batch = this.#pending;
    this.#pending = new Map();
    if (batch.size === 0) return;
    if (this.#closing.aborted) {
      for (const waiting of batch.values()) waiting.reject(new CacheClosedError());
      return;
    }
    const keys = [...batch.keys()];
    let result: Promise<BatchResult<T>>;
    try {
      result = Promise.resolve(this.#loadMany(keys, contextOf(batch)));
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (values) => {
        const outcomes = outcomesOf(keys, values);
        keys.forEach((key, index) => {
          const waiting = batch.get(key) as Waiting<T>;
          const outcome = outcomes[index] as Outcome<T>;
          if (outcome.ok) waiting.resolve(outcome.value);
          else waiting.reject(outcome.error);
        });
      },
      (error: unknown) => {
        for (const waiting of batch.values()) waiting.reject(error);
      },
    );
  }
}

type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Error };

/** Each key's value from what `loadMany` returned, or the reason it has none. */
function outcomesOf<T>(keys: readonly string[], result: BatchResult<T>): Outcome<T>[] {
  if (result instanceof Map) {
    const map = result as ReadonlyMap<string, T>;
    return keys.map((key) =>
      map.has(key)
        ? { ok: true, value: map.get(key) as T }
        : {
            ok: false,
            error: new BatchResultError(
              key,
              'the Map it returned has no entry for the key (an entry of undefined caches nothing)',
            ),
          },
    );
  }
  if (Array.isArray(result)) {
    if (result.length === keys.length) return result.map((value: T) => ({ ok: true, value }));
    const detail = `it returned an array of ${result.length} values for ${keys.length} keys (an array holds one value per key, in the order of the keys)`;
    return keys.map((key) => ({ ok: false, error: new BatchResultError(key, detail) }));
  }
  const detail = `it must return a Map or an array, and returned ${describe(result)}`;
  return keys.map((key) => ({ ok: false, error: new BatchResultError(key, detail) }));
}

/** The context `loadMany` gets, built from the per-key loader contexts of the keys it loads. */
function contextOf<T>(batch: ReadonlyMap<string, Waiting<T>>): BatchLoaderContext<T> {
  const waiting = [...batch.values()];
  const stale = new Map<string, T>();
  for (const [key, { context }] of batch) if (context.hasStale) stale.set(key, context.stale as T);
  return {
    signal: allAborted(waiting.map(({ context }) => context.signal)),
    stale,
    background: waiting.every(({ context }) => context.background),
    setPolicy(policy: EntryPolicy, keys: readonly string[] = [...batch.keys()]) {
      for (const key of keys) {
        const one = batch.get(key);
        if (one === undefined) {
          throw new InvalidArgumentError('setPolicy keys', key, 'a key this loadMany call was given');
        }
        one.context.setPolicy(policy);
      }
    },
  };
}

/** A signal aborted once all of `signals` are: nobody wants any of the batch's values any more. */
function allAborted(signals: readonly AbortSignal[]): AbortSignal {
  const controller = new AbortController();
  let left = signals.length;
  for (const signal of signals) {
    const onAbort = () => {
      left -= 1;
      if (left === 0) controller.abort(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return controller.signal;
}
