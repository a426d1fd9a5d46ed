/**
 * Latency statistics. A run records millions of samples across processes, so samples go into a
 * log-linear histogram (HDR style: 128 sub-buckets per power of two, under 0.8% error) that is cheap to
 * record, small to send over IPC and exact to merge.
 */

const SUB_BITS = 7;
const SUB_COUNT = 1 << SUB_BITS; // 128
const LINEAR_LIMIT = SUB_COUNT * 2; // values below 256 µs get one bucket each
// 2^31 µs is about 36 minutes: far beyond any latency a run can see.
const BUCKETS = LINEAR_LIMIT + (31 - SUB_BITS - 1) * SUB_COUNT;

function bucketOf(micros: number): number {
  const v = Math.max(0, Math.min(0x7fffffff, Math.round(micros)));
  if (v < LINEAR_LIMIT) return v;
  const msb = 31 - Math.clz32(v);
  const shift = msb - SUB_BITS;
  return LINEAR_LIMIT + (msb - SUB_BITS - 1) * SUB_COUNT + ((v >> shift) - SUB_COUNT);
}

/** The middle of a bucket, in microseconds. */
function bucketValue(bucket: number): number {
  if (bucket < LINEAR_LIMIT) return bucket;
  const octave = Math.floor((bucket - LINEAR_LIMIT) / SUB_COUNT);
  const shift = octave + 1;
  const low = (SUB_COUNT + ((bucket - LINEAR_LIMIT) % SUB_COUNT)) << shift;
  return low + (1 << shift) / 2;
}

/** The serialisable form: sparse [bucket, count] pairs plus exact extremes. */
export interface HistogramData {
  readonly counts: readonly (readonly [number, number])[];
  readonly total: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
}

/** Latencies in microseconds. */
export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  #total = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;
  #sum = 0;

  record(micros: number): void {
    this.#counts[bucketOf(micros)]! += 1;
    this.#total += 1;
    this.#sum += micros;
    if (micros < this.#min) this.#min = micros;
    if (micros > this.#max) this.#max = micros;
  }

  get count(): number {
    return this.#total;
  }

  get max(): number {
    return this.#max;
  }

  get mean(): number {
    return this.#total === 0 ? 0 : this.#sum / this.#total;
  }

  /** The value at quantile q (0..1); the exact maximum for q = 1. */
  percentile(q: number): number {
    if (this.#total === 0) return 0;
    if (q >= 1) return this.#max;
    const rank = Math.ceil(q * this.#total);
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket += 1) {
      seen += this.#counts[bucket]!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, bucketValue(bucket)));
    }
    return this.#max;
  }

  merge(other: HistogramData): void {
    for (const [bucket, count] of other.counts) this.#counts[bucket]! += count;
    this.#total += other.total;
    this.#sum += other.sum;
    if (other.total > 0) {
      this.#min = Math.min(this.#min, other.min);
      this.#max = Math.max(this.#max, other.max);
    }
  }

  toJSON(): HistogramData {
    const counts: [number, number][] = [];
    this.#counts.forEach((count, bucket) => {
      if (count > 0) counts.push([bucket, count]);
    });
    return {
      counts,
      total: this.#total,
      min: this.#total === 0 ? 0 : this.#min,
      max: this.#max,
      sum: this.#sum,
    };
  }

  static from(data: readonly HistogramData[]): Histogram {
    const histogram = new Histogram();
    for (const part of data) histogram.merge(part);
    return histogram;
  }
}

/** The median of a list (mean of the middle two for even lengths); 0 for an empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The exact percentile of a small list of samples (nearest rank). */
export function percentileOf(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}
