import { randomUUID } from 'node:crypto';
import { type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type RequestHandler } from 'express';
import { inject } from 'vitest';
import { Cache } from '../../src/cache.js';
import { systemClock } from '../../src/core/clock.js';
import { type CacheResponsesOptions, cacheResponses } from '../../src/http/index.js';
import { type CacheOptions, createCache } from '../../src/index.js';
import { type Gate, gate } from '../support/gate.js';

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
}

export interface SendOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** One request on a fresh connection, so tests control every header the server sees. */
export function send(url: string, options: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Sends a GET, waits for the first body bytes, then drops the connection. */
export function sendAndAbort(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET') reject(error);
    });
    req.end();
  });
}

export { type Gate, gate };

/** Resolves once `count` is reached by `hit()`. */
export function countdown(count: number): { hit(): void; readonly reached: Promise<void> } {
  const done = gate();
  let seen = 0;
  return {
    hit() {
      seen += 1;
      if (seen === count) done.open();
    },
    reached: done.promise,
  };
}

/** An Express app that counts requests as they arrive, before any route or middleware of the test. */
export function appCountingArrivals(count: number): { app: Express; arrived: ReturnType<typeof countdown> } {
  const arrived = countdown(count);
  const app = express();
  app.use((_req, _res, next) => {
    arrived.hit();
    next();
  });
  return { app, arrived };
}

/**
 * Resolves after the next load finishes in `cache` (stored or not), rejects if it fails instead. A client can
 * read the whole response before the leader's write reaches Redis, so a test waits for this before
 * expecting a hit.
 */
export function nextLoad(cache: Cache): Promise<{ key: string; stored: boolean; background: boolean }> {
  return new Promise((resolve, reject) => {
    const onLoad = (event: { key: string; stored: boolean; background: boolean }) => {
      cache.off('loadError', onError);
      resolve(event);
    };
    const onError = ({ error }: { error: unknown }) => {
      cache.off('load', onLoad);
      reject(error);
    };
    cache.once('load', onLoad);
    cache.once('loadError', onError);
  });
}

export function uniquePrefix(): string {
  return `test:http:${randomUUID()}:`;
}

/** Caches and servers made by one test, all closed after it. */
export class Harness {
  readonly redisUrl = inject('redisUrl');
  readonly prefix = uniquePrefix();
  readonly #caches: Cache[] = [];
  readonly #servers: Server[] = [];

  /** A cache on the test Redis, under this test's prefix unless overridden. */
  async cache(options: CacheOptions = {}): Promise<Cache> {
    const cache = createCache({ redis: this.redisUrl, prefix: this.prefix, ...options });
    this.#caches.push(cache);
    await cache.ready();
    return cache;
  }

  /**
   * A single-process cache whose clock follows `Date.now()`, so a test can move time with fake Date timers
   * (Redis's own clock, which decides freshness with Redis, cannot be moved).
   */
  wallClockCache(options: CacheOptions = {}): Cache {
    const clock = {
      now: () => Date.now(),
      schedule: systemClock.schedule,
      afterPendingIo: systemClock.afterPendingIo,
    };
    const cache = new Cache(options, { clock });
    this.#caches.push(cache);
    return cache;
  }

  /** Listens on a free port; returns the base URL. */
  async serve(app: Express): Promise<string> {
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    this.#servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const server of this.#servers) server.closeAllConnections();
    await Promise.all(this.#servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await Promise.all(this.#caches.map((cache) => cache.close()));
  }
}

let routes = 0;

/**
 * An app with one cached route (its own path) whose handler counts its calls. `settled` sends a request
 * and, when it starts a load, waits for that load to finish, so the next request can expect a hit.
 */
export async function cachedRoute(
  cache: Cache,
  serve: (app: Express) => Promise<string>,
  handler: RequestHandler,
  options: CacheResponsesOptions = {},
) {
  const app = express();
  routes += 1;
  const path = `/route${routes}`;
  let calls = 0;
  app.get(
    path,
    cacheResponses(cache, options),
    (_req, _res, next) => {
      calls += 1;
      next();
    },
    handler,
  );
  const url = `${await serve(app)}${path}`;
  const settled = async (sendOptions?: SendOptions) => {
    const loaded = nextLoad(cache);
    const reply = await send(url, sendOptions);
    await loaded;
    return reply;
  };
  return { url, calls: () => calls, settled };
}
