import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Capture, CaptureOptions } from '../core/exchange.js';

/**
 * Taps a live response: everything still goes to the client as the route writes it, and a copy of the body
 * is kept until it is either complete or no longer wanted. The outcome is known as early as possible, so
 * requests waiting on an uncacheable response are released when its headers go out, not when it ends.
 */

type Chunk = string | Uint8Array;

function toBuffer(chunk: Chunk, encoding: unknown): Buffer {
  if (typeof chunk === 'string') {
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }
  // A copy: the caller may reuse its buffer once write() returns.
  return Buffer.from(chunk);
}

/** `writeHead`'s optional headers argument, in any of the shapes Node accepts, applied with setHeader. */
function applyHeaderArgument(res: ServerResponse, headers: unknown): void {
  if (headers === undefined || headers === null) return;
  if (Array.isArray(headers)) {
    const pairs: unknown[][] = Array.isArray(headers[0])
      ? (headers as unknown[][])
      : Array.from({ length: headers.length / 2 }, (_, i) => [headers[2 * i], headers[2 * i + 1]]);
    for (const [name, value] of pairs) res.appendHeader(String(name), value as string | string[]);
    return;
  }
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (value !== undefined) res.setHeader(name, value as string | number | string[]);
  }
}

/** Taps `res`; resolves once it is known whether the response can be kept (or that it was aborted). */
export function captureResponse(res: ServerResponse, options: CaptureOptions): Promise<Capture> {
  let chunks: Buffer[] = [];
  let size = 0;
  let keeping = true;
  let status: number | undefined;
  let headers: OutgoingHttpHeaders = {};
  /** The headers of a 304 held back from the client, once one is. */
  let swallowed: OutgoingHttpHeaders | undefined;
  const swallow = (sent: OutgoingHttpHeaders) => {
    swallowed = sent;
  };
  let settle!: (capture: Capture) => void;
  const outcome = new Promise<Capture>((resolve) => {
    let settled = false;
    settle = (capture) => {
      if (settled) return;
      settled = true;
      resolve(capture);
    };
  });
  const stop = (reason: string) => {
    if (!keeping) return;
    keeping = false;
    chunks = [];
    settle({ kind: 'passed', status, reason });
  };
  const keep = (chunk: unknown, encoding: unknown) => {
    if (!keeping || chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const buffer = toBuffer(chunk as Chunk, encoding);
    if (size + buffer.length > options.limit) return stop('body larger than maxBodySize');
    chunks.push(buffer);
    size += buffer.length;
  };

  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    const [code, second, third] = args;
    if (status !== undefined || this.headersSent || typeof code !== 'number') {
      return writeHead.apply(this, args as Parameters<typeof writeHead>);
    }
    const reasonPhrase = typeof second === 'string' ? second : undefined;
    applyHeaderArgument(this, reasonPhrase === undefined ? second : third);
    if (code === 304 && options.interceptNotModified) {
      swallow(this.getHeaders());
      return this;
    }
    const kept = this.getHeaders();
    for (const name of options.strip) this.removeHeader(name);
    const sent = reasonPhrase === undefined ? [code] : [code, reasonPhrase];
    // Recorded only once Node accepted them: a rejected status must not label the error page that follows.
    const result = writeHead.apply(this, sent as Parameters<typeof writeHead>);
    status = code;
    headers = kept;
    const length = Number(headers['content-length']);
    const reason =
      Number.isFinite(length) && length > options.limit
        ? 'body larger than maxBodySize'
        : options.onHeaders(code, headers);
    if (reason !== undefined) stop(reason);
    return result;
  } as typeof res.writeHead;

  const write = res.write;
  res.write = function (this: ServerResponse, ...args: unknown[]) {
    if (swallowed !== undefined) return true;
    keep(args[0], args[1]);
    return write.apply(this, args as Parameters<typeof write>);
  } as typeof res.write;

  const end = res.end;
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    // A route that sets the status and ends (res.sendStatus(304), Express's own fresh check) never calls
    // writeHead itself: Node would, from inside end, too late to hold the 304 back.
    if (
      swallowed === undefined &&
      options.interceptNotModified &&
      !this.headersSent &&
      this.statusCode === 304
    ) {
      swallow(this.getHeaders());
    }
    if (swallowed !== undefined) {
      // The route is done with its 304; the response is the cache's again, untapped.
      res.writeHead = writeHead;
      res.write = write;
      res.end = end;
      res.flushHeaders = flushHeaders;
      settle({ kind: 'not-modified', headers: swallowed });
      return this;
    }
    keep(args[0], args[1]);
    return end.apply(this, args as Parameters<typeof end>);
  } as typeof res.end;

  // Sending headers before the body is how long-lived streams start; such a response is never kept.
  const flushHeaders = res.flushHeaders;
  res.flushHeaders = function (this: ServerResponse) {
    stop('headers flushed early (a stream)');
    flushHeaders.call(this);
  };

  res.once('finish', () => {
    if (keeping && status !== undefined) {
      settle({ kind: 'complete', status, headers, body: Buffer.concat(chunks, size) });
    }
    stop('response ended without headers');
  });
  res.once('close', () => settle({ kind: 'aborted' }));
  return outcome;
}
