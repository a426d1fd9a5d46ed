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

/** Settles like `work`, unless `ms` pass first: then like `onDeadline()` (its value, or what it throws). */
export function settleByDeadline<T>(
  clock: Clock,
  work: Promise<T>,
  ms: number,
  onDeadline: () => T,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = clock.schedule(() => {
      try {
        resolve(onDeadline());
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
