import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { check, describeFailure } from '../support/history/check.js';
import { generate } from '../support/history/generate.js';
import { RedisFleet } from '../support/history/redis-run.js';

/**
 * The randomized history checker against a real redis-server: the simulation's scripts, run by four child
 * processes whose wall clocks are 3 s behind to 3 s ahead, several histories at once, each checked against
 * the contract. Seeds are printed with any failure; `HISTORIES=<n> HISTORY_SEED=<first>` choose them.
 */
const COUNT = Number(process.env.REDIS_HISTORIES ?? 200);
const FIRST = Number(process.env.HISTORY_SEED ?? 1);
const AT_ONCE = 8;
const redisUrl = inject('redisUrl');
let fleet: RedisFleet;

beforeAll(async () => {
  fleet = await RedisFleet.start(redisUrl, [-3_000, -1_000, 1_500, 3_000]);
});
afterAll(async () => {
  await fleet.stop();
});

describe('randomized histories against Redis, across processes with shifted clocks', () => {
  it(`keeps the contract in ${COUNT} histories`, async () => {
    const failures: string[] = [];
    let next = FIRST;
    const runner = async () => {
      while (next < FIRST + COUNT && failures.length < 10) {
        const seed = next++;
        const violations = check(await fleet.run(generate(seed)));
        if (violations.length > 0) {
          failures.push(describeFailure(seed, violations));
        }
      }
    };
    await Promise.all(Array.from({ length: AT_ONCE }, runner));
    expect(failures).toEqual([]);
  }, 900_000);
});
