import { between, chance, pick, seeded } from '../sim/random.js';
import type { KeySpec, Op, Script } from './model.js';

/** Knobs of the generator; the defaults fit virtual milliseconds. */
export interface Shape {
  /** Operations in one history. */
  readonly ops: readonly [number, number];
  /** Operations start within [0, span). */
  readonly span: number;
  /** Largest offset of a node's clocks, either way. */
  readonly clockSkew: number;
  readonly nodes: readonly [number, number];
}

export const SIMULATED: Shape = {
  ops: [25, 60],
  span: 600,
  clockSkew: 3_000,
  nodes: [3, 4],
};

/** A random history script, the same for the same seed. */
export function generate(seed: number, shape: Shape = SIMULATED): Script {
  const random = seeded(seed);
  const nodes = between(random, shape.nodes[0], shape.nodes[1]);
  const keys: KeySpec[] = [
    ['k0', ['t0']],
    ['k1', ['t0', 't1']],
    ['k2', []],
  ].map(([name, tags]) => {
    const staleIfError = chance(random, 0.3) ? between(random, 50, 150) : 0;
    return {
      name: name as string,
      tags: tags as string[],
      ttl: between(random, 40, 200),
      staleWhileRevalidate: chance(random, 0.3) ? between(random, 30, 120) : 0,
      staleIfError,
      hardTimeout: chance(random, 0.15) ? between(random, 40, 150) : 0,
      softTimeout: staleIfError > 0 && chance(random, 0.3) ? between(random, 10, 60) : 0,
    };
  });
  const options = {
    leaseTtl: between(random, 80, 200),
    waitTimeout: between(random, 150, 500),
    earlyRefresh: chance(random, 0.5) ? ({ margin: between(random, 2, 20) } as const) : (false as const),
    failSafeBackoff: between(random, 0, 100),
    redisTimeout: 60_000,
    sharedOnlyNode: chance(random, 0.25) ? between(random, 0, nodes - 1) : undefined,
  };
  let maxLoad = 0;
  const ops: Op[] = [];
  const lookup = (at: number, node: number, key: string, long = chance(random, 0.1)): Op => {
    const duration = long ? between(random, 100, 250) : between(random, 0, 60);
    maxLoad = Math.max(maxLoad, duration);
    return { kind: 'lookup', at, node, key, loader: { duration, fail: chance(random, 0.1) } };
  };
  const write = (at: number, node: number, key: string): Op => {
    const roll = random();
    if (roll < 0.4) return { kind: 'set', at, node, key };
    if (roll < 0.75) return { kind: 'invalidate', at, node, key };
    const tags = keys.find((spec) => spec.name === key)?.tags ?? [];
    return tags.length > 0
      ? { kind: 'invalidateTag', at, node, tag: pick(random, tags) }
      : { kind: 'invalidate', at, node, key };
  };
  const anyNode = () => between(random, 0, nodes - 1);
  const count = between(random, shape.ops[0], shape.ops[1]);
  while (ops.length < count) {
    const at = Math.floor(random() * shape.span);
    const node = anyNode();
    const key = pick(random, keys).name;
    const scene = random();
    if (scene < 0.15) {
      // Once the key is stored, a write and a read in the same instant on one node, then reads on that node
      // and another.
      const first = lookup(at, node, key, false) as Extract<Op, { kind: 'lookup' }>;
      ops.push(first, lookup(at + 1, anyNode(), key));
      const later = at + first.loader.duration + between(random, 5, 40);
      ops.push(write(later, node, key), lookup(later, node, key));
      ops.push(
        lookup(later + between(random, 10, 40), node, key),
        lookup(later + between(random, 10, 40), anyNode(), key),
      );
    } else if (scene < 0.3) {
      // A load with followers elsewhere, overtaken by a write from a third node as it finishes.
      const first = lookup(at, node, key, false) as Extract<Op, { kind: 'lookup' }>;
      ops.push(first, lookup(at + 1, anyNode(), key), lookup(at + 2, anyNode(), key));
      const end = at + first.loader.duration + between(random, -2, 6);
      ops.push(write(end, anyNode(), key));
      ops.push(
        lookup(end + between(random, 1, 30), anyNode(), key),
        lookup(end + between(random, 1, 30), anyNode(), key),
      );
    } else if (scene < 0.4) {
      // A hot key: many reads around its expiry (early refresh, stale windows, refills).
      const spec = keys.find((candidate) => candidate.name === key) as KeySpec;
      for (let i = 0; i < 8; i += 1) ops.push(lookup(at + Math.floor((i * spec.ttl) / 3), anyNode(), key));
    } else {
      const roll = random();
      if (roll < 0.62) ops.push(lookup(at, node, key));
      else if (roll < 0.72) ops.push({ kind: 'get', at, node, key });
      else ops.push(write(at, node, key));
    }
  }
  ops.sort((a, b) => a.at - b.at);
  return {
    seed,
    nodes,
    clockOffsets: Array.from({ length: nodes }, () => between(random, -shape.clockSkew, shape.clockSkew)),
    options,
    keys,
    ops,
    maxLoad,
  };
}

/** The tags of a key in a script. */
export function tagsOf(script: Script, key: string): readonly string[] {
  return script.keys.find((spec) => spec.name === key)?.tags ?? [];
}

export function specOf(script: Script, key: string): KeySpec {
  const spec = script.keys.find((candidate) => candidate.name === key);
  if (!spec) throw new Error(`no key ${key}`);
  return spec;
}
