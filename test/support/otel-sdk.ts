/**
 * A real OpenTelemetry SDK (in-memory span and metric exporters) and a real prom-client registry, both fed
 * by herdcache/otel and herdcache/prometheus, read back as plain records for assertions.
 */
import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { type Instrumentation, instrumentHerdcache, type OtelOptions } from '../../src/otel/index.js';
import { type PrometheusMetrics, prometheusMetrics } from '../../src/prometheus/index.js';

/** A finished span, as the tests see it. */
export interface SpanRecord {
  readonly name: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly attributes: Attributes;
  readonly durationMs: number;
  /** 0 unset, 1 ok, 2 error. */
  readonly status: number;
}

/** One data point: a counter's or gauge's value, or a histogram's sum and count. */
export interface PointRecord {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly value: number;
  readonly count?: number;
}

/** The SDK, the registry, and the instrumentations feeding them. */
export interface Observed {
  readonly registry: Registry;
  spans(): SpanRecord[];
  otel(): Promise<PointRecord[]>;
  prometheus(): Promise<PointRecord[]>;
  close(): Promise<void>;
}

export function observe(options: Omit<OtelOptions, 'tracerProvider' | 'meterProvider'> = {}): Observed {
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exports only when asked (forceFlush), never on a timer.
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const registry = new Registry();
  const otel: Instrumentation = instrumentHerdcache({ ...options, tracerProvider, meterProvider });
  const prometheus: PrometheusMetrics = prometheusMetrics({ registry });
  return {
    registry,
    spans: () =>
      spanExporter.getFinishedSpans().map((span) => ({
        name: span.name,
        spanId: span.spanContext().spanId,
        parentSpanId: span.parentSpanContext?.spanId,
        attributes: span.attributes,
        durationMs: span.duration[0] * 1000 + span.duration[1] / 1e6,
        status: span.status.code,
      })),
    async otel() {
      await reader.forceFlush();
      const points: PointRecord[] = [];
      for (const scope of metricExporter.getMetrics().at(-1)?.scopeMetrics ?? []) {
        for (const metric of scope.metrics) {
          for (const point of metric.dataPoints) {
            const attributes = point.attributes as Record<string, string>;
            const name = metric.descriptor.name;
            if (metric.dataPointType === DataPointType.HISTOGRAM) {
              const value = point.value as { count: number; sum?: number };
              points.push({ name, attributes, value: value.sum ?? 0, count: value.count });
            } else {
              points.push({ name, attributes, value: point.value as number });
            }
          }
        }
      }
      return points;
    },
    async prometheus() {
      const points: PointRecord[] = [];
      for (const metric of await registry.getMetricsAsJSON()) {
        for (const value of metric.values) {
          const name = (value as { metricName?: string }).metricName ?? metric.name;
          const attributes = Object.fromEntries(
            Object.entries(value.labels).map(([label, v]) => [label, String(v)]),
          );
          points.push({ name, attributes, value: value.value });
        }
      }
      return points;
    },
    async close() {
      otel.disable();
      prometheus.disable();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

/** The sum of the points of `name` whose attributes include `match`. */
export function total(
  points: readonly PointRecord[],
  name: string,
  match: Record<string, string> = {},
): number {
  return points
    .filter((p) => p.name === name && Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + p.value, 0);
}

/** The observation count of OpenTelemetry histogram `name` over the points whose attributes include `match`. */
export function observations(
  points: readonly PointRecord[],
  name: string,
  match: Record<string, string> = {},
): number {
  return points
    .filter((p) => p.name === name && Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + (p.count ?? 0), 0);
}

/** The spans of one name. */
export function named(spans: readonly SpanRecord[], name: string): SpanRecord[] {
  return spans.filter((span) => span.name === name);
}
