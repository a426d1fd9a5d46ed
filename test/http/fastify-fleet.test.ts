import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FixtureProcess, startFixtureProcess } from './fixture-process.js';
import { callsKey } from './fixtures/app.js';
import { slowFastifyApp } from './fixtures/fastify-app.js';
import { Harness, send } from './helpers.js';

const SERVER = fileURLToPath(new URL('./fixtures/fastify-server.ts', import.meta.url));

let h: Harness;
let child: FixtureProcess | undefined;
let counter: Redis | undefined;
let app: FastifyInstance | undefined;
beforeEach(() => {
  h = new Harness();
});
afterEach(async () => {
  await child?.stop();
  child = undefined;
  await app?.close();
  app = undefined;
  await counter?.del(callsKey(h.prefix));
  counter?.disconnect();
  await h.close();
});

/** Starts the fixture server in its own process, on the same Redis and prefix; resolves with its URL. */
async function startChild(): Promise<string> {
  child = await startFixtureProcess(SERVER, h.redisUrl, h.prefix);
  return child.url;
}

describe('fastifyCache: coalescing across processes', () => {
  it('runs a cold 100 ms route once for 2 processes x 50 concurrent requests', async () => {
    const remote = await startChild();
    counter = new Redis(h.redisUrl);
    app = await slowFastifyApp(await h.cache(), counter, h.prefix);
    const urls = [`${await app.listen({ port: 0, host: '127.0.0.1' })}/slow`, `${remote}/slow`];

    const replies = await Promise.all(urls.flatMap((url) => Array.from({ length: 50 }, () => send(url))));

    expect(await counter.get(callsKey(h.prefix))).toBe('1');
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    expect(new Set(replies.map((reply) => reply.text)).size).toBe(1);
    const producer = JSON.parse(replies[0]?.text ?? '{}').pid;
    expect([process.pid, child?.child.pid]).toContain(producer);
  });
});
