import type { IncomingHttpHeaders } from 'node:http';
import { CONDITIONAL } from '../conditionals.js';
import { DROPPED_FROM_DETACHED } from '../core/detached.js';
import type { Answer, Background, Exchange, RequestView } from '../core/exchange.js';
import { RevalidationError } from '../errors.js';
import { tapResponse } from './capture.js';

/** A handler of the Web Fetch API; `args` are whatever the platform passes after the request. */
export type FetchHandler<A extends unknown[]> = (
  request: Request,
  ...args: A
) => Response | Promise<Response>;

/**
 * Which request a derived one (the copy the handler runs with) stands for, so a cache wrapper nested
 * inside another sees the request the outer one already serves.
 */
const identities = new WeakMap<Request, object>();

/** One fetch request and the response it will get, once the engine has decided. */
export interface FetchExchange {
  readonly exchange: Exchange<Request>;
  readonly answer: Promise<Response>;
}

function viewOf(request: Request): RequestView {
  const url = new URL(request.url);
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of request.headers) headers[name] = value;
  // The URL as given, so `/a?` and `/a` stay apart as they do for the other adapters.
  const target = request.url.slice(url.origin.length).split('#', 1)[0] ?? '/';
  return { method: request.method, url: target || '/', host: url.hostname.toLowerCase(), headers };
}

/** A copy of `response` carrying `X-Cache` (a handler's headers may be immutable, as fetch()'s are). */
function labelled(response: Response, status: string | undefined): Response {
  if (status === undefined) return response;
  const copy = new Response(response.body, response);
  copy.headers.set('X-Cache', status);
  return copy;
}

function responseOf(answer: Answer, method: string): Response {
  const headers = new Headers();
  for (const [name, value] of answer.headers) {
    if (typeof value === 'string') headers.append(name, value);
    else for (const item of value) headers.append(name, item);
  }
  const body = method === 'HEAD' ? null : (answer.body ?? null);
  return new Response(body, { status: answer.status, headers });
}

export function fetchExchange<A extends unknown[]>(
  request: Request,
  args: A,
  handler: FetchHandler<A>,
): FetchExchange {
  let resolve!: (response: Response) => void;
  let reject!: (error: unknown) => void;
  const answer = new Promise<Response>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const identity = identities.get(request) ?? {};
  identities.set(request, identity);
  const run = (forHandler: Request): Promise<Response> => {
    identities.set(forHandler, identity);
    return Promise.resolve().then(() => handler(forHandler, ...args));
  };
  const passOn = (status: string | undefined) =>
    run(request).then((response) => resolve(labelled(response, status)), reject);

  const exchange: Exchange<Request> = {
    request: viewOf(request),
    identity,
    native: request,
    pass(status) {
      passOn(status);
    },
    passUnsafe(settle) {
      run(request).then(async (response) => {
        if (response.status >= 200 && response.status < 400) {
          await settle((name) => response.headers.get(name) ?? undefined);
        }
        resolve(labelled(response, 'BYPASS'));
      }, reject);
    },
    send(answer) {
      resolve(responseOf(answer, request.method));
    },
    async produce(conditionals, options) {
      const headers = new Headers(request.headers);
      for (const name of CONDITIONAL) headers.delete(name);
      for (const [name, value] of Object.entries(conditionals)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
      let response: Response;
      try {
        response = await run(new Request(request, { headers }));
      } catch (error) {
        reject(error);
        // As a framework would answer a route that threw.
        return { capture: { kind: 'passed', status: 500, reason: 'the handler threw' }, before: {} };
      }
      const tapped = tapResponse(response, options);
      if (tapped.client !== undefined) resolve(labelled(tapped.client, 'MISS'));
      return { capture: await tapped.capture, before: {} };
    },
    background(): Background<Request> {
      return (job) => {
        const controller = new AbortController();
        const abort = () => controller.abort();
        const timer = setTimeout(abort, job.timeout);
        timer.unref();
        job.signal.addEventListener('abort', abort, { once: true });
        const headers = new Headers();
        for (const [name, value] of request.headers) {
          if (!DROPPED_FROM_DETACHED.has(name)) headers.append(name, value);
        }
        const copy = new Request(request.url, { method: 'GET', headers, signal: controller.signal });
        const detached = fetchExchange(copy, args, handler);
        // No client reads the detached response: drain it, so its capture completes (or aborts with it).
        detached.answer.then(
          (response) =>
            response.body?.pipeTo(new WritableStream(), { signal: controller.signal }).catch(() => undefined),
          () => undefined,
        );
        const abandoned = new Promise<never>((_, rejectRun) => {
          controller.signal.addEventListener(
            'abort',
            () => rejectRun(new RevalidationError(job.key, 'timed out or the cache closed')),
            { once: true },
          );
        });
        return Promise.race([job.run(detached.exchange), abandoned]).finally(() => {
          clearTimeout(timer);
          job.signal.removeEventListener('abort', abort);
        });
      };
    },
    fail(error) {
      reject(error);
    },
  };
  return { exchange, answer };
}
