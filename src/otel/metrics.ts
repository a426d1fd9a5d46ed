import type { Attributes, Histogram, Meter, ObservableCallback, ObservableResult } from '@opentelemetry/api';
import { Collector, type Labels } from '../observability/collector.js';
import { METRICS, type MetricId, SECONDS_BUCKETS } from '../observability/metrics.js';

/**
 * herdcache's metrics as OpenTelemetry instruments: counters and gauges are observable (read from the
 * collector when the SDK collects, so a local hit costs nothing), histograms are recorded as they happen.
 */
export class MeterBridge {
  readonly #collector: Collector;
  readonly #histograms = new Map<MetricId, Histogram>();
  readonly #undo: (() => void)[] = [];

  constructor(meter: Meter) {
    this.#collector = new Collector((id, value, labels) => this.#histograms.get(id)?.record(value, labels));
    for (const [id, metric] of Object.entries(METRICS) as [MetricId, (typeof METRICS)[MetricId]][]) {
      const options = { unit: metric.unit, description: metric.description };
      if (metric.kind === 'histogram') {
        const advice = { explicitBucketBoundaries: [...SECONDS_BUCKETS] };
        this.#histograms.set(id, meter.createHistogram(metric.name, { ...options, advice }));
        continue;
      }
      const instrument =
        metric.kind === 'counter'
          ? meter.createObservableCounter(metric.name, options)
          : meter.createObservableGauge(metric.name, options);
      const callback: ObservableCallback<Attributes> = (result: ObservableResult<Attributes>) => {
        for (const series of this.#collector.series(id))
          result.observe(series.value, series.labels as Labels);
      };
      instrument.addCallback(callback);
      this.#undo.push(() => instrument.removeCallback(callback));
    }
  }

  start(): void {
    this.#collector.start();
  }

  stop(): void {
    this.#collector.stop();
    for (const undo of this.#undo.splice(0)) undo();
  }
}
