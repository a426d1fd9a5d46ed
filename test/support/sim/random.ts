import { seeded } from '../../../bench/lib/random.js';

/** Seeded randomness (the benchmarks' mulberry32): every history replays from its seed. */
export type Random = () => number;

export { seeded };

/** An integer in [min, max]. */
export function between(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

export function chance(random: Random, probability: number): boolean {
  return random() < probability;
}
