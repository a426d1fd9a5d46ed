/** Call durations in 1 ms buckets up to 10 s (the last bucket holds anything longer); mergeable by addition. */
export class Histogram {
  static readonly SIZE = 10_001;
  readonly buckets: number[];

  constructor(buckets: number[] = new Array<number>(Histogram.SIZE).fill(0)) {
    this.buckets = buckets;
  }

  add(ms: number): void {
    const index = Math.min(Histogram.SIZE - 1, Math.max(0, Math.round(ms)));
    this.buckets[index] = (this.buckets[index] ?? 0) + 1;
  }

  merge(other: readonly number[]): void {
    other.forEach((count, index) => {
      this.buckets[index] = (this.buckets[index] ?? 0) + count;
    });
  }

  get count(): number {
    return this.buckets.reduce((sum, n) => sum + n, 0);
  }

  /** The smallest duration (ms) at or below which a fraction `q` of the calls finished. */
  quantile(q: number): number {
    const target = q * this.count;
    let seen = 0;
    for (const [ms, n] of this.buckets.entries()) {
      seen += n;
      if (seen >= target && n > 0) return ms;
    }
    return 0;
  }
}
