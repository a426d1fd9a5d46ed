import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callsKey } from './fixtures/app.js';
import { slowFastifyApp } from './fixtures/fastify-app.js';
import { Harness, send } from './helpers.js';

const SERVER = fileURLToPath(new URL('./fixtures/fastify-server.ts', import.meta.url));

let h: Harness;
let child: ChildProcess | undefined;
let counter: Redis | undefined;
let app: FastifyInstance | undefined;
beforeEach(() => {
  h = new Harness();
});
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child?.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
  child = undefined;
  await app?.close();
  app = undefined;
  await counter?.del(callsKey(h.prefix));
  counter?.disconnect();
  await h.close();
});

/** Starts the Fastify fixture server in its own process, on the same Redis and prefix; resolves with its URL. */
async function startChild(): Promise<string> {
  child = fork(SERVER, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, HERDCACHE_TEST_REDIS_URL: h.redisUrl, HERDCACHE_TEST_PREFIX: h.prefix },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`fixture server exited early with ${code}`);
  });
  const [message] = (await Promise.race([once(child, 'message'), exited])) as [{ port: number }];
  return `http://127.0.0.1:${message.port}`;
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
    expect([process.pid, child?.pid]).toContain(producer);
  });
});
