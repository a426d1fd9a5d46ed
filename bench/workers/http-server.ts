/**
 * One HTTP server of the HTTP benchmark, on 127.0.0.1 and a port the OS picks: bare Express, herdcache's
 * cacheResponses, apicache over Redis, or no cache; or a fetch handler or Fastify app, bare or behind
 * herdcache's adapter (http-apps.ts). The route answers the same JSON body in every variant;
 * with a handler delay it counts its calls in Redis so the fleet's total is exact. herdcache is the built
 * package, imported by name as an app imports it.
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express, { type RequestHandler } from 'express';
import { Redis } from 'ioredis';
import { Parent } from '../lib/workers.js';
import { type RunningApp, startFastifyApp, startFetchApp } from './http-apps.js';
import type { FromHttpServer, ServerVariant, ToHttpServer } from './http-protocol.js';

const parent = new Parent<FromHttpServer, ToHttpServer>();
const init = await parent.receive('init');

/** About 1 KB of JSON, like a small API resource. */
const BODY = {
  id: 4711,
  name: 'Stainless steel kettle, 1.7 l',
  description: 'A kettle. '.repeat(60),
  price: { amount: 3499, currency: 'EUR' },
  tags: ['kitchen', 'appliances', 'bestseller'],
};

const counter = new Redis(init.redisUrl, { maxRetriesPerRequest: 1 });
counter.on('error', () => {});
let t0: number | undefined;
const closers: (() => Promise<unknown>)[] = [];

const handler: RequestHandler = async (_req, res) => {
  if (init.handlerMs > 0) {
    if (t0 !== undefined) {
      const window = Math.floor((Date.now() - t0) / init.ttl);
      counter
        .pipeline()
        .incr(init.counterKey)
        .hincrby(init.windowsKey, String(window), 1)
        .exec()
        .catch(() => {});
    }
    await sleep(init.handlerMs);
  }
  res.json(BODY);
};

/** A cache on the run's Redis, closed when the server stops. */
async function herdcache() {
  const { createCache } = await import('herdcache');
  const cache = createCache({ redis: init.redisUrl, prefix: `${init.namespace}:`, ttl: init.ttl });
  cache.on('error', () => {});
  await cache.ready();
  closers.push(() => cache.close());
  return cache;
}

/** The fetch and Fastify variants, which are not Express apps. */
async function otherApp(variant: ServerVariant): Promise<RunningApp | undefined> {
  switch (variant) {
    case 'fetch bare':
      return startFetchApp(BODY);
    case 'fetch herdcache':
      return startFetchApp(BODY, await herdcache(), init.ttl);
    case 'fastify bare':
      return startFastifyApp(BODY);
    case 'fastify herdcache':
      return startFastifyApp(BODY, await herdcache(), init.ttl);
    default:
      return undefined;
  }
}

/** The caching middleware of each Express variant; undefined for none. */
async function middleware(variant: ServerVariant): Promise<RequestHandler | undefined> {
  switch (variant) {
    case 'herdcache': {
      const http = await import('herdcache/express');
      return http.cacheResponses(await herdcache(), { ttl: init.ttl });
    }
    case 'apicache': {
      const { default: apicache } = await import('apicache');
      // apicache speaks to a node-redis v2/v3 client (callback API plus a `connected` flag). ioredis keeps
      // that callback API, so it only needs the flag.
      const client = new Redis(init.redisUrl);
      client.on('error', () => {});
      await client.ping();
      Object.defineProperty(client, 'connected', { get: () => client.status === 'ready' });
      closers.push(async () => client.disconnect());
      const instance = apicache.newInstance({ redisClient: client }) as typeof apicache;
      // A number is milliseconds (a string like '1000 milliseconds' is misparsed and expires at once).
      return instance.middleware(init.ttl);
    }
    default:
      return undefined;
  }
}

try {
  const other = await otherApp(init.variant);
  if (other !== undefined) {
    closers.push(() => other.close());
    await parent.send({ type: 'ready', port: other.port });
  } else await startExpress();
} catch (error) {
  await parent.send({ type: 'failed', reason: (error as Error).message });
  process.exit(1);
}

async function startExpress(): Promise<void> {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const cacheLayer = await middleware(init.variant);
  if (cacheLayer) app.get('/item', cacheLayer, handler);
  else app.get('/item', handler);
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  await parent.send({ type: 'ready', port: (server.address() as AddressInfo).port });
}

for (;;) {
  const message = await parent.receive(['start', 'cpu', 'exit']);
  if (message.type === 'exit') break;
  if (message.type === 'start') t0 = message.at;
  else {
    const usage = process.cpuUsage();
    await parent.send({ type: 'cpu', micros: usage.user + usage.system });
  }
}
for (const close of closers.reverse()) await Promise.race([close(), sleep(2_000)]).catch(() => {});
counter.disconnect();
parent.done();
