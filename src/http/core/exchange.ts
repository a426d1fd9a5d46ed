import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Conditionals } from '../conditionals.js';
import type { HeaderValue } from '../stored.js';

/**
 * The seam between the HTTP cache and a web framework. The engine decides (storability, keys, coalescing,
 * revalidation, what to serve, what to invalidate); an adapter turns one framework request into an
 * `Exchange` that reads the request, runs the route, taps what it answers and sends what the engine serves.
 */

/** What the engine reads of a request. */
export interface RequestView {
  readonly method: string;
  /** Path and query as sent (`/a/b?c=1`), from the top of the app, not a mount point. */
  readonly url: string;
  /** Host name, lower case, without the port (nodes of one fleet listen on ports of their own). */
  readonly host: string;
  /** Names lower case. Only read by the engine: an adapter keeps its route's copy apart if it must. */
  readonly headers: IncomingHttpHeaders;
}

/** A response the engine serves from the cache. */
export interface Answer {
  readonly status: number;
  /** In order; lower-case names from the store, then the cache's own (`Age`, `X-Cache`, ...). */
  readonly headers: readonly (readonly [string, HeaderValue])[];
  /**
   * Undefined: no body (204, 304). For HEAD it is given but must not be sent: Fastify needs it to state the
   * length, the others leave it out. `Content-Length` is among the headers when there is one to give.
   */
  readonly body: Buffer | undefined;
}

/** How a tapped route response ended. */
export type Capture =
  | {
      readonly kind: 'complete';
      readonly status: number;
      /** Every header as sent (names lower case). */
      readonly headers: OutgoingHttpHeaders;
      readonly body: Buffer;
    }
  /** Delivered to the client but not kept. `status` is unset when the headers never went out. */
  | { readonly kind: 'passed'; readonly status: number | undefined; readonly reason: string }
  /** The client went away before the response finished. */
  | { readonly kind: 'aborted' }
  /**
   * The route answered the cache's own conditional request with 304. Nothing went to the client, whose
   * request is the engine's to answer (with `send`) from the refreshed entry.
   */
  | { readonly kind: 'not-modified'; readonly headers: OutgoingHttpHeaders };

/** Limits and the storability check of one capture. */
export interface CaptureOptions {
  /** Bytes of body kept at most; past it the copy is dropped. */
  readonly limit: number;
  /** Called once, as the headers go out; a reason string means "do not keep this response". */
  readonly onHeaders: (status: number, headers: OutgoingHttpHeaders) => string | undefined;
  /** The request carries the cache's own validators: a 304 is the cache's to handle, not the client's. */
  readonly interceptNotModified: boolean;
  /** Fields kept in the copy but removed from what the client gets (lower case). */
  readonly strip: readonly string[];
}

/** A route run for the cache, as the capture saw it. */
export interface Production {
  readonly capture: Capture;
  /**
   * Headers already set on the response before the route ran (by middleware in front of the cache): they
   * belong to this one request, not to the stored resource.
   */
  readonly before: OutgoingHttpHeaders;
}

/** One background run of the route, for a request already answered. */
export interface BackgroundJob<T, Req> {
  readonly key: string;
  /** Milliseconds the run may take before it is abandoned. */
  readonly timeout: number;
  /** Aborted when the cache closes or the load's hard timeout passes. */
  readonly signal: AbortSignal;
  /** Runs the route through the exchange of a detached GET copy of the request. */
  readonly run: (exchange: Exchange<Req>) => Promise<T>;
}

/** Starts background runs of the route for one request; see `Exchange.background`. */
export type Background<Req> = <T>(job: BackgroundJob<T, Req>) => Promise<T>;

/** One request, as a framework adapter presents it to the engine. Every method is called at most once. */
export interface Exchange<Req> {
  readonly request: RequestView;
  /**
   * Identifies the request across nested cache instances (a global one and a route-level one): the engine
   * serves it at most once.
   */
  readonly identity: object;
  /** The framework's own request object, handed to `userKey`. */
  readonly native: Req;
  /**
   * The route answers, untapped, labelled with this `X-Cache` value (unlabelled when undefined: another
   * cache instance in front serves the request and labels it).
   */
  pass(status: 'BYPASS' | 'MISS' | undefined): void;
  /**
   * The route answers a request with an unsafe method, labelled `X-Cache: BYPASS`; when its status is 2xx
   * or 3xx, `settle` is called with a reader of its headers and the response is held until it is done.
   */
  passUnsafe(settle: (header: (name: string) => unknown) => Promise<void>): void;
  /** Answers from the cache. */
  send(answer: Answer): void;
  /**
   * Runs the route for the cache, with `X-Cache: MISS`, the request's conditional fields replaced by
   * `conditionals`, and its response reaching the client as it is written while a copy is kept.
   */
  produce(conditionals: Conditionals, options: CaptureOptions): Promise<Production>;
  /** Read while the request is live: starts background runs of the route later. */
  background(): Background<Req>;
  /** Something failed outside the route: the framework's error handling takes over. */
  fail(error: unknown): void;
}
