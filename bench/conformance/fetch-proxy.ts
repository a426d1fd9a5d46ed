import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { cacheFetch } from '../../src/http/fetch/index.js';
import { connectionScoped, type ProxyOptions, STATUSES } from './proxy.js';

/**
 * The fetch wrapper as the suite's reverse proxy: a node:http server hands each request to a Web fetch
 * handler wrapped by `cacheFetch`, and the handler forwards it to the suite's origin. Interim responses
 * (102, 103) have no place in a fetch `Response`, so unlike the Express proxy this one drops them.
 */

/** Forwards one request to `origin`; header fields a `Headers` object refuses are left out. */
function forward(origin: URL, incoming: Request): Promise<Response> {
  const url = new URL(incoming.url);
  const outgoing: Record<string, string> = {};
  const dropped = connectionScoped(Object.fromEntries(incoming.headers));
  for (const [name, value] of incoming.headers) if (!dropped.has(name)) outgoing[name] = value;
  return new Promise((resolve) => {
    const upstream = request(
      origin,
      {
        method: incoming.method,
        path: url.pathname + url.search,
        headers: outgoing,
        insecureHTTPParser: true,
        agent: false,
      },
      (answer) => {
        const returned = connectionScoped(answer.headers);
        const headers = new Headers();
        for (let i = 0; i < answer.rawHeaders.length; i += 2) {
          const name = (answer.rawHeaders[i] as string).toLowerCase();
          if (returned.has(name)) continue;
          try {
            headers.append(name, answer.rawHeaders[i + 1] as string);
          } catch {
            // A value the Fetch API cannot carry.
          }
        }
        const status = answer.statusCode ?? 502;
        const bodyless = status === 204 || status === 304 || incoming.method === 'HEAD';
        if (bodyless) answer.resume();
        try {
          resolve(
            new Response(bodyless ? null : (Readable.toWeb(answer) as ReadableStream<Uint8Array>), {
              status,
              headers,
            }),
          );
        } catch {
          // A status a fetch Response cannot carry (outside 200-599).
          answer.resume();
          resolve(new Response(null, { status: 502 }));
        }
      },
    );
    upstream.on('error', () => resolve(new Response(null, { status: 502 })));
    if (incoming.body === null) upstream.end();
    else Readable.fromWeb(incoming.body as never).pipe(upstream);
  });
}

/** node:http to fetch and back. */
function bridge(handler: (request: Request) => Promise<Response>) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      try {
        headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
      } catch {
        // As above.
      }
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const incoming = new Request(`http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`, {
      method: req.method,
      headers,
      ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
    } as RequestInit);
    handler(incoming).then(
      (response) => {
        res.statusCode = response.status;
        const fields: Record<string, string[]> = {};
        for (const [name, value] of response.headers) if (name !== 'set-cookie') fields[name] = [value];
        const cookies = response.headers.getSetCookie();
        if (cookies.length > 0) fields['set-cookie'] = cookies;
        for (const [name, values] of Object.entries(fields)) {
          res.setHeader(name, values.length === 1 ? (values[0] as string) : values);
        }
        if (response.body === null) res.end();
        else
          Readable.fromWeb(response.body as never)
            .on('error', () => res.destroy())
            .pipe(res);
      },
      () => {
        res.statusCode = 500;
        res.end();
      },
    );
  };
}

/** Listens on a free loopback port; resolves with the base URL and a close function. */
export async function startFetchProxy(
  options: ProxyOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  const handler = cacheFetch(options.cache, (incoming) => forward(options.origin, incoming), {
    ttl: options.ttl,
    statuses: STATUSES,
  });
  const server = createServer(bridge(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
