import { type IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { NextFunction, Request, Response } from 'express';
import { DROPPED_FROM_DETACHED } from '../core/detached.js';
import { RevalidationError } from '../errors.js';

/**
 * Background revalidation. When the cache refreshes an entry in the background (stale-while-revalidate,
 * early refresh), the request that triggered it has already been answered, so the route runs for a
 * detached copy of it: the same URL and headers, dispatched through the whole app like a proxy's background
 * fetch would be, with a response that goes nowhere but through the capture.
 */

/** Runs the route for a detached request once it reaches the middleware instance that sent it. */
export type Starter = (req: Request, res: Response, next: NextFunction) => void;

const detached = new WeakMap<IncomingMessage, { readonly owner: symbol; start: Starter | undefined }>();

/**
 * For a detached request: its starter when `owner` sent it (handed out once), or `'foreign'` when another
 * middleware instance did (it should pass through). Undefined for ordinary requests.
 */
export function claimDetached(req: IncomingMessage, owner: symbol): Starter | 'foreign' | undefined {
  const entry = detached.get(req);
  if (entry === undefined) return undefined;
  if (entry.owner !== owner || entry.start === undefined) return 'foreign';
  const start = entry.start;
  entry.start = undefined;
  return start;
}

const PEER_FIELDS = ['remoteAddress', 'remotePort', 'remoteFamily', 'localAddress', 'localPort', 'encrypted'];

/** The connection facts Express derives `req.ip`, `req.protocol` and `req.secure` from. */
export type Peer = Readonly<Record<string, unknown>>;

/**
 * Read while the request is live: a background run starts after its client may have gone, and a closed
 * socket no longer knows its addresses.
 */
export function peerOf(socket: Socket | undefined): Peer {
  const fields = socket as unknown as Record<string, unknown> | undefined;
  return Object.fromEntries(PEER_FIELDS.map((field) => [field, fields?.[field]]));
}

/** A socket that swallows the response and reports the original peer. */
class DetachedSocket extends Duplex {
  constructor(peer: Peer) {
    // Writes are dropped at once, so there is never back-pressure to wait on.
    super({ writableHighWaterMark: 2 ** 30 });
    for (const field of PEER_FIELDS) Object.defineProperty(this, field, { value: peer[field] });
  }
  override _read(): void {}
  override _write(_chunk: unknown, _encoding: BufferEncoding, callback: () => void): void {
    callback();
  }
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
}

interface App {
  (...args: never[]): unknown;
  handle(req: IncomingMessage, res: ServerResponse, done: (error?: unknown) => void): void;
  parent?: unknown;
}

function isApp(value: unknown): value is App {
  return typeof value === 'function' && typeof (value as { handle?: unknown }).handle === 'function';
}

/** The top-level app: a mounted sub-app only knows the part of the URL below its mount path. */
function rootApp(req: Request): App | undefined {
  const start: unknown = (req as { app?: unknown }).app;
  if (!isApp(start)) return undefined;
  let app: App = start;
  while (isApp(app.parent)) app = app.parent;
  return app;
}

function copyHeaders(headers: IncomingHttpHeaders): { headers: IncomingHttpHeaders; raw: string[] } {
  const copy: IncomingHttpHeaders = {};
  const raw: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || DROPPED_FROM_DETACHED.has(name)) continue;
    copy[name] = value;
    for (const item of Array.isArray(value) ? value : [value]) raw.push(name, item);
  }
  return { headers: copy, raw };
}

/** One background revalidation: whose request to copy, who owns it, how long it may take. */
export interface RevalidateOptions<T> {
  readonly original: Request;
  readonly peer: Peer;
  readonly owner: symbol;
  readonly key: string;
  readonly timeout: number;
  /** The load's signal: aborted when the cache closes or its hardTimeout passes. */
  readonly signal: AbortSignal;
  readonly produce: (req: Request, res: Response, next: NextFunction) => Promise<T>;
}

/** Dispatches a detached GET copy of `original` through its app; resolves with what `produce` makes of it. */
export function revalidate<T>(options: RevalidateOptions<T>): Promise<T> {
  const { original, owner, key } = options;
  const app = rootApp(original);
  if (app === undefined) {
    return Promise.reject(new RevalidationError(key, 'the request did not come through an Express app'));
  }
  const socket = new DetachedSocket(options.peer);
  const req = new IncomingMessage(socket as unknown as Socket);
  const { headers, raw } = copyHeaders(original.headers);
  req.method = 'GET';
  req.url = original.originalUrl ?? original.url;
  req.headers = headers;
  req.rawHeaders = raw;
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.complete = true;
  req.push(null);
  const res = new ServerResponse(req);
  res.assignSocket(socket as unknown as Socket);

  return new Promise<T>((resolve, reject) => {
    let claimed = false;
    const abort = () => socket.destroy();
    // Destroying the socket closes the response, which settles the capture as aborted.
    const timer = setTimeout(abort, options.timeout);
    timer.unref();
    options.signal.addEventListener('abort', abort, { once: true });
    const finish = (error: unknown, value?: T) => {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', abort);
      socket.destroy();
      if (error === undefined) resolve(value as T);
      else reject(error);
    };
    detached.set(req, {
      owner,
      start: (r, s, n) => {
        claimed = true;
        options.produce(r, s, n).then(
          (value) => finish(undefined, value),
          (error: unknown) => finish(error ?? new RevalidationError(key, 'unknown failure')),
        );
      },
    });
    const unclaimed = () => {
      if (!claimed) finish(new RevalidationError(key, 'the app answered before the cache middleware'));
    };
    res.once('finish', unclaimed);
    res.once('close', unclaimed);
    app.handle(req, res, (error?: unknown) => {
      if (!claimed) finish(error ?? new RevalidationError(key, 'no route matched'));
      // Passed on with an error or to nothing: no one will finish the detached response.
      else if (!res.writableEnded) socket.destroy();
    });
  });
}
