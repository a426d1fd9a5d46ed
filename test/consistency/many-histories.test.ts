import { describe, expect, it } from 'vitest';
import { check, describeFailure } from '../support/history/check.js';
import { generateMany } from '../support/history/generate-many.js';
import { simulate } from '../support/history/simulate.js';

/**
 * The randomized history checker for `lookupMany`: generated histories where each node's lookups of one
 * instant run as one batch, racing invalidations and sets on every node, on simulated time with random
 * network delays and clocks seconds apart. Each key of each batch is judged as its own lookup by the same
 * contract as `cached` (invalidation wins, ttl bounds age, single flight, every call settles). Replay one
 * with MANY_HISTORY_SEED=<seed> npx vitest run test/consistency/many-histories.test.ts
 */
const COUNT = Number(process.env.MANY_HISTORIES ?? 1_000);
const FIRST = Number(process.env.MANY_HISTORY_SEED ?? 1);
const ONLY = process.env.MANY_HISTORY_SEED !== undefined;

describe('randomized lookupMany histories on simulated time', () => {
  it(`keeps the per-key contract in ${ONLY ? 'one history' : `${COUNT} histories`}`, async () => {
    const failures: string[] = [];
    let batched = 0;
    for (let seed = FIRST; seed < FIRST + (ONLY ? 1 : COUNT); seed += 1) {
      const script = generateMany(seed);
      const history = await simulate(script, undefined, { many: true });
      batched += history.calls.filter((call) => call.op.kind === 'lookup').length;
      const violations = check(history);
      if (violations.length > 0) {
        failures.push(describeFailure(seed, violations));
        if (failures.length >= 10) break;
      }
    }
    expect(failures).toEqual([]);
    expect(batched).toBeGreaterThan(0);
  }, 600_000);
});
