import type { Cache } from '../../../src/cache.js';
import type { KeySpec, Op, Value } from './model.js';

/** The call options every lookup of a key uses. */
export function callOptions(spec: KeySpec) {
  return { ...setOptions(spec), hardTimeout: spec.hardTimeout, softTimeout: spec.softTimeout };
}

/** The options every set of a key uses. */
export function setOptions(spec: KeySpec) {
  return {
    ttl: spec.ttl,
    staleWhileRevalidate: spec.staleWhileRevalidate,
    staleIfError: spec.staleIfError,
    tags: [...spec.tags],
  };
}

/** A loader for the lookup `op`. */
export type LoaderFor = (
  op: Extract<Op, { kind: 'lookup' }>,
) => (context: { key: string; signal: AbortSignal }) => Promise<Value>;

/**
 * Starts the call `op` stands for on `cache` (a set stores `{ key, id: setId }`); resolves with what the
 * call returned.
 */
export function startCall(
  cache: Cache,
  op: Op,
  specOf: (key: string) => KeySpec,
  loaderFor: LoaderFor,
  setId: string,
): Promise<unknown> {
  switch (op.kind) {
    case 'lookup':
      return cache.lookup(op.key, loaderFor(op), callOptions(specOf(op.key)));
    case 'get':
      return cache.get<Value>(op.key);
    case 'set':
      return cache.set(op.key, { key: op.key, id: setId }, setOptions(specOf(op.key)));
    case 'invalidate':
      return cache.invalidate(op.key);
    case 'invalidateTag':
      return cache.invalidateTag(op.tag);
  }
}
