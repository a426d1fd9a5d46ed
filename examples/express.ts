/**
 * `npx tsx examples/express.ts`: an Express app with a slow route behind `cacheResponses`.
 *
 * Redis: REDIS_URL if set (start this example twice on two ports to see two processes share one load);
 * otherwise the cache runs in-process. Listens on PORT, or 3000. Stop it with Ctrl-C.
 */
import { setTimeout as delay } from 'node:timers/promises';
import express from 'express';
import { createCache } from 'herdcache';
import { cacheResponses } from 'herdcache/express';

const port = Number(process.env.PORT ?? 3000);
const redis = process.env.REDIS_URL;
const cache = createCache({ redis, prefix: 'herdcache-example:' });
cache.on('error', (error) => console.error(`cache: ${error.message}`));

let renders = 0;
const app = express();

// A slow page (one second to "render"), fresh for 10 s, then served stale for up to 30 s while one
// background run refreshes it.
app.get('/products/:id', cacheResponses(cache), async (req, res) => {
  renders += 1;
  await delay(1_000);
  res
    .set('Cache-Control', 'public, max-age=10, stale-while-revalidate=30')
    .json({ id: req.params.id, renderedAt: new Date().toISOString(), render: renders, pid: process.pid });
});

// Successful writes invalidate the cached GET responses of their path on every node.
app.put('/products/:id', cacheResponses(cache), (req, res) => {
  res.json({ updated: req.params.id });
});

// No Cache-Control: the middleware's ttl applies. Cookies make a response uncacheable.
app.get('/greeting', cacheResponses(cache, { ttl: 5_000 }), (req, res) => {
  if (req.query.remember !== undefined) res.cookie('seen', '1');
  res.send(`hello from ${process.pid}\n`);
});

const server = app.listen(port, () => {
  const base = `http://localhost:${port}`;
  console.log(`herdcache Express example on ${base} (${redis ? `Redis ${redis}` : 'in-process cache, no Redis'})

Try:
  # ten concurrent requests for a cold page: one 1 s render, ten identical answers
  seq 10 | xargs -P10 -I{} curl -s ${base}/products/1; echo
  # again: X-Cache: HIT and a growing Age
  curl -si ${base}/products/1 | grep -Ei '^(x-cache|age|etag):'
  # revalidate with the ETag: 304
  curl -si -H "If-None-Match: $(curl -sI ${base}/products/1 | awk -F': ' 'tolower($1)=="etag"{print $2}' | tr -d '\\r')" ${base}/products/1 | head -1
  # invalidate, then the next GET renders again
  curl -s -X PUT ${base}/products/1; curl -si ${base}/products/1 | grep -i '^x-cache:'
  # a response with Set-Cookie is never stored
  curl -si '${base}/greeting?remember' | grep -Ei '^(x-cache|set-cookie):'

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
