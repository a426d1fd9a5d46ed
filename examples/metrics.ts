/**
 * `npx tsx examples/metrics.ts`: an Express app whose slow route sits behind `cacheResponses`, with
 * herdcache's metrics on `/metrics` for Prometheus (prom-client's default registry, Node's own metrics
 * beside them). `examples/grafana-dashboard.json` charts them.
 *
 * Redis: REDIS_URL if set (start it twice on two ports, PORT=3001 for the second, to see one process load
 * and the other follow); otherwise the cache runs in-process. Listens on PORT, or 3000. Ctrl-C stops it.
 */
import { setTimeout as delay } from 'node:timers/promises';
import express from 'express';
import { createCache } from 'herdcache';
import { cacheResponses } from 'herdcache/express';
import { prometheusMetrics } from 'herdcache/prometheus';
import { collectDefaultMetrics, register } from 'prom-client';

const port = Number(process.env.PORT ?? 3000);
const redis = process.env.REDIS_URL;

// Before the cache or after it: the metrics see every cache in the process either way.
prometheusMetrics();
collectDefaultMetrics();

const cache = createCache({ redis, prefix: 'herdcache-metrics-example:' });
cache.on('error', (error) => console.error(`cache: ${error.message}`));

const app = express();

// A page that takes 200 ms to render, fresh for 5 s, then served stale for up to 30 s while one refresh runs.
app.get('/products/:id', cacheResponses(cache), async (req, res) => {
  await delay(200);
  res
    .set('Cache-Control', 'public, max-age=5, stale-while-revalidate=30')
    .json({ id: req.params.id, renderedAt: new Date().toISOString(), pid: process.pid });
});

app.get('/metrics', async (_req, res) => {
  res.type(register.contentType).send(await register.metrics());
});

const server = app.listen(port, () => {
  const base = `http://localhost:${port}`;
  console.log(`herdcache metrics example on ${base} (${redis ? `Redis ${redis}` : 'in-process cache, no Redis'})

Try:
  # twenty concurrent requests for a cold page, then a few hits
  seq 20 | xargs -P20 -I{} curl -s -o /dev/null ${base}/products/1; curl -s -o /dev/null ${base}/products/1
  # herdcache's metrics
  curl -s ${base}/metrics | grep '^herdcache_'

Ctrl-C to stop.`);
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  server.closeAllConnections();
  server.close();
  // close() can wait on a subscription to a Redis that never answered; do not let that keep Ctrl-C waiting.
  await Promise.race([cache.close(), delay(2_000)]);
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
