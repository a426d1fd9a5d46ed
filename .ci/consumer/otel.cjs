// CommonJS app: herdcache/otel and herdcache/prometheus by require, with their optional peers installed.
const assert = require('node:assert/strict');
const { createCache } = require('herdcache');
const { instrumentHerdcache } = require('herdcache/otel');
const { prometheusMetrics } = require('herdcache/prometheus');
const { Registry } = require('prom-client');

(async () => {
  const registry = new Registry();
  const otel = instrumentHerdcache();
  const prometheus = prometheusMetrics({ registry });
  const cache = createCache({ prefix: 'consumer-otel-cjs:' });
  await cache.cached('k', () => 1);
  await cache.cached('k', () => 1);
  const text = await registry.metrics();
  assert.match(
    text,
    /herdcache_lookups_total\{cache="consumer-otel-cjs:",status="hit",tier="local",role="hit"\} 1/,
  );
  await cache.close();
  otel.disable();
  prometheus.disable();
  console.log('otel cjs: herdcache/otel and herdcache/prometheus load by require; one local hit counted');
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
