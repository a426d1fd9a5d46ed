import { Cache } from '../../../src/cache.js';
import type { Lookup } from '../../../src/index.js';
import type { CacheOptions } from '../../../src/options.js';
import { SimNetwork } from '../sim/network.js';
import { between, seeded } from '../sim/random.js';
import { Sim } from '../sim/sim.js';
import { callOptions, startCall } from './calls.js';
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
export async function simulate(
  script: Script,
  model: SimulationModel = DEFAULT_MODEL,
  shape: { readonly many?: boolean } = {},
): Promise<History> {
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

  /** Records what a lookup call returned or threw. */
  const outcome = (call: CallRecord) => ({
    value: (lookup: Lookup<Value>) => {
      call.end = sim.now;
      Object.assign(call, { value: lookup.value, status: lookup.status, tier: lookup.tier });
    },
    error: (error: Error) => {
      call.end = sim.now;
      call.error = { name: error.name, message: error.message };
    },
  });

  /** The lookups of one node at one instant as one `lookupMany` (their keys share one policy). */
  const runMany = (ops: Extract<Op, { kind: 'lookup' }>[]): void => {
    const records = ops.map((op) => {
      const call: CallRecord = { op, start: sim.now };
      calls.push(call);
      return call;
    });
    const first = ops[0] as Extract<Op, { kind: 'lookup' }>;
    const byKey = new Map(ops.map((op) => [op.key, op]));
    // One loader run per key, and the batch ends when the last does: like `cached`'s loader, a batch's values
    // are as old as the moment loadMany resolves, so that is when each of its loads ends.
    const loadMany = (keys: readonly string[], context: { signal: AbortSignal }) => {
      const from = loads.length;
      const running = keys.map((key) => loader(byKey.get(key) ?? first)({ key, signal: context.signal }));
      const batch = loads.slice(from);
      const ended = () => {
        for (const load of batch) load.end = sim.now;
      };
      return Promise.all(running).finally(ended);
    };
    (nodes[first.node] as Cache)
      .lookupMany<Value>(
        ops.map((op) => op.key),
        loadMany,
        callOptions(specOf(script, first.key)),
      )
      .then((outcomes) => {
        outcomes.forEach((result, index) => {
          const record = outcome(records[index] as CallRecord);
          if (result.status === 'fulfilled') record.value(result.value);
          else record.error(result.reason as Error);
        });
      });
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
  for (const batch of batches(script.ops)) {
    sim.at(batch[0]?.at ?? 0, () => {
      const lookups = batch.filter((op): op is Extract<Op, { kind: 'lookup' }> => op.kind === 'lookup');
      if (shape.many && lookups.length > 0) runMany(lookups);
      for (const op of batch) if (!shape.many || op.kind !== 'lookup') run(op);
    });
  }
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
