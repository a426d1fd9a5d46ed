/**
 * The fetch and Fastify servers of the HTTP hit-path benchmark, each bare or behind herdcache's adapter, all
 * answering the same body. The Express ones live in http-server.ts beside apicache.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { Cache } from 'herdcache';

/** A server listening on 127.0.0.1, and how to stop it. */
export interface RunningApp {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * node:http to a Web fetch handler and back, as thin as a real bridge (Hono's node server, say) is: the
 * answer is read whole and written with one `end`, the same for the bare handler and the cached one.
 */
function serveFetch(handler: (request: Request) => Promise<Response>) {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const request = new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, {
      method: req.method,
      headers,
    });
    handler(request)
      .then(async (response) => {
        const body = Buffer.from(await response.arrayBuffer());
        res.statusCode = response.status;
        for (const [name, value] of response.headers) res.setHeader(name, value);
        res.end(body);
      })
      .catch(() => {
        res.statusCode = 500;
        res.end();
      });
  });
}

async function listening(server: ReturnType<typeof createServer>): Promise<RunningApp> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A fetch handler answering `body` as JSON at /item, wrapped in `cacheFetch` when `cache` is given. */
export async function startFetchApp(body: unknown, cache?: Cache, ttl = 60_000): Promise<RunningApp> {
  const route = async (request: Request) =>
    new URL(request.url).pathname === '/item' ? Response.json(body) : new Response(null, { status: 404 });
  if (cache === undefined) return listening(serveFetch(route));
  const { cacheFetch } = await import('herdcache/fetch');
  return listening(serveFetch(cacheFetch(cache, route, { ttl })));
}

/** A Fastify 5 app answering `body` at /item, with `fastifyCache`'s hooks on the route when `cache` is given. */
export async function startFastifyApp(body: unknown, cache?: Cache, ttl = 60_000): Promise<RunningApp> {
  const app = Fastify();
  if (cache === undefined) app.get('/item', async () => body);
  else {
    const { fastifyCache } = await import('herdcache/fastify');
    const cached = fastifyCache(cache, { ttl });
    app.get('/item', { onRequest: cached.onRequest, onSend: cached.onSend }, async () => body);
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    port: (app.server.address() as AddressInfo).port,
    close: async () => {
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
