import { between, chance, pick, seeded } from '../sim/random.js';
import type { KeySpec, Op, Script } from './model.js';

/**
 * A random history for `lookupMany`: five keys under one policy (a batch takes one set of call options),
 * batches of lookups of random keys on random nodes at the same instant (the simulator runs each node's
 * lookups of one instant as one `lookupMany`), racing `invalidate`, `set` and `get` on every node, often
 * aimed at a batch while it loads. Loaders do not fail here: a failing `loadMany` fails the whole batch,
 * which the single-key generator already covers per key.
 */
export function generateMany(seed: number): Script {
  const random = seeded(seed);
  const nodes = between(random, 2, 4);
  const staleIfError = chance(random, 0.3) ? between(random, 50, 150) : 0;
  const policy = {
    tags: [] as string[],
    ttl: between(random, 40, 200),
    staleWhileRevalidate: chance(random, 0.3) ? between(random, 30, 120) : 0,
    staleIfError,
    hardTimeout: chance(random, 0.15) ? between(random, 40, 150) : 0,
    softTimeout: staleIfError > 0 && chance(random, 0.3) ? between(random, 10, 60) : 0,
  };
  const keys: KeySpec[] = ['k0', 'k1', 'k2', 'k3', 'k4'].map((name) => ({ name, ...policy }));
  let maxLoad = 0;
  const ops: Op[] = [];
  const batch = (at: number, node: number) => {
    const size = between(random, 1, 5);
    for (let i = 0; i < size; i += 1) {
      const duration = chance(random, 0.1) ? between(random, 100, 250) : between(random, 0, 60);
      maxLoad = Math.max(maxLoad, duration);
      ops.push({ kind: 'lookup', at, node, key: pick(random, keys).name, loader: { duration, fail: false } });
    }
  };
  const count = between(random, 8, 20);
  for (let i = 0; i < count; i += 1) {
    const at = Math.floor(random() * 500);
    const node = between(random, 0, nodes - 1);
    batch(at, node);
    // Writes aimed inside the batch's load, on any node, then reads after them.
    for (let w = between(random, 0, 2); w > 0; w -= 1) {
      const writeAt = at + between(random, 0, 80);
      const key = pick(random, keys).name;
      const writer = between(random, 0, nodes - 1);
      ops.push({ kind: chance(random, 0.7) ? 'invalidate' : 'set', at: writeAt, node: writer, key });
      batch(writeAt + between(random, 1, 40), between(random, 0, nodes - 1));
    }
    if (chance(random, 0.2)) ops.push({ kind: 'get', at: at + 5, node, key: pick(random, keys).name });
  }
  ops.sort((a, b) => a.at - b.at);
  return {
    seed,
    nodes,
    clockOffsets: Array.from({ length: nodes }, () => between(random, -3_000, 3_000)),
    options: {
      leaseTtl: between(random, 80, 200),
      waitTimeout: between(random, 150, 500),
      earlyRefresh: chance(random, 0.5) ? { margin: between(random, 2, 20) } : false,
      failSafeBackoff: between(random, 0, 100),
      redisTimeout: 60_000,
      sharedOnlyNode: chance(random, 0.25) ? between(random, 0, nodes - 1) : undefined,
    },
    keys,
    ops,
    maxLoad,
  };
}
