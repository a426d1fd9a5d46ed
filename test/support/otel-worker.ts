/**
 * A child process running one cache with herdcache/otel on a real OpenTelemetry SDK (in-memory span and
 * metric exporters) and herdcache/prometheus on a real prom-client registry. The parent
 * (test/integration/observability-fleet.test.ts) drives it over IPC and asks for what both recorded.
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
import { Cache } from '../../src/index.js';
import { instrumentHerdcache } from '../../src/otel/index.js';
import { prometheusMetrics } from '../../src/prometheus/index.js';

/** A finished span, as the test sees it. */
export interface SpanRecord {
  readonly name: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly attributes: Attributes;
  readonly durationMs: number;
}

/** One data point: a counter's or gauge's value, or a histogram's count and sum. */
export interface PointRecord {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly value: number;
  readonly count?: number;
}

export type ObsCommand =
  | { cmd: 'init'; redis: string; prefix: string }
  | { cmd: 'run'; id: number; key: string; callers: number; gated: boolean }
  | { cmd: 'release'; key: string }
  | { cmd: 'collect'; id: number }
  | { cmd: 'close'; id: number };

export type ObsReport =
  | { ev: 'ready' }
  | { ev: 'loaderStart'; key: string }
  | { ev: 'wait'; key: string }
  | { ev: 'result'; id: number; statuses: string[] }
  | { ev: 'collected'; id: number; spans: SpanRecord[]; otel: PointRecord[]; prometheus: PointRecord[] }
  | { ev: 'done'; id: number };

const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
// Exports only when asked (forceFlush), never on a timer.
const reader = new PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 3_600_000,
});
const meterProvider = new MeterProvider({ readers: [reader] });
const registry = new Registry();
instrumentHerdcache({ tracerProvider, meterProvider });
prometheusMetrics({ registry });

let cache: Cache | undefined;
const gates = new Map<string, (() => void)[]>();

function send(report: ObsReport): void {
  process.send?.(report);
}

function loader(gated: boolean) {
  return async ({ key }: { key: string }) => {
    send({ ev: 'loaderStart', key });
    if (gated) await new Promise<void>((resolve) => gates.set(key, [...(gates.get(key) ?? []), resolve]));
    return { key, pid: process.pid };
  };
}

async function otelPoints(): Promise<PointRecord[]> {
  await reader.forceFlush();
  const latest = metricExporter.getMetrics().at(-1);
  const points: PointRecord[] = [];
  for (const scope of latest?.scopeMetrics ?? []) {
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
}

async function promPoints(): Promise<PointRecord[]> {
  const points: PointRecord[] = [];
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const value of metric.values) {
      const name = (value as { metricName?: string }).metricName ?? metric.name;
      const attributes = Object.fromEntries(
        Object.entries(value.labels).map(([label, v]) => [label, String(v)]),
      ) as Record<string, string>;
      points.push({ name, attributes, value: value.value });
    }
  }
  return points;
}

process.on('message', async (command: ObsCommand) => {
  switch (command.cmd) {
    case 'init':
      cache = new Cache({
        redis: command.redis,
        prefix: command.prefix,
        waitTimeout: 10_000,
        leaseTtl: 20_000,
      });
      cache.on('error', () => {});
      cache.on('wait', ({ key }) => send({ ev: 'wait', key }));
      await cache.ready();
      send({ ev: 'ready' });
      return;
    case 'run': {
      const make = loader(command.gated);
      const lookups = await Promise.all(
        Array.from({ length: command.callers }, () => cache!.lookup(command.key, make)),
      );
      send({ ev: 'result', id: command.id, statuses: lookups.map((l) => `${l.status}/${l.tier}`) });
      return;
    }
    case 'release':
      for (const resolve of gates.get(command.key) ?? []) resolve();
      gates.delete(command.key);
      return;
    case 'collect': {
      const finished = spans.getFinishedSpans().map((span) => ({
        name: span.name,
        spanId: span.spanContext().spanId,
        parentSpanId: span.parentSpanContext?.spanId,
        attributes: span.attributes,
        durationMs: span.duration[0] * 1000 + span.duration[1] / 1e6,
      }));
      send({
        ev: 'collected',
        id: command.id,
        spans: finished,
        otel: await otelPoints(),
        prometheus: await promPoints(),
      });
      return;
    }
    case 'close':
      await cache?.close();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
      send({ ev: 'done', id: command.id });
      process.disconnect?.();
      return;
  }
});
