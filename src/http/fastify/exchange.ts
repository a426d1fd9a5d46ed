import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Conditionals } from '../conditionals.js';
import { conditionalsOf, setConditionals } from '../conditionals.js';
import type {
  Answer,
  Background,
  Capture,
  CaptureOptions,
  Exchange,
  Production,
  RequestView,
} from '../core/exchange.js';
import { injector } from './detached.js';

/**
 * Fastify requests as exchanges. The `onRequest` hook waits until the engine decides: the route runs (to
 * pass, or to produce for the cache, tapped in `onSend`), or the cache answers. Background revalidation
 * injects a detached copy of the request into the same instance (detached.ts).
 */

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

/** Sets the status and fields of an answer from the cache on the reply. */
export function applyAnswer(reply: FastifyReply, answer: Answer): void {
  reply.code(answer.status);
  for (const [name, value] of answer.headers) reply.header(name, value);
}

/** The last `Host` seen and the host name Fastify resolves from it: most requests repeat it. */
let lastHost = '';
let lastHostname = '';

/** `request.hostname` in lower case; Fastify's getter splits the `Host` value afresh on every read. */
function hostnameOf(request: FastifyRequest): string {
  const host = request.host;
  if (host !== lastHost) {
    lastHostname = request.hostname.toLowerCase();
    lastHost = host;
  }
  return lastHostname;
}

/**
 * One Fastify request for the engine, settling the waiting `onRequest` hook through its `done`. A class, not
 * an object of closures: one is made for every request, hits included.
 */
export class FastifyExchange implements Exchange<FastifyRequest> {
  readonly request: RequestView;
  readonly identity: FastifyRequest;
  readonly native: FastifyRequest;
  readonly #reply: FastifyReply;
  readonly #done: HookHandlerDoneFunction;
  readonly #pendings: WeakMap<FastifyRequest, Pending>;
  readonly #owner: symbol;
  /** Registered for `onSend` only once the route is to run for the cache or an unsafe method. */
  #pending: Pending | undefined;
  #decided = false;

  constructor(
    request: FastifyRequest,
    reply: FastifyReply,
    done: HookHandlerDoneFunction,
    pendings: WeakMap<FastifyRequest, Pending>,
    owner: symbol,
  ) {
    this.request = {
      method: request.method,
      url: request.url,
      // As Fastify resolves it: `X-Forwarded-Host` only counts when `trustProxy` trusts the peer.
      host: hostnameOf(request),
      // The live object: the route runs with the conditionals the cache sets here (and restores).
      headers: request.headers,
    };
    this.identity = request;
    this.native = request;
    this.#reply = reply;
    this.#done = done;
    this.#pendings = pendings;
    this.#owner = owner;
  }

  /**
   * At most one decision, whatever fails where. An answer from the cache ends the lifecycle here: `done` is
   * not called, so Fastify neither runs the route nor goes on while the answer is still being sent.
   */
  #decide(decision: 'continue' | 'sent' | Error): void {
    if (this.#decided) return;
    this.#decided = true;
    if (decision instanceof Error) this.#done(decision);
    else if (decision === 'continue') this.#done();
  }

  #label(status: string): void {
    if (!this.#reply.sent) this.#reply.header('X-Cache', status);
  }

  #pendingState(): Pending {
    if (this.#pending === undefined) {
      this.#pending = {};
      this.#pendings.set(this.native, this.#pending);
    }
    return this.#pending;
  }

  pass(status: 'BYPASS' | 'MISS' | undefined): void {
    if (status !== undefined) this.#label(status);
    this.#decide('continue');
  }

  passUnsafe(settle: (header: (name: string) => unknown) => Promise<void>): void {
    this.#pendingState().invalidate = settle;
    this.#label('BYPASS');
    this.#decide('continue');
  }

  send(answer: Answer): void {
    const answered = this.#pending?.answered;
    if (answered !== undefined) {
      answered(answer);
      return;
    }
    applyAnswer(this.#reply, answer);
    // The body for HEAD too: Fastify's HEAD handling states its length and leaves it out.
    this.#reply.send(answer.body);
    this.#decide('sent');
  }

  produce(conditionals: Conditionals, options: CaptureOptions): Promise<Production> {
    const headers = this.native.headers;
    const own = conditionalsOf(headers);
    setConditionals(headers, conditionals);
    this.#label('MISS');
    const before = { ...this.#reply.getHeaders() } as OutgoingHttpHeaders;
    const pending = this.#pendingState();
    return new Promise((resolve) => {
      let settled = false;
      const settle = (capture: Capture) => {
        if (settled) return;
        settled = true;
        // The client's own conditionals, for the engine's answer from a refreshed entry.
        if (capture.kind === 'not-modified') setConditionals(headers, own);
        resolve({ capture, before });
      };
      pending.capture = { options, before, settle };
      this.#reply.raw.once('close', () => settle({ kind: 'aborted' }));
      this.#decide('continue');
    });
  }

  background(): Background<FastifyRequest> {
    return injector(this.native, this.#owner);
  }

  fail(error: unknown): void {
    this.#decide(error instanceof Error ? error : new Error(String(error)));
  }
}
