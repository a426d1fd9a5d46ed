import type { CallPolicy } from '../options.js';
import type { BatchLoader, Lookup } from '../types.js';
import { AcquireBatch } from './acquire-batch.js';
import { BatchLoads } from './batch-loads.js';
import type { GetOrLoad } from './get-or-load.js';
import type { NodeState } from './node.js';

/**
 * Many keys at once: each key runs the ordinary lookup (local tier, single-flight, lease, leader or
 * follower), so every per-key guarantee holds, while the keys' first lease questions share one round trip
 * per script group and the keys this node leads are loaded by one `loadMany` call.
 */
export class GetOrLoadMany {
  readonly #node: NodeState;
  readonly #engine: GetOrLoad;

  constructor(node: NodeState, engine: GetOrLoad) {
    this.#node = node;
    this.#engine = engine;
  }

  /** Each key's outcome, in the order of `keys` (duplicates answered from one lookup). */
  async lookupMany<T>(
    keys: readonly string[],
    loadMany: BatchLoader<T>,
    policy: CallPolicy,
  ): Promise<PromiseSettledResult<Lookup<T>>[]> {
    const unique = [...new Set(keys)];
    const batch = new AcquireBatch(this.#node.shared);
    const loads = new BatchLoads(loadMany, this.#node.closing);
    // Started in one synchronous pass: every lookup that needs the shared tier asks `batch` before it is sent.
    const lookups = unique.map((key) => {
      const lookup = this.#engine.lookup(key, loads.loaderFor(key), policy, batch);
      const settled = () => loads.settled(key);
      lookup.then(settled, settled);
      return lookup;
    });
    batch.send((replies) => loads.replies(replies));
    const outcomes = await Promise.allSettled(lookups);
    const byKey = new Map(
      unique.map((key, index) => [key, outcomes[index] as PromiseSettledResult<Lookup<T>>]),
    );
    return keys.map((key) => byKey.get(key) as PromiseSettledResult<Lookup<T>>);
  }
}
