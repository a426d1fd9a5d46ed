/** Runs one library across a fleet of worker processes that start at one instant. */
import { startWorkers, stopAll } from '../lib/workers.js';
import type { Peer, PlainRedisConnection } from '../peers/types.js';
import type { FromStampedeWorker, ToStampedeWorker } from '../workers/stampede-protocol.js';
import { failedRow, type RunParams, type StampedeRow, summarize } from './row.js';

const WORKER = new URL('../workers/stampede-worker.ts', import.meta.url);

/**
 * One row: `params.processes` fresh workers run `peer` from one common instant; loader calls are counted on
 * `redisUrl`, and the caches keep their entries on `cacheRedis` when given (herdcache only), else there too.
 */
export async function runRow(
  peer: Peer,
  params: RunParams,
  redisUrl: string,
  runId: string,
  cacheRedis?: PlainRedisConnection,
): Promise<StampedeRow> {
  const slug = peer.name.replace(/[^a-z0-9]+/gi, '-');
  const namespace = `hcbench:${runId}:${slug}:${params.keys}`;
  const counterKey = `${namespace}:loader-calls`;
  const workers = startWorkers<ToStampedeWorker, FromStampedeWorker>(WORKER, params.processes, peer.name);
  try {
    for (const [index, worker] of workers.entries()) {
      worker.send({
        type: 'init',
        peer: peer.name,
        index,
        redisUrl,
        cacheRedis,
        namespace,
        ttl: params.ttl,
        keys: params.keys,
        zipfS: params.zipfS,
        callers: params.callers,
        durationMs: params.durationMs,
        loaderMs: params.loaderMs,
        loaderJitterMs: params.loaderJitterMs,
        counterKey,
      });
    }
    const ready = await Promise.all(
      workers.map((worker) => worker.receive(['ready', 'failed'], 60_000)),
    ).catch((error: Error) => [
      { type: 'failed' as const, reason: `not ready within 60 s (${error.message})` },
    ]);
    const failed = ready.find((message) => message.type === 'failed');
    if (failed?.type === 'failed') return failedRow(peer.name, `could not start: ${failed.reason}`);

    // Everyone starts at the same instant, a little ahead so the message reaches every worker first.
    const at = Date.now() + 250;
    for (const worker of workers) worker.send({ type: 'start', at });
    const results = await Promise.all(
      workers.map((worker) => worker.receive('result', params.durationMs + 60_000)),
    );
    await stopAll(workers);
    return await summarize(peer.name, results, params, redisUrl, counterKey);
  } catch (error) {
    return failedRow(peer.name, (error as Error).message);
  } finally {
    await stopAll(workers, 1_000);
  }
}
