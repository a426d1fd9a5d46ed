import type { IncomingHttpHeaders } from 'node:http';
import type { Conditionals } from '../conditionals.js';
import { CONDITIONAL } from '../conditionals.js';
import { DROPPED_FROM_DETACHED } from '../core/detached.js';
import type {
  Answer,
  Background,
  CaptureOptions,
  Exchange,
  Production,
  RequestView,
} from '../core/exchange.js';
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

/**
 * The target (path and query as given) and lower-case host name of a request URL. Request URLs are
 * serialized by the platform, so an http(s) URL has its authority between `//` and the first `/`; anything
 * else goes through `URL`. Parsed by hand: a `URL` per request showed up on the hit path.
 */
export function targetAndHost(href: string): { readonly target: string; readonly host: string } {
  if (href.startsWith('http://') || href.startsWith('https://')) {
    const authority = href.indexOf('//') + 2;
    const slash = href.indexOf('/', authority);
    if (slash !== -1) {
      const hostPort = href.slice(authority, slash);
      const host = hostPort.startsWith('[')
        ? hostPort.slice(0, hostPort.indexOf(']') + 1)
        : (hostPort.split(':', 1)[0] ?? '');
      // The URL as given, so `/a?` and `/a` stay apart as they do for the other adapters.
      return { target: href.slice(slash).split('#', 1)[0] ?? '/', host: host.toLowerCase() };
    }
  }
  const url = new URL(href);
  const target = href.slice(url.origin.length).split('#', 1)[0] ?? '/';
  return { target: target || '/', host: url.hostname.toLowerCase() };
}

function viewOf(request: Request): RequestView {
  const { target, host } = targetAndHost(request.url);
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of request.headers) headers[name] = value;
  return { method: request.method, url: target, host, headers };
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

/**
 * One fetch request for the engine, and the response it will get once the engine has decided. A class, not
 * an object of closures: one is made for every request, hits included; and a hit answered at once settles
 * `answer()` without a pending promise.
 */
export class FetchExchange<A extends unknown[]> implements Exchange<Request> {
  readonly request: RequestView;
  readonly identity: object;
  readonly native: Request;
  readonly #args: A;
  readonly #handler: FetchHandler<A>;
  /** How the request was answered, until `answer()` is asked for; the first outcome wins. */
  #outcome:
    | { readonly ok: true; readonly response: Response }
    | { readonly ok: false; readonly error: unknown }
    | undefined;
  #resolve: ((response: Response) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;

  constructor(request: Request, args: A, handler: FetchHandler<A>) {
    this.request = viewOf(request);
    this.native = request;
    this.#args = args;
    this.#handler = handler;
    // A request the platform made stands for itself; only the copies made for handlers are recorded.
    this.identity = identities.get(request) ?? request;
  }

  /** The response the request gets (or the error it fails with). Asked for once. */
  answer(): Promise<Response> {
    const outcome = this.#outcome;
    if (outcome !== undefined)
      return outcome.ok ? Promise.resolve(outcome.response) : Promise.reject(outcome.error);
    return new Promise<Response>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  #answer(response: Response): void {
    if (this.#resolve !== undefined) this.#resolve(response);
    else this.#outcome ??= { ok: true, response };
  }

  #fail(error: unknown): void {
    if (this.#reject !== undefined) this.#reject(error);
    else this.#outcome ??= { ok: false, error };
  }

  #run(forHandler: Request): Promise<Response> {
    identities.set(forHandler, this.identity);
    return Promise.resolve().then(() => this.#handler(forHandler, ...this.#args));
  }

  pass(status: 'BYPASS' | 'MISS' | undefined): void {
    this.#run(this.native).then(
      (response) => this.#answer(labelled(response, status)),
      (error: unknown) => this.#fail(error),
    );
  }

  passUnsafe(settle: (header: (name: string) => unknown) => Promise<void>): void {
    this.#run(this.native).then(
      async (response) => {
        if (response.status >= 200 && response.status < 400) {
          await settle((name) => response.headers.get(name) ?? undefined);
        }
        this.#answer(labelled(response, 'BYPASS'));
      },
      (error: unknown) => this.#fail(error),
    );
  }

  send(answer: Answer): void {
    this.#answer(responseOf(answer, this.native.method));
  }

  async produce(conditionals: Conditionals, options: CaptureOptions): Promise<Production> {
    const headers = new Headers(this.native.headers);
    for (const name of CONDITIONAL) headers.delete(name);
    for (const [name, value] of Object.entries(conditionals)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    let response: Response;
    try {
      response = await this.#run(new Request(this.native, { headers }));
    } catch (error) {
      this.#fail(error);
      // As a framework would answer a route that threw.
      return { capture: { kind: 'passed', status: 500, reason: 'the handler threw' }, before: {} };
    }
    const tapped = tapResponse(response, options);
    if (tapped.client !== undefined) this.#answer(labelled(tapped.client, 'MISS'));
    return { capture: await tapped.capture, before: {} };
  }

  background(): Background<Request> {
    const request = this.native;
    const args = this.#args;
    const handler = this.#handler;
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
      const detached = new FetchExchange(copy, args, handler);
      // No client reads the detached response: drain it, so its capture completes (or aborts with it).
      detached.answer().then(
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
      return Promise.race([job.run(detached), abandoned]).finally(() => {
        clearTimeout(timer);
        job.signal.removeEventListener('abort', abort);
      });
    };
  }

  fail(error: unknown): void {
    this.#fail(error);
  }
}
