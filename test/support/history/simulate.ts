import { Cache } from '../../../src/cache.js';
import type { Lookup } from '../../../src/index.js';
import type { CacheOptions } from '../../../src/options.js';
import { SimNetwork } from '../sim/network.js';
import { between, seeded } from '../sim/random.js';
import { Sim } from '../sim/sim.js';
import { startCall } from './calls.js';
import { LoaderFailure } from './check.js';
import { specOf } from './generate.js';
import type { CallRecord, History, LoadRecord, Op, Script, Value } from './model.js';

/** Consecutive ops of one node at one instant, grouped. */
export function batches(ops: readonly Op[]): Op[][] {
  const groups: Op[][] = [];
  for (const op of ops) {
    const last = groups.at(-1)?.[0];
    if (last !== undefined && last.at === op.at && last.node === op.node) groups.at(-1)?.push(op);
    else groups.push([op]);
  }
  return groups;
}

/** How the simulated network misbehaves. */
export interface SimulationModel {
  /** Longest one-way delay of a command, reply or bus message (virtual ms). */
  readonly maxDelay: number;
}

const DEFAULT_MODEL: SimulationModel = { maxDelay: 4 };

/** The options of node `index` in a script (`redis` only marks a node with no local tier as valid). */
export function nodeOptions(script: Script, index: number): CacheOptions {
  const o = script.options;
  return {
    leaseTtl: o.leaseTtl,
    waitTimeout: o.waitTimeout,
    earlyRefresh: o.earlyRefresh,
    failSafeBackoff: o.failSafeBackoff,
    redisTimeout: o.redisTimeout,
    heartbeatInterval: 0,
    ...(o.sharedOnlyNode === index ? { local: false as const, redis: 'redis://simulated' } : {}),
  };
}

/**
 * Runs a script on simulated time: its nodes are real `Cache` instances whose clocks are offset from each
 * other and from the server's, over a network that delays every command, reply and message at random.
 * Deterministic: the same script and model give the same history.
 */
export async function simulate(script: Script, model: SimulationModel = DEFAULT_MODEL): Promise<History> {
  const sim = new Sim();
  const random = seeded(script.seed ^ 0x5bd1e995);
  const network = new SimNetwork(sim, random, {
    maxDelay: model.maxDelay,
    serverOffset: between(random, -3_000, 3_000),
  });
  const calls: CallRecord[] = [];
  const loads: LoadRecord[] = [];
  const takeovers: { key: string; at: number }[] = [];
  let counter = 0;
  const nodes = script.clockOffsets.map((offset, index) => {
    const cache = new Cache(nodeOptions(script, index), {
      shared: network.tier(),
      bus: network.bus(),
      clock: sim.clock(offset),
    });
    cache.on('error', () => {});
    cache.on('takeover', ({ key }) => takeovers.push({ key, at: sim.now }));
    return cache;
  });

  const loader =
    (op: Extract<Op, { kind: 'lookup' }>) =>
    async ({ key, signal }: { key: string; signal: AbortSignal }): Promise<Value> => {
      counter += 1;
      const load: LoadRecord = { id: `L${counter}`, key, node: op.node, start: sim.now };
      loads.push(load);
      await new Promise<void>((resolve, reject) => {
        const cancel = sim.at(sim.now + op.loader.duration, resolve);
        signal.addEventListener('abort', () => {
          cancel();
          reject(signal.reason);
        });
      }).finally(() => {
        load.end = sim.now;
      });
      if (op.loader.fail) {
        load.failed = true;
        throw new LoaderFailure(`${load.id} failed`);
      }
      return { key, id: load.id };
    };

  const run = (op: Op): void => {
    const call: CallRecord & { setId?: string } = { op, start: sim.now };
    if (op.kind === 'set') {
      counter += 1;
      call.setId = `S${counter}`;
    }
    calls.push(call);
    startCall(nodes[op.node] as Cache, op, (key) => specOf(script, key), loader, call.setId ?? '').then(
      (result) => {
        call.end = sim.now;
        if (op.kind === 'lookup') {
          const lookup = result as Lookup<Value>;
          Object.assign(call, { value: lookup.value, status: lookup.status, tier: lookup.tier });
        } else if (op.kind === 'get') call.value = result as Value | undefined;
      },
      (error: Error) => {
        call.end = sim.now;
        call.error = { name: error.name, message: error.message };
      },
    );
  };

  // Calls a node makes in the same instant start in one synchronous run, like `Promise.all([...])`.
  for (const batch of batches(script.ops)) sim.at(batch[0]?.at ?? 0, () => batch.forEach(run));
  await sim.run();
  await Promise.all(nodes.map((cache) => cache.close()));
  await sim.run();
  return {
    script,
    calls,
    loads,
    takeovers,
    deliveryBound: model.maxDelay,
    requestBound: model.maxDelay,
    clockError: 0,
    degraded: false,
  };
}
