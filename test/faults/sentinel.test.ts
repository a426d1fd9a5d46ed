/**
 * Sentinel-managed Redis: a master, a replica and a sentinel of our own (never the Redis on 6379), two
 * cache processes whose ioredis clients find the master through the sentinel. They share loads; the master
 * is killed; until the sentinel promotes the replica every call still answers (the documented degrade to
 * per-process loading); after the promotion the two processes share loads again, without a restart.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IpcChild } from '../support/ipc-child.js';
import { type SpawnedRedis, spawnRedis } from '../support/redis-server.js';
import { eventually, type SpawnedSentinel, spawnSentinel } from './support/sentinel.js';
import type { SentinelCallResult, SentinelCommand, SentinelReport } from './support/sentinel-worker.js';

const WORKER = fileURLToPath(new URL('./support/sentinel-worker.ts', import.meta.url));

class SentinelNode extends IpcChild<SentinelReport> {
  #nextId = 0;
  pid = 0;

  constructor() {
    super(WORKER);
  }

  async init(sentinel: SpawnedSentinel, prefix: string, failFast: boolean): Promise<void> {
    const ready = this.next('ready');
    this.#send({
      cmd: 'init',
      sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
      name: sentinel.name,
      prefix,
      failFast,
    });
    this.pid = (await ready).pid;
  }

  run(key: string, callers: number, delay: number): Promise<SentinelCallResult[]> {
    const id = this.#nextId++;
    const result = this.next('result', (report) => report.id === id);
    this.#send({ cmd: 'run', id, key, callers, delay });
    return result.then((report) => report.results);
  }

  loads(key: string): number {
    return this.reports.filter((r) => r.ev === 'loaderStart' && r.key === key).length;
  }

  errors(): Extract<SentinelReport, { ev: 'cacheError' }>[] {
    return this.reports.filter(
      (r): r is Extract<SentinelReport, { ev: 'cacheError' }> => r.ev === 'cacheError',
    );
  }

  close(): Promise<void> {
    return this.shutdown(() => this.#send({ cmd: 'close', id: this.#nextId++ }));
  }

  #send(command: SentinelCommand): void {
    this.child.send(command);
  }
}

let master: SpawnedRedis;
let replica: SpawnedRedis;
let sentinel: SpawnedSentinel;
let nodes: SentinelNode[] = [];

beforeAll(async () => {
  master = await spawnRedis();
  replica = await spawnRedis(['--replicaof', '127.0.0.1', String(master.port)]);
  sentinel = await spawnSentinel(master.port);
  const replicaClient = new Redis(replica.url);
  try {
    await eventually('the replica to sync', async () =>
      (await replicaClient.info('replication')).includes('master_link_status:up') ? true : undefined,
    );
  } finally {
    replicaClient.disconnect();
  }
  // The sentinel learns of replicas from the master's INFO: it can only promote one it knows, in good health.
  await replicaReady(replica);
  const prefix = `test:sentinel:${randomUUID()}:`;
  nodes = [new SentinelNode(), new SentinelNode()];
  // One client as the README recommends for a client passed in, one with ioredis's defaults.
  await Promise.all(nodes.map((node, i) => node.init(sentinel, prefix, i === 0)));
});

afterAll(async () => {
  await Promise.all(nodes.map((node) => node.close()));
  await sentinel?.stop();
  await replica?.stop();
  await master?.stop();
});

/** The sentinel's view of the master's replicas: one map of fields per replica. */
async function knownReplicas(): Promise<Map<string, string>[]> {
  const replicas = (await sentinel.client.call('SENTINEL', 'REPLICAS', sentinel.name)) as string[][];
  return replicas.map((fields) => {
    const info = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) info.set(fields[i]!, fields[i + 1]!);
    return info;
  });
}

/** Resolves once the sentinel knows `server` as a healthy replica it could promote. */
function replicaReady(server: SpawnedRedis): Promise<true> {
  return eventually(`the sentinel to know port ${server.port} as a healthy replica`, async () => {
    const replicas = await knownReplicas();
    const info = replicas.find((r) => r.get('port') === String(server.port));
    return info?.get('flags') === 'slave' && info.get('master-link-status') === 'ok' ? true : undefined;
  });
}

