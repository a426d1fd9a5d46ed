// CommonJS app: herdcache/fetch from the tarball, around a plain Web Fetch API handler (no framework installed).
const assert = require('node:assert/strict');
const { createCache } = require('herdcache');
const { cacheFetch } = require('herdcache/fetch');

(async () => {
  const cache = createCache({ prefix: 'consumer-fetch-cjs:' });
  let calls = 0;
  const handler = cacheFetch(
    cache,
    async () => {
      calls += 1;
      return new Response('hello', { headers: { 'cache-control': 'max-age=60' } });
    },
    { ttl: 60_000 },
  );
  // The response reaches its client as it streams; it is stored once the whole body is in (`load`).
  const stored = new Promise((resolve) => cache.once('load', resolve));
  const first = await handler(new Request('http://app.test/greeting'));
  assert.equal(await first.text(), 'hello');
  await stored;
  const second = await handler(new Request('http://app.test/greeting'));
  assert.equal(await second.text(), 'hello');
  assert.equal(second.headers.get('x-cache'), 'HIT');
  assert.equal(calls, 1);
  await cache.close();
  console.log('fetch cjs: herdcache/fetch loads; the second request is a HIT, the handler ran once');
})();
