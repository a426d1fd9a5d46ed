/**
 * Time as the core sees it. Freshness on a node is measured on that node's monotonic clock only; no
 * decision ever compares one machine's wall clock with another's (see `ServerClock` for how Redis time is
 * brought onto this clock).
 */
export interface Clock {
  /** Monotonic milliseconds on this node; the origin is arbitrary, only differences mean something. */
  now(): number;
  /** Runs `callback` after `ms` without keeping the process alive; the returned function cancels it. */
  schedule(callback: () => void, ms: number): () => void;
  /**
   * Runs `callback` once the I/O that is already waiting has been processed: a timer that fired late because
   * the event loop was busy must not beat an answer that arrived meanwhile.
   */
  afterPendingIo(callback: () => void): void;
}

/** The process's monotonic clock and timers. `performance` is looked up on each call so fake timers apply. */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  schedule(callback: () => void, ms: number): () => void {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
  // Immediates run after the poll phase of the loop iteration whose timers are firing.
  afterPendingIo: (callback: () => void) => setImmediate(callback),
});

/** Runs `callback` every `ms` on `clock` until the returned function is called. */
export function every(clock: Clock, ms: number, callback: () => void): () => void {
  let cancel: () => void;
  const tick = () => {
    cancel = clock.schedule(tick, ms);
    callback();
  };
  cancel = clock.schedule(tick, ms);
  return () => cancel();
}

/**
 * Where Redis server time sits on this node's clock, learned from one reply: the server read its clock at
 * some instant between sending the request (local `sentAt`) and receiving the reply, so local time is at
 * least `sentAt - serverNow` ahead of server time. Mapping with that lower bound places every server instant
 * too early, never too late: an entry never looks fresher here than it is on Redis. Each reply is converted
 * with its own offset, so Cluster shards with clocks of their own each get theirs.
 */
export function serverOffset(sentAt: number, serverNow: number): number {
  return sentAt - serverNow;
}
