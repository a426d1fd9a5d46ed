import { describe, expect, it } from 'vitest';
import { ageSeconds } from '../../src/http/replay.js';
import { storeResponse } from '../../src/http/stored.js';

const finished = (age: string | undefined, responseDelay: number) =>
  storeResponse({
    status: 200,
    headers: { 'content-type': 'text/plain', ...(age === undefined ? {} : { age }) },
    before: {},
    body: Buffer.from('x'),
    vary: [],
    requestHeaders: {},
    now: 0,
    responseDelay,
    lifetime: 60_000,
    mayServeStale: true,
  });

describe('Age of a stored response (RFC 9111 §4.2.3)', () => {
  it("counts the route's own time with the Age it reported (corrected initial age)", () => {
    expect(finished('30', 1_500).initialAge).toBe(31.5);
    expect(finished(undefined, 250).initialAge).toBe(0.25);
  });

  it('so 3 s in the cache after a reported 30 s is more than 33 s, not floored to it', () => {
    expect(ageSeconds(finished('30', 40), 2_990)).toBe(33);
    expect(ageSeconds(finished('30', 0), 2_990)).toBe(32);
  });
});
