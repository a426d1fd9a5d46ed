import { describe, expect, it } from 'vitest';
import { check } from '../support/history/check.js';
import type { CallRecord, History, LoadRecord, Op, Script } from '../support/history/model.js';

/**
 * The history checker on hand-made histories: what a Redis stall excuses (a lease that can have lapsed on
 * the server) and what it does not (anything outside the stall's reach, anything in one process, other
 * invariants).
 */
const LEASE = 90;

const script: Script = {
  seed: 0,
  nodes: 2,
  clockOffsets: [0, 0],
  options: {
    leaseTtl: LEASE,
    waitTimeout: 300,
    earlyRefresh: false,
    failSafeBackoff: 0,
    redisTimeout: 60_000,
    sharedOnlyNode: undefined,
  },
  keys: [
    {
      name: 'k0',
      tags: [],
      ttl: 100,
      staleWhileRevalidate: 0,
      staleIfError: 0,
      hardTimeout: 0,
      softTimeout: 0,
    },
  ],
  ops: [],
  maxLoad: 60,
};

const lookup = (node: number, start: number, end: number, id: string): CallRecord => ({
  op: { kind: 'lookup', at: 0, node, key: 'k0', loader: { duration: 50, fail: false } },
  start,
  end,
  value: { key: 'k0', id },
  status: 'miss',
  tier: 'load',
});

const load = (id: string, node: number, start: number, end: number): LoadRecord => ({
  id,
  key: 'k0',
  node,
  start,
  end,
});

function history(parts: Partial<History>): History {
  return {
    script,
    calls: [],
    loads: [],
    takeovers: [],
    heard: [],
    requestBound: 50,
    clockError: 2,
    degraded: false,
    ...parts,
  };
}

/** Node 0 loads k0 over 1001-1050; node 1 loads it too from 1030, inside node 0's lease. */
function overlapping(second: number, redisStalls?: History['redisStalls']): History {
  return history({
    calls: [lookup(0, 1000, 1060, 'L0.1'), lookup(second, 1029, 1080, `L${second}.2`)],
    loads: [load('L0.1', 0, 1001, 1050), load(`L${second}.2`, second, 1030, 1075)],
    ...(redisStalls ? { redisStalls } : {}),
  });
}

const invariants = (h: History) => check(h).map((violation) => violation.invariant);

describe('the history checker and Redis stalls', () => {
  it('reports two nodes loading one key at once while Redis answered in time', () => {
    expect(invariants(overlapping(1))).toEqual(['single flight']);
    expect(invariants(overlapping(1, [{ at: 1025, ms: 12 }]))).toEqual(['single flight']);
  });

  it('excuses the overlap when Redis stalled for a renewal period inside the lease', () => {
    expect(invariants(overlapping(1, [{ at: 1025, ms: 40 }]))).toEqual([]);
    // Stalls reaching back to when the lease may have been taken, or up to the second load's start.
    expect(invariants(overlapping(1, [{ at: 1001 - LEASE, ms: LEASE / 3 }]))).toEqual([]);
    expect(invariants(overlapping(1, [{ at: 1100, ms: 70 }]))).toEqual([]);
  });

  it('reports the overlap when the stall was too short or outside the span it can affect', () => {
    expect(invariants(overlapping(1, [{ at: 1025, ms: LEASE / 3 - 1 }]))).toEqual(['single flight']);
    // Ended before the first lease can have been taken.
    expect(invariants(overlapping(1, [{ at: 1001 - LEASE - 1, ms: 60 }]))).toEqual(['single flight']);
    // Began after the second load had started.
    expect(invariants(overlapping(1, [{ at: 1100, ms: 69 }]))).toEqual(['single flight']);
  });

  it('never excuses one process loading a key twice at once', () => {
    expect(invariants(overlapping(0, [{ at: 1025, ms: 40 }]))).toEqual(['single flight']);
  });

  it('does not excuse other invariants', () => {
    // Node 1 invalidates k0 over 1100-1105, node 0 hears it at 1106 and still serves the older load at 1120.
    const invalidate: Op = { kind: 'invalidate', at: 0, node: 1, key: 'k0' };
    const served = history({
      calls: [
        lookup(0, 1000, 1060, 'L0.1'),
        { op: invalidate, start: 1100, end: 1105 },
        lookup(0, 1120, 1121, 'L0.1'),
      ],
      loads: [load('L0.1', 0, 1001, 1050)],
      heard: [{ node: 0, kind: 'key', name: 'k0', at: 1106 }],
    });
    expect(invariants(served)).toEqual(['invalidation wins']);
    expect(invariants({ ...served, redisStalls: [{ at: 1110, ms: 200 }] })).toEqual(['invalidation wins']);
  });
});
