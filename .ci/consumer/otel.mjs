// ESM app: herdcache/otel and herdcache/prometheus from the tarball, with their optional peers installed.
import assert from 'node:assert/strict';
import { metrics } from '@opentelemetry/api';
import { createCache } from 'herdcache';
import { instrumentHerdcache } from 'herdcache/otel';
import { prometheusMetrics } from 'herdcache/prometheus';
import { Registry } from 'prom-client';

const registry = new Registry();
const otel = instrumentHerdcache({ meterProvider: metrics.getMeterProvider() });
const prometheus = prometheusMetrics({ registry });
const cache = createCache({ prefix: 'consumer-otel-esm:' });
await cache.cached('k', () => 1);
await cache.cached('k', () => 1);
const text = await registry.metrics();
assert.match(
  text,
  /herdcache_lookups_total\{cache="consumer-otel-esm:",status="hit",tier="local",role="hit"\} 1/,
);
assert.match(
  text,
  /herdcache_loads_total\{cache="consumer-otel-esm:",outcome="stored",background="false"\} 1/,
);
await cache.close();
otel.disable();
prometheus.disable();
console.log('otel esm: herdcache/otel and herdcache/prometheus load; one load and one local hit counted');
