import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { conditionalsOf, setConditionals } from '../conditionals.js';
import { DROPPED_FROM_DETACHED } from '../core/detached.js';
import type {
  Answer,
  Background,
  BackgroundJob,
  Capture,
  CaptureOptions,
  Exchange,
  RequestView,
} from '../core/exchange.js';
import { RevalidationError } from '../errors.js';

/**
 * Fastify requests as exchanges. The `onRequest` hook waits until the engine decides: the route runs (to
 * pass, or to produce for the cache, tapped in `onSend`), or the cache answers. Background revalidation
 * injects a detached copy of the request into the same instance.
 */

/** What the engine decided for the request in `onRequest`. */
export type Decision = 'continue' | 'sent';

/** The per-request state `onSend` reads. */
export interface Pending {
  /** A route run for the cache: its response is tapped. */
  capture?: {
    readonly options: CaptureOptions;
    readonly before: OutgoingHttpHeaders;
    readonly settle: (capture: Capture) => void;
  };
  /** A route run for an unsafe method: success invalidates before the response goes out. */
  invalidate?: (header: (name: string) => unknown) => Promise<void>;
  /** Set while `onSend` holds a 304 back, for the engine's answer from the refreshed entry. */
  answered?: (answer: Answer) => void;
}

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

/** Sets the status and fields of an answer from the cache on the reply. */
export function applyAnswer(reply: FastifyReply, answer: Answer): void {
  reply.code(answer.status);
  for (const [name, value] of answer.headers) reply.header(name, value);
}

/** One Fastify request for the engine; `decide` settles the waiting `onRequest` hook. */
export function fastifyExchange(
  request: FastifyRequest,
  reply: FastifyReply,
  pending: Pending,
  decide: (decision: Decision | Error) => void,
  owner: symbol,
): Exchange<FastifyRequest> {
  const view: RequestView = {
    method: request.method,
    url: request.url,
    // As Fastify resolves it: `X-Forwarded-Host` only counts when `trustProxy` trusts the peer.
    host: request.hostname.toLowerCase(),
    // The live object: the route runs with the conditionals the cache sets here (and restores).
    headers: request.headers,
  };
  const label = (status: string) => {
    if (!reply.sent) reply.header('X-Cache', status);
  };
  return {
    request: view,
    identity: request,
    native: request,
    pass(status) {
      if (status !== undefined) label(status);
      decide('continue');
    },
    passUnsafe(settle) {
      pending.invalidate = settle;
      label('BYPASS');
      decide('continue');
    },
    send(answer) {
      if (pending.answered !== undefined) {
        pending.answered(answer);
        return;
      }
      applyAnswer(reply, answer);
      // The body for HEAD too: Fastify's HEAD handling states its length and leaves it out.
      reply.send(answer.body);
      decide('sent');
    },
    produce(conditionals, options) {
      const own = conditionalsOf(request.headers);
      setConditionals(request.headers, conditionals);
      label('MISS');
      const before = { ...reply.getHeaders() } as OutgoingHttpHeaders;
      return new Promise((resolve) => {
        let settled = false;
        const settle = (capture: Capture) => {
          if (settled) return;
          settled = true;
          // The client's own conditionals, for the engine's answer from a refreshed entry.
          if (capture.kind === 'not-modified') setConditionals(request.headers, own);
          resolve({ capture, before });
        };
        pending.capture = { options, before, settle };
        reply.raw.once('close', () => settle({ kind: 'aborted' }));
        decide('continue');
      });
    },
    background(): Background<FastifyRequest> {
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
          const abort = () =>
            finish(new RevalidationError(job.key, 'the cache closed or the load timed out'));
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
    },
    fail(error) {
      decide(error instanceof Error ? error : new Error(String(error)));
    },
  };
}
