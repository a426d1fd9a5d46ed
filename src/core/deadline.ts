import { LoadTimeoutError } from '../errors.js';
import type { Clock } from './clock.js';

/** Runs the loader; past `hardTimeout` aborts its signal and rejects with `LoadTimeoutError`. */
export function runWithDeadline<T>(
  clock: Clock,
  key: string,
  run: () => T | Promise<T>,
  hardTimeout: number,
  controller: AbortController,
): Promise<T> {
  const loading = Promise.resolve().then(run);
  if (hardTimeout <= 0) return loading;
  return settleByDeadline(clock, loading, hardTimeout, () => {
    const error = new LoadTimeoutError(key, hardTimeout);
    controller.abort(error);
    throw error;
  });
}

/**
 * Settles like `work`, unless `ms` pass first: then like `onDeadline()` (its value, or what it throws), or
 * still like `work` if that returns undefined.
 */
export function settleByDeadline<T>(
  clock: Clock,
  work: Promise<T>,
  ms: number,
  onDeadline: () => T | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = clock.schedule(() => {
      try {
        const early = onDeadline();
        if (early !== undefined) resolve(early);
      } catch (error) {
        reject(error);
      }
    }, ms);
    work.then(
      (value) => {
        cancel();
        resolve(value);
      },
      (error: unknown) => {
        cancel();
        reject(error);
      },
    );
  });
}
