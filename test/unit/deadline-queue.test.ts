import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { DeadlineQueue } from '../../src/core/deadline-queue.js';

/** A clock whose time moves only when told, and whose timers can be made to fire late. */
function manualClock() {
  let now = 0;
  let timers: { at: number; run: () => void }[] = [];
  const pendingIo: (() => void)[] = [];
  const clock: Clock = {
    now: () => now,
    schedule(run, ms) {
      const timer = { at: now + ms, run };
      timers.push(timer);
      return () => {
        timers = timers.filter((t) => t !== timer);
      };
    },
    afterPendingIo: (run) => pendingIo.push(run),
  };
  /** Moves time to `to`; timers due by then fire at `to` (late, if the loop was busy), then pending I/O runs. */
  const jump = (to: number) => {
    now = to;
    for (;;) {
      const due = timers.filter((t) => t.at <= now);
      if (due.length === 0) break;
      timers = timers.filter((t) => t.at > now);
      for (const timer of due) timer.run();
    }
    for (const run of pendingIo.splice(0)) run();
  };
  return { clock, jump, timers: () => timers.length };
}

describe('DeadlineQueue', () => {
  it('expires each deadline once its length has passed, in the order they were set, under one timer', () => {
    const { clock, jump, timers } = manualClock();
    const queue = new DeadlineQueue(clock, 100);
    const expired: string[] = [];
    queue.add(() => expired.push('a'));
    jump(30);
    queue.add(() => expired.push('b'));
    expect(timers()).toBe(1);
    jump(99);
    expect(expired).toEqual([]);
    jump(100);
    expect(expired).toEqual(['a']);
    jump(130);
    expect(expired).toEqual(['a', 'b']);
  });

  it('never expires a settled deadline', () => {
    const { clock, jump } = manualClock();
    const queue = new DeadlineQueue(clock, 100);
    const expired: string[] = [];
    queue.add(() => expired.push('a')).settle();
    queue.add(() => expired.push('b'));
    jump(100);
    expect(expired).toEqual(['b']);
  });

  it('lets go of settled deadlines before they fall due: a busy process holds only the calls in flight', () => {
    const { clock, jump } = manualClock();
    const queue = new DeadlineQueue(clock, 500);
    const expired: string[] = [];
    for (let i = 0; i < 10_000; i++) queue.add(() => expired.push('settled')).settle();
    const slow = queue.add(() => expired.push('slow'));
    for (let i = 0; i < 100; i++) queue.add(() => expired.push('settled')).settle();
    // Settled calls queued behind one in flight wait for it; every other one is gone.
    expect(queue.held).toBe(101);
    slow.settle();
    queue.add(() => expired.push('last'));
    expect(queue.held).toBe(1);
    jump(500);
    expect(expired).toEqual(['last']);
  });

  it('gives calls one more deadline, once, when the timer fired more than half a deadline late', () => {
    const { clock, jump } = manualClock();
    const queue = new DeadlineQueue(clock, 100);
    const expired: string[] = [];
    queue.add(() => expired.push('late'));
    jump(151);
    expect(expired).toEqual([]);
    jump(250);
    expect(expired).toEqual([]);
    // Late again: this time it expires.
    jump(400);
    expect(expired).toEqual(['late']);
  });

  it('judges a deadline only after the I/O that is already waiting: an answer read meanwhile wins', () => {
    const { clock, jump } = manualClock();
    const queue = new DeadlineQueue(clock, 100);
    const expired: string[] = [];
    const deadline = queue.add(() => expired.push('a'));
    clock.afterPendingIo(() => deadline.settle());
    jump(120);
    expect(expired).toEqual([]);
  });
});
