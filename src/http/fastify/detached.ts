import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { DROPPED_FROM_DETACHED } from '../core/detached.js';
import type { Background, BackgroundJob, Exchange } from '../core/exchange.js';
import { RevalidationError } from '../errors.js';

/**
 * Background revalidation for Fastify: a detached copy of the request is injected into the same instance,
 * and the instance that injected it claims it on arrival and runs the engine's job through its exchange.
 */

/** The header that marks an injected detached request, with the id of its job; removed on arrival. */
const DETACHED_HEADER = 'x-herdcache-detached';

/** Starts the engine's run for a detached request once it reaches the instance that injected it. */
export type Starter = (exchange: Exchange<FastifyRequest>) => void;

const detached = new Map<string, { readonly owner: symbol; readonly start: Starter }>();

/**
 * For a request injected by `owner`: its starter (handed out once); `'foreign'` when another instance
 * injected it; undefined for an ordinary request.
 */
export function claimDetached(request: FastifyRequest, owner: symbol): Starter | 'foreign' | undefined {
  const id = request.headers[DETACHED_HEADER];
  if (typeof id !== 'string') return undefined;
  const entry = detached.get(id);
  if (entry === undefined || entry.owner !== owner) return 'foreign';
  detached.delete(id);
  delete request.headers[DETACHED_HEADER];
  return entry.start;
}

/** Background runs of the route for `request`, read now while it is live, injected later by `owner`. */
export function injector(request: FastifyRequest, owner: symbol): Background<FastifyRequest> {
  const server = request.server;
  const url = request.url;
  const remoteAddress = request.ip;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !DROPPED_FROM_DETACHED.has(name)) headers[name] = value;
  }
  return <T>(job: BackgroundJob<T, FastifyRequest>) =>
    new Promise<T>((resolve, reject) => {
      const id = randomUUID();
      let claimed = false;
      const finish = (error: unknown, value?: T): void => {
        clearTimeout(timer);
        job.signal.removeEventListener('abort', abort);
        detached.delete(id);
        if (error === undefined) resolve(value as T);
        else reject(error);
      };
      const timer = setTimeout(() => finish(new RevalidationError(job.key, 'timed out')), job.timeout);
      timer.unref();
      const abort = () => finish(new RevalidationError(job.key, 'the cache closed or the load timed out'));
      job.signal.addEventListener('abort', abort, { once: true });
      detached.set(id, {
        owner,
        start: (exchange) => {
          claimed = true;
          job.run(exchange).then(
            (value) => finish(undefined, value),
            (error: unknown) => finish(error ?? new RevalidationError(job.key, 'unknown failure')),
          );
        },
      });
      server
        .inject({ method: 'GET', url, headers: { ...headers, [DETACHED_HEADER]: id }, remoteAddress })
        .then(
          () => {
            if (!claimed) finish(new RevalidationError(job.key, 'the app answered before the cache'));
          },
          (error: unknown) => finish(error),
        );
    });
}
