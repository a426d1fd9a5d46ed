import { type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { HOP_BY_HOP } from '../../src/http/hop-by-hop.js';
import { cacheResponses } from '../../src/http/index.js';
import type { Cache } from '../../src/index.js';

/**
 * The cache under test, as the suite expects one: a reverse proxy. Every request goes through
 * `cacheResponses` and then to the suite's origin server, so the origin stands in for the route.
 */

/** Hop-by-hop fields and those `Connection` names: neither forwarded nor returned. */
export function connectionScoped(headers: IncomingMessage['headers']): Set<string> {
  const named = String(headers.connection ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase());
  return new Set([...HOP_BY_HOP, ...named]);
}

/** Forwards one request to `origin` and streams the answer back, every repeated field kept as sent. */
function forward(origin: URL, req: Request, res: Response): void {
  // req.headers, not the raw ones: the cache may have removed or set conditionals on its way to the route.
  const dropped = connectionScoped(req.headers);
  const outgoing: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !dropped.has(name)) outgoing[name] = value;
  }
  let received: IncomingMessage | undefined;
  const upstream = request(
    origin,
    // The suite's origin sends malformed fields on purpose; a proxy passes them on rather than failing.
    // No connection reuse: an origin that sends more bytes than its Content-Length leaves them on the socket.
    {
      method: req.method,
      path: req.originalUrl,
      headers: outgoing,
      insecureHTTPParser: true,
      agent: false,
    },
    (answer) => {
      received = answer;
      upstream.off('information', interim);
      const returned = connectionScoped(answer.headers);
      const fields: Record<string, string[]> = {};
      for (let i = 0; i < answer.rawHeaders.length; i += 2) {
        const name = (answer.rawHeaders[i] as string).toLowerCase();
        if (returned.has(name)) continue;
        fields[name] = [...(fields[name] ?? []), answer.rawHeaders[i + 1] as string];
      }
      for (const [name, values] of Object.entries(fields)) {
        res.setHeader(name, values.length === 1 ? (values[0] as string) : values);
      }
      res.writeHead(answer.statusCode ?? 502);
      answer.pipe(res);
    },
  );
  // Interim responses (102, 103) go on to the client as they come; the cache never sees them.
  const interim = (info: { statusCode: number; headers: IncomingMessage['headers'] }) => {
    if (info.statusCode === 102) res.writeProcessing();
    else if (info.statusCode === 103) res.writeEarlyHints(info.headers as Record<string, string | string[]>);
  };
  upstream.on('information', interim);
  upstream.on('error', () => {
    // Bytes past a complete answer (a Content-Length shorter than the body) are the origin's problem.
    if (received?.complete === true) return;
    // Once the answer has started, only dropping the connection tells the client it is incomplete.
    if (res.headersSent) res.destroy();
    else res.status(502).end();
  });
  req.pipe(upstream);
}

// Every final status but 206 and 304: a proxy stores what its origin allows. The middleware still gives
// heuristic freshness only to RFC 9110's heuristically cacheable statuses; the others need explicit freshness.
export const STATUSES = Array.from({ length: 400 }, (_, i) => 200 + i).filter((s) => s !== 206 && s !== 304);

/** What the proxy app is built from. */
export interface ProxyOptions {
  readonly cache: Cache;
  readonly origin: URL;
  /** The middleware's `ttl`, for responses without freshness of their own. */
  readonly ttl: number | 'heuristic';
}

/** Listens on a free loopback port; resolves with the base URL and a close function. */
export async function startProxy(options: ProxyOptions): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(cacheResponses(options.cache, { ttl: options.ttl, statuses: STATUSES }));
  app.use((req, res) => forward(options.origin, req, res));
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
