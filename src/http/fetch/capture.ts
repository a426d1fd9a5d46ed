import type { OutgoingHttpHeaders } from 'node:http';
import type { Capture, CaptureOptions } from '../core/exchange.js';

/**
 * Taps a Web `Response`: its body still streams to the client as the handler produces it, and a copy is
 * kept until it is either complete or no longer wanted. The outcome is known as early as possible, so
 * requests waiting on an uncacheable response are released as soon as its headers are judged.
 */

/** A tapped response: what the client gets (none for a 304 the cache keeps for itself) and the outcome. */
export interface Tapped {
  readonly client: Response | undefined;
  readonly capture: Promise<Capture>;
}

/** The fields of a Web `Headers`, lower case, with `Set-Cookie` kept as its separate values. */
export function outgoingHeaders(headers: Headers): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of headers) if (name !== 'set-cookie') out[name] = value;
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) out['set-cookie'] = cookies;
  return out;
}

export function tapResponse(response: Response, options: CaptureOptions): Tapped {
  const status = response.status;
  const headers = outgoingHeaders(response.headers);
  if (status === 304 && options.interceptNotModified) {
    // Nothing of it reaches the client: the cache answers from the refreshed entry.
    void response.body?.cancel().catch(() => undefined);
    return { client: undefined, capture: Promise.resolve({ kind: 'not-modified', headers }) };
  }
  const clientHeaders = new Headers(response.headers);
  for (const name of options.strip) clientHeaders.delete(name);
  const init = { status, statusText: response.statusText, headers: clientHeaders };
  const length = Number(headers['content-length']);
  const reason =
    Number.isFinite(length) && length > options.limit
      ? 'body larger than maxBodySize'
      : options.onHeaders(status, headers);
  const body = response.body;
  if (reason !== undefined) {
    return { client: new Response(body, init), capture: Promise.resolve({ kind: 'passed', status, reason }) };
  }
  if (body === null) {
    return {
      client: new Response(null, init),
      capture: Promise.resolve({ kind: 'complete', status, headers, body: Buffer.alloc(0) }),
    };
  }
  let settle!: (capture: Capture) => void;
  const capture = new Promise<Capture>((resolve) => {
    let settled = false;
    settle = (outcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
  });
  let chunks: Buffer[] = [];
  let size = 0;
  let keeping = true;
  /** The source is finished with: ended, failed, or cancelled by the client. */
  let done = false;
  const reader = body.getReader();
  const step = async (controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> => {
    let read: Awaited<ReturnType<typeof reader.read>>;
    try {
      read = await reader.read();
    } catch (error) {
      if (done) return;
      done = true;
      settle({ kind: 'aborted' });
      controller.error(error);
      return;
    }
    // Cancelled by the client while this read was pending.
    if (done) return;
    if (read.done) {
      done = true;
      if (keeping) settle({ kind: 'complete', status, headers, body: Buffer.concat(chunks, size) });
      controller.close();
      return;
    }
    const chunk = read.value;
    if (keeping) {
      if (size + chunk.byteLength > options.limit) {
        keeping = false;
        chunks = [];
        settle({ kind: 'passed', status, reason: 'body larger than maxBodySize' });
      } else {
        // A copy: the client side may reuse or transfer the chunk it is handed.
        chunks.push(Buffer.from(chunk));
        size += chunk.byteLength;
      }
    }
    controller.enqueue(chunk);
  };
  // While the body may still be stored it is read eagerly, whatever pace the client reads at: the copy
  // holds that much anyway, and the requests waiting on it must not wait on one slow client. Past the
  // bound the client's reads pace the source again.
  let pumped: Promise<void> = Promise.resolve();
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        pumped = (async () => {
          while (keeping && !done) await step(controller);
        })();
      },
      pull(controller) {
        return pumped.then(() => (done ? undefined : step(controller)));
      },
      cancel(cause) {
        done = true;
        settle({ kind: 'aborted' });
        return reader.cancel(cause);
      },
    },
    { highWaterMark: 0 },
  );
  return { client: new Response(stream, init), capture };
}
