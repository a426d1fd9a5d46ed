/**
 * `herdcache/otel`: herdcache's traces and metrics in OpenTelemetry. Needs `@opentelemetry/api` (an optional
 * peer dependency) and an SDK set up by the application, as for any instrumentation.
 *
 * ```ts
 * import { instrumentHerdcache } from 'herdcache/otel';
 * instrumentHerdcache(); // the global tracer and meter providers
 * ```
 */
import { type MeterProvider, metrics, type TracerProvider, trace } from '@opentelemetry/api';
import { InvalidOptionError } from '../errors.js';
import { type KeyMode, keyFormatter } from '../observability/keys.js';
import { booleanOption, checkOptions } from '../observability/option-checks.js';
import { MeterBridge } from './metrics.js';
import { SpanBridge } from './tracing.js';

export type { KeyMode } from '../observability/keys.js';

/** The instrumentation scope name of herdcache's tracer and meter. */
export const SCOPE = 'herdcache';

/** Options of `instrumentHerdcache`. */
export interface OtelOptions {
  /**
   * Where spans go.
   * @default the global tracer provider (`trace.getTracerProvider()`)
   */
  tracerProvider?: TracerProvider;
  /**
   * Where metrics go.
   * @default the global meter provider (`metrics.getMeterProvider()`)
   */
  meterProvider?: MeterProvider;
  /**
   * Spans for lookups that leave the local tier, loads, waits, commits and invalidations.
   * @default true
   */
  traces?: boolean;
  /**
   * The metrics listed in the README (`herdcache.lookups`, `herdcache.loads`, ...).
   * @default true
   */
  metrics?: boolean;
  /**
   * How keys appear in the `herdcache.key` span attribute; keys can hold user data. See `KeyMode`.
   * @default 'hash'
   */
  keys?: KeyMode;
  /**
   * Nests herdcache's spans in one another: a load under the lookup that started it, a commit under its
   * load, a wait under its lookup. This binds an AsyncLocalStorage to the channels; on Node before 24 the
   * first one in a process turns on promise hooks for every promise, which cost a shared hit about half
   * its throughput on the reference machine unless the app already runs one (the OpenTelemetry Node SDK's
   * context manager does). Off: every herdcache span is a child of the caller's active span.
   * @default false
   */
  nestSpans?: boolean;
  /**
   * A span for every fresh local hit too. Off by default: a local hit takes a fraction of a microsecond,
   * a span several; local hits are counted in `herdcache.lookups` either way.
   * @default false
   */
  localHitSpans?: boolean;
}

/** A running instrumentation. */
export interface Instrumentation {
  /** Unsubscribes from every channel and detaches the metric callbacks. */
  disable(): void;
}

const KNOWN = ['tracerProvider', 'meterProvider', 'traces', 'metrics', 'keys', 'nestSpans', 'localHitSpans'];

function provider<T>(name: string, value: unknown, method: string): T | undefined {
  if (value === undefined) return undefined;
  const candidate = value as Record<string, unknown> | null;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate[method] !== 'function') {
    throw new InvalidOptionError(name, value, `an OpenTelemetry ${name} (with ${method}())`);
  }
  return value as T;
}

/**
 * Subscribes to herdcache's diagnostics channels for every cache in the process (created before or after)
 * and reports spans and metrics through OpenTelemetry. Throws `InvalidOptionError` for invalid options.
 */
export function instrumentHerdcache(options?: OtelOptions): Instrumentation {
  const record = checkOptions(options, KNOWN);
  const tracerProvider = provider<TracerProvider>('tracerProvider', record.tracerProvider, 'getTracer');
  const meterProvider = provider<MeterProvider>('meterProvider', record.meterProvider, 'getMeter');
  const traces = booleanOption(record, 'traces', true);
  const withMetrics = booleanOption(record, 'metrics', true);
  const localHitSpans = booleanOption(record, 'localHitSpans', false);
  const nestSpans = booleanOption(record, 'nestSpans', false);
  const formatKey = keyFormatter('keys', record.keys ?? 'hash');
  const spans = traces
    ? new SpanBridge((tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE), formatKey)
    : undefined;
  const meters = withMetrics
    ? new MeterBridge((meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE))
    : undefined;
  spans?.start(localHitSpans, nestSpans);
  meters?.start();
  return {
    disable() {
      spans?.stop();
      meters?.stop();
    },
  };
}
