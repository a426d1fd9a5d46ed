import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisWatch } from '../support/history/redis-watch.js';
import { type SpawnedRedis, spawnRedis } from '../support/redis-server.js';

/**
 * The Redis stall watch of the history harness, against a redis-server of its own (it is paused): a pause
 * of the server is recorded with about its length; this process not reading replies is not.
 */
const now = () => performance.timeOrigin + performance.now();
let redis: SpawnedRedis;
let watch: RedisWatch;

beforeAll(async () => {
  redis = await spawnRedis();
  watch = await RedisWatch.start(redis.url);
});
afterAll(async () => {
  watch.stop();
  await redis.stop();
});

describe('RedisWatch', () => {
  it('records a pause of redis-server, ending when it resumed', async () => {
    const from = now();
    redis.pause();
    // The fault itself: how long the server is kept stopped (long, so a probe sent late into it on a loaded
    // machine still measures well over the bound below).
    await delay(300);
    const resumed = now();
    redis.resume();
    await watch.flush();
    const stalls = watch.stallsSince(from).filter((stall) => stall.ms >= 50);
    expect(stalls).toHaveLength(1);
    const [stall] = stalls as [{ at: number; ms: number }];
    // Measured from the first probe sent into the pause (one may have been just before it) to when Redis
    // ran it, placed on this clock by a calibration of a few probes: a few ms short, never long.
    expect(stall.ms).toBeGreaterThanOrEqual(150);
    expect(stall.at - stall.ms).toBeGreaterThanOrEqual(from - 10);
    expect(stall.at).toBeGreaterThanOrEqual(resumed - 5);
    expect(stall.at).toBeLessThanOrEqual(now());
  });

  it('does not count this process reading replies late', async () => {
    const from = now();
    const answered = watch.flush();
    // This process busy for 100 ms while the probe's reply waits to be read.
    const until = now() + 100;
    while (now() < until);
    await answered;
    expect(watch.stallsSince(from).filter((stall) => stall.ms >= 50)).toEqual([]);
  });
});
