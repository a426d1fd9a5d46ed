import { describe, expect, it } from 'vitest';
import { check, describeFailure } from '../support/history/check.js';
import { generate } from '../support/history/generate.js';
import { simulate } from '../support/history/simulate.js';

/**
 * The randomized history checker, in process: thousands of generated histories of concurrent calls on
 * several nodes with gated loaders, failures, random network delays and clocks seconds apart, each run on
 * simulated time and checked against the contract (see `check`). Every failure names its seed; replay one
 * with HISTORY_SEED=<seed> npx vitest run test/consistency/simulated-histories.test.ts
 */
const COUNT = Number(process.env.HISTORIES ?? 3_000);
const FIRST = Number(process.env.HISTORY_SEED ?? 1);
const ONLY = process.env.HISTORY_SEED !== undefined;

describe('randomized histories on simulated time', () => {
  it(`keeps the contract in ${ONLY ? 'one history' : `${COUNT} histories`}`, async () => {
    const failures: string[] = [];
    for (let seed = FIRST; seed < FIRST + (ONLY ? 1 : COUNT); seed += 1) {
      const history = await simulate(generate(seed));
      const violations = check(history);
      if (violations.length > 0) {
        failures.push(describeFailure(seed, violations));
        if (failures.length >= 10) break;
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);
});
