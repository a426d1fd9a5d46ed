/** Seeded randomness, so every library sees statistically the same request stream. */

/** mulberry32: a tiny, fast 32-bit PRNG; plenty for picking keys. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Picks key indexes 0..n-1 with a Zipf distribution (P(rank r) proportional to 1/r^s): a few hot keys
 * and a long tail, like real traffic. With n = 1 it always returns 0.
 */
export function zipf(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let rank = 1; rank <= n; rank += 1) {
    sum += 1 / rank ** s;
    cdf[rank - 1] = sum;
  }
  for (let i = 0; i < n; i += 1) cdf[i]! /= sum;
  return () => {
    const u = random();
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (cdf[middle]! < u) low = middle + 1;
      else high = middle;
    }
    return low;
  };
}
