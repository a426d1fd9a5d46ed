/**
 * Every metric herdcache exposes, defined once: `herdcache/otel` and `herdcache/prometheus` build their
 * instruments from this list, the README's table documents it, and the Grafana dashboard's test checks
 * its queries against it. Names and units are stable: renaming one breaks dashboards.
 */

/** How a metric accumulates. */
export type MetricKind = 'counter' | 'histogram' | 'gauge';

/** One metric, under its OpenTelemetry name and the name Prometheus shows it by. */
export interface MetricDefinition {
  /** OpenTelemetry instrument name. */
  readonly name: string;
  /**
   * The Prometheus name: what the OpenTelemetry Prometheus exporter derives from `name` and `unit`, and
   * what `herdcache/prometheus` registers, so one dashboard serves both routes.
   */
  readonly prometheus: string;
  readonly kind: MetricKind;
  /** UCUM unit (`s`, `By`, or an annotation in braces for counts). */
  readonly unit: string;
  readonly description: string;
  /** Attribute (label) names besides `cache`, in order. */
  readonly labels: readonly string[];
}

/** Histogram bucket boundaries in seconds: sub-millisecond wake-ups to loads of tens of seconds. */
export const SECONDS_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

function define(
  name: string,
  kind: MetricKind,
  unit: string,
  labels: readonly string[],
  description: string,
): MetricDefinition {
  const base = name.replaceAll('.', '_');
  const suffix = unit === 's' ? '_seconds' : unit === 'By' ? '_bytes' : '';
  const prometheus = `${base}${suffix}${kind === 'counter' ? '_total' : ''}`;
  return { name, prometheus, kind, unit, labels, description };
}

/** The metrics, by a short id used in code. */
export const METRICS = {
  lookups: define(
    'herdcache.lookups',
    'counter',
    '{lookup}',
    ['status', 'tier', 'role'],
    "Calls answered, by how (status: hit, stale, miss, error), from where (tier: local, shared, load, none) and the caller's part (role: hit, leader, follower, stale, none). Fresh local hits are counted without a per-hit cost.",
  ),
  loads: define(
    'herdcache.loads',
    'counter',
    '{load}',
    ['outcome', 'background'],
    'Loader runs in this process, by outcome (stored, not_stored, error) and whether a caller awaited them.',
  ),
  loadDuration: define(
    'herdcache.load.duration',
    'histogram',
    's',
    ['outcome'],
    'How long the loader ran (successful loads; outcome stored or not_stored).',
  ),
  waitDuration: define(
    'herdcache.wait.duration',
    'histogram',
    's',
    ['wake'],
    "How long a follower waited for another node's load, by how the wait ended (loaded, failed, empty, released, invalidated, lost, closed, timeout).",
  ),
  wakeLatency: define(
    'herdcache.wake.latency',
    'histogram',
    's',
    [],
    "From the leader's commit (Redis server time) to a follower waking up on its notice.",
  ),
  staleServes: define(
    'herdcache.stale.serves',
    'counter',
    '{serve}',
    ['reason'],
    'Expired values served on purpose, by reason (revalidate, error, soft-timeout, backoff).',
  ),
  takeovers: define(
    'herdcache.takeovers',
    'counter',
    '{takeover}',
    [],
    'Followers that gave up waiting (waitTimeout) and loaded the value themselves.',
  ),
  leaseLosses: define(
    'herdcache.lease.losses',
    'counter',
    '{loss}',
    [],
    'Loads whose lease was lost while they ran (revoked by an invalidation, or taken over).',
  ),
  breakerOpen: define(
    'herdcache.breaker.open',
    'gauge',
    '{state}',
    [],
    'Circuit breaker: 1 while open (Redis calls stopped), 0 while closed.',
  ),
  breakerTransitions: define(
    'herdcache.breaker.transitions',
    'counter',
    '{transition}',
    ['state'],
    'Circuit breaker state changes, by the state entered (open, closed).',
  ),
  localFlushes: define(
    'herdcache.local.flushes',
    'counter',
    '{flush}',
    ['reason'],
    'Local tier emptied because invalidations may have been lost, by reason.',
  ),
  localEntries: define('herdcache.local.entries', 'gauge', '{entry}', [], 'Entries in the local tier now.'),
  invalidations: define(
    'herdcache.invalidations',
    'counter',
    '{key}',
    ['origin'],
    'Keys invalidated, by this node (origin local) or heard from another (remote).',
  ),
  busMessages: define(
    'herdcache.bus.messages',
    'counter',
    '{message}',
    ['kind'],
    'Messages received on the pub/sub bus, by kind (loaded, failed, invalidated, tag, heartbeat, ..., foreign).',
  ),
  busReceived: define(
    'herdcache.bus.received',
    'counter',
    'By',
    [],
    'Bytes received on the pub/sub bus (UTF-8 payload).',
  ),
  errors: define(
    'herdcache.errors',
    'counter',
    '{error}',
    ['code'],
    'Problems callers did not see (Redis trouble, unreadable data), by error code.',
  ),
} as const;

/** A metric's short id. */
export type MetricId = keyof typeof METRICS;

/** Every metric, in documentation order. */
export const METRIC_LIST: readonly MetricDefinition[] = Object.values(METRICS);
