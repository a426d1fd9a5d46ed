/**
 * Latency statistics. A run records millions of samples across processes, so samples go into a
 * log-linear histogram (HDR style: 128 sub-buckets per power of two, under 0.8% error) that is cheap to
 * record, small to send over IPC and exact to merge. Values are nanoseconds: a local hit takes well
 * under a microsecond.
 */

const SUB_BITS = 7;
const SUB_COUNT = 2 ** SUB_BITS; // 128
const LINEAR_LIMIT = SUB_COUNT * 2; // values below 256 ns get one bucket each
// 2^40 ns is about 18 minutes: far beyond any latency a run can see.
const MAX_EXPONENT = 40;
const BUCKETS = LINEAR_LIMIT + (MAX_EXPONENT - SUB_BITS - 1) * SUB_COUNT;

function bucketOf(nanos: number): number {
  const v = Math.max(0, Math.min(2 ** MAX_EXPONENT - 1, Math.round(nanos)));
  if (v < LINEAR_LIMIT) return v;
  const msb = Math.floor(Math.log2(v));
  const unit = 2 ** (msb - SUB_BITS);
  // Math.log2 may round up just below a power of two; clamp the sub-bucket into range.
  const sub = Math.min(SUB_COUNT - 1, Math.max(0, Math.floor(v / unit) - SUB_COUNT));
  return LINEAR_LIMIT + (msb - SUB_BITS - 1) * SUB_COUNT + sub;
}

/** The middle of a bucket, in nanoseconds. */
function bucketValue(bucket: number): number {
  if (bucket < LINEAR_LIMIT) return bucket;
  const octave = Math.floor((bucket - LINEAR_LIMIT) / SUB_COUNT);
  const unit = 2 ** (octave + 1);
  return (SUB_COUNT + ((bucket - LINEAR_LIMIT) % SUB_COUNT)) * unit + unit / 2;
}

/** The serialisable form: sparse [bucket, count] pairs plus exact extremes. */
export interface HistogramData {
  readonly counts: readonly (readonly [number, number])[];
  readonly total: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
}

/** Latencies in nanoseconds. */
export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  #total = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;
  #sum = 0;

  record(nanos: number): void {
    this.#counts[bucketOf(nanos)]! += 1;
    this.#total += 1;
    this.#sum += nanos;
    if (nanos < this.#min) this.#min = nanos;
    if (nanos > this.#max) this.#max = nanos;
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
