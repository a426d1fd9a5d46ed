import { LoadTimeoutError } from '../errors.js';

/** Runs the loader; past `hardTimeout` aborts its signal and rejects with `LoadTimeoutError`. */
export function runWithDeadline<T>(
  key: string,
  run: () => T | Promise<T>,
  hardTimeout: number,
  controller: AbortController,
): Promise<T> {
  const loading = Promise.resolve().then(run);
  if (hardTimeout <= 0) return loading;
  return settleByDeadline(loading, hardTimeout, () => {
    const error = new LoadTimeoutError(key, hardTimeout);
    controller.abort(error);
    throw error;
  });
}

/** Settles like `work`, unless `ms` pass first: then like `onDeadline()` (its value, or what it throws). */
export function settleByDeadline<T>(work: Promise<T>, ms: number, onDeadline: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        resolve(onDeadline());
      } catch (error) {
        reject(error);
      }
    }, ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