/** Resolves once the sentinel names `server` as the master. */
function promoted(server: SpawnedRedis): Promise<true> {
  return eventually(`the sentinel to promote port ${server.port}`, async () => {
    const [, port] = (await sentinel.client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', sentinel.name)) as [
      string,
      string,
    ];
    return port === String(server.port) ? true : undefined;
  });
}

/** Resolves once both processes share loads through the current master: one loads, the other reads it. */
function sharingAgain(tag: string): Promise<true> {
  const [a, b] = nodes as [SentinelNode, SentinelNode];
  let attempt = 0;
  return eventually(`the two processes to share the new master (${tag})`, async () => {
    const key = `${tag}-probe-${attempt++}`;
    const [loaded] = await a.run(key, 1, 10);
    const [read] = await b.run(key, 1, 10);
    return loaded?.ok && read?.ok && read.value?.pid === a.pid && b.loads(key) === 0 ? true : undefined;
  });
}

/** Only the documented degrade reached the app: no crash, and no error event but RedisUnavailableError. */
function expectOnlyDocumentedDegrade(): void {
  for (const node of nodes) expect(node.child.exitCode).toBeNull();
  const codes = new Set(nodes.flatMap((node) => node.errors().map((error) => error.code)));
  expect([...codes].filter((code) => code !== 'HERDCACHE_REDIS_UNAVAILABLE')).toEqual([]);
}

/** Runs `key` on the first node (leader), then on the second once the first has started its load. */
async function sharedLoad(key: string): Promise<SentinelCallResult[]> {
  const [a, b] = nodes as [SentinelNode, SentinelNode];
  const started = a.next('loaderStart', (report) => report.key === key);
  const first = a.run(key, 3, 300);
  await started;
  const second = b.run(key, 3, 300);
  return [...(await first), ...(await second)];
}

describe('Redis behind Sentinel', () => {
  it('shares loads across processes, survives a master failover and shares loads again after it', async () => {
    const [a, b] = nodes as [SentinelNode, SentinelNode];

    const before = await sharedLoad('before');
    expect(before.every((r) => r.ok && r.value?.pid === a.pid)).toBe(true);
    expect(a.loads('before') + b.loads('before')).toBe(1);

    await master.kill();
    // While the master is gone and not yet replaced, every call still answers, each process loading for itself.
    const during = (await Promise.all([a.run('during', 3, 20), b.run('during', 3, 20)])).flat();
    expect(during.filter((r) => !r.ok)).toEqual([]);

    await promoted(replica);
    // Service resumes once both processes' clients have found the new master.
    await sharingAgain('killed');
    const after = await sharedLoad('after');
    expect(after.every((r) => r.ok && r.value?.pid === a.pid)).toBe(true);
    expect(a.loads('after') + b.loads('after')).toBe(1);

    expectOnlyDocumentedDegrade();
  }, 90_000);

  it('follows a planned SENTINEL FAILOVER, which demotes a live master instead of killing it', async () => {
    const [a, b] = nodes as [SentinelNode, SentinelNode];
    // The killed master comes back empty and is made a replica of the promoted one, as an operator would (the
    // sentinel does it too, but only some 20 s later); the reset makes the sentinel list the master's
    // replicas now rather than at its next periodic INFO.
    await master.restart();
    const returning = new Redis(master.url);
    try {
      await returning.call('REPLICAOF', '127.0.0.1', String(replica.port));
    } finally {
      returning.disconnect();
    }
    await sentinel.client.call('SENTINEL', 'RESET', sentinel.name);
    await replicaReady(master);
    await eventually('the sentinel to accept the failover', async () =>
      (await sentinel.client.call('SENTINEL', 'FAILOVER', sentinel.name)) === 'OK' ? true : undefined,
    );
    const during = (
      await Promise.all([a.run('planned-during', 3, 20), b.run('planned-during', 3, 20)])
    ).flat();
    expect(during.filter((r) => !r.ok)).toEqual([]);
    await promoted(master);
    await sharingAgain('planned');
    const after = await sharedLoad('after-planned');
    expect(after.every((r) => r.ok && r.value?.pid === a.pid)).toBe(true);
    expect(a.loads('after-planned') + b.loads('after-planned')).toBe(1);
    expectOnlyDocumentedDegrade();
  }, 90_000);
});
