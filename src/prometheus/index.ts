/**
 * `herdcache/prometheus`: herdcache's metrics in a prom-client registry (`prom-client` is an optional peer
 * dependency), under the same names the OpenTelemetry Prometheus exporter gives `herdcache/otel`'s metrics,
 * so one dashboard serves both.
 *
 * ```ts
 * import { register } from 'prom-client';
 * import { prometheusMetrics } from 'herdcache/prometheus';
 * prometheusMetrics();
 * app.get('/metrics', async (_req, res) => res.type(register.contentType).send(await register.metrics()));
 * ```
 */
import { Counter, Gauge, Histogram, type Registry, register } from 'prom-client';
import { InvalidOptionError } from '../errors.js';
import { Collector, type Series } from '../observability/collector.js';
import { METRICS, type MetricId, SECONDS_BUCKETS } from '../observability/metrics.js';
import { checkOptions } from '../observability/option-checks.js';

/** Options of `prometheusMetrics`. */
export interface PrometheusOptions {
  /**
   * The registry to register the metrics in.
   * @default prom-client's default registry (`register`)
   */
  registry?: Registry;
}

/** Metrics registered in a registry. */
export interface PrometheusMetrics {
  /** Unsubscribes from herdcache's channels and removes the metrics from the registry. */
  disable(): void;
}

/** Sets a counter or gauge to the collector's current series (prom-client calls this before each scrape). */
function show(metric: Counter | Gauge, series: readonly Series[]): void {
  metric.reset();
  for (const { labels, value } of series) {
    if (metric instanceof Counter) metric.inc(labels, value);
    else metric.set(labels, value);
  }
}

/**
 * Registers every herdcache metric (see the README's table) in `registry`, fed by every cache in the
 * process. Throws `InvalidOptionError` for invalid options, and prom-client's error if the registry already
 * holds a metric of the same name (call it once per registry).
 */
export function prometheusMetrics(options?: PrometheusOptions): PrometheusMetrics {
  const record = checkOptions(options, ['registry']);
  const registry = (record.registry ?? register) as Registry;
  if (typeof registry !== 'object' || registry === null || typeof registry.getSingleMetric !== 'function') {
    throw new InvalidOptionError('registry', record.registry, 'a prom-client Registry');
  }
  const histograms = new Map<MetricId, Histogram>();
  const collector = new Collector((id, value, labels) => histograms.get(id)?.observe(labels, value));
  const names: string[] = [];
  for (const [id, metric] of Object.entries(METRICS) as [MetricId, (typeof METRICS)[MetricId]][]) {
    const config = {
      name: metric.prometheus,
      help: `${metric.description} (${metric.unit})`,
      labelNames: ['cache', ...metric.labels],
      registers: [registry],
    };
    if (metric.kind === 'histogram') {
      histograms.set(id, new Histogram({ ...config, buckets: [...SECONDS_BUCKETS] }));
    } else if (metric.kind === 'counter') {
      new Counter({
        ...config,
        collect() {
          show(this, collector.series(id));
        },
      });
    } else {
      new Gauge({
        ...config,
        collect() {
          show(this, collector.series(id));
        },
      });
    }
    names.push(metric.prometheus);
  }
  collector.start();
  return {
    disable() {
      collector.stop();
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}
