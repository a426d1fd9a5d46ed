import { type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { fastifyCache } from '../../src/http/fastify/index.js';
import { connectionScoped, type ProxyOptions, STATUSES } from './proxy.js';

/**
 * The Fastify plugin as the suite's reverse proxy: one catch-all route forwards each request to the suite's
 * origin and sends back its answer as a Buffer (the plugin stores string and Buffer payloads, never streams,
 * as a Fastify route that wants its responses cached must send them). Interim responses (102, 103) are
 * written to the raw response as they come, as the Express proxy does.
 */

interface Answer {
  readonly status: number;
  readonly fields: Record<string, string[]>;
  readonly body: Buffer;
}

/** Forwards one request to `origin` and reads the whole answer. */
function forward(origin: URL, req: FastifyRequest, reply: FastifyReply): Promise<Answer> {
  // req.headers, not the raw ones: the cache may have removed or set conditionals on its way to the route.
  const dropped = connectionScoped(req.headers);
  const outgoing: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !dropped.has(name)) outgoing[name] = value;
  }
  return new Promise((resolve) => {
    let received: { answer: IncomingMessage; fields: Record<string, string[]>; chunks: Buffer[] } | undefined;
    const settle = () => {
      if (received?.answer.complete === true) {
        const { answer, fields, chunks } = received;
        resolve({ status: answer.statusCode ?? 502, fields, body: Buffer.concat(chunks) });
      } else resolve({ status: 502, fields: {}, body: Buffer.alloc(0) });
    };
    // The suite's origin sends malformed fields on purpose; a proxy passes them on rather than failing.
    // No connection reuse: an origin that sends more bytes than its Content-Length leaves them on the socket.
    const upstream = request(
      origin,
      { method: req.method, path: req.url, headers: outgoing, insecureHTTPParser: true, agent: false },
      (answer: IncomingMessage) => {
        const returned = connectionScoped(answer.headers);
        const fields: Record<string, string[]> = {};
        for (let i = 0; i < answer.rawHeaders.length; i += 2) {
          const name = (answer.rawHeaders[i] as string).toLowerCase();
          if (returned.has(name) || name === 'content-length') continue;
          fields[name] = [...(fields[name] ?? []), answer.rawHeaders[i + 1] as string];
        }
        const current = { answer, fields, chunks: [] as Buffer[] };
        received = current;
        answer.on('data', (chunk: Buffer) => current.chunks.push(chunk));
        answer.on('end', settle);
        answer.on('error', settle);
      },
    );
    // Interim responses (102, 103) go on to the client as they come, on the raw response: the cache never
    // sees them.
    upstream.on('information', (info: { statusCode: number; headers: IncomingMessage['headers'] }) => {
      if (info.statusCode === 102) reply.raw.writeProcessing();
      else if (info.statusCode === 103)
        reply.raw.writeEarlyHints(info.headers as Record<string, string | string[]>);
    });
    // Bytes past a complete answer (a Content-Length shorter than the body) are the origin's problem.
    upstream.on('error', settle);
    const body = req.body;
    upstream.end(Buffer.isBuffer(body) ? body : undefined);
  });
}

async function proxied(origin: URL, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const answer = await forward(origin, req, reply);
  for (const [name, values] of Object.entries(answer.fields)) {
    try {
      reply.header(name, values.length === 1 ? values[0] : values);
    } catch {
      // A value Node refuses to send.
    }
  }
  try {
    reply.code(answer.status);
  } catch {
    // A status Fastify cannot send (outside 100-599).
    return reply.code(502).send();
  }
  const bodyless = answer.status === 204 || answer.status === 304 || req.method === 'HEAD';
  return reply.send(bodyless ? undefined : answer.body);
}

/** Listens on a free loopback port; resolves with the base URL and a close function. */
export async function startFastifyProxy(
  options: ProxyOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ exposeHeadRoutes: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  await app.register(fastifyCache(options.cache, { ttl: options.ttl, statuses: STATUSES }).plugin);
  // The suite invalidates with an extension method too; Fastify routes only the methods it is told of.
  app.addHttpMethod('M-SEARCH', { hasBody: true });
  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'M-SEARCH'],
    url: '/*',
    handler: (req, reply) => proxied(options.origin, req, reply),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    close: async () => {
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
