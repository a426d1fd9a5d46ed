// ESM app on a real Redis (REDIS_URL), with the client library installed (CLIENT: ioredis or redis): two
// caches share a value through Redis, first from a URL (herdcache opens the connections with whichever
// library is installed), then with a client the app made and passes in (it stays the app's).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createCache } from 'herdcache';

const url = process.env.REDIS_URL;
const library = process.env.CLIENT;
const require = createRequire(import.meta.url);
const version = require(`${library}/package.json`).version;

async function shared(redis) {
  const prefix = `consumer:${Math.random()}:`;
  const [a, b] = [createCache({ redis, prefix }), createCache({ redis, prefix })];
  for (const cache of [a, b]) cache.on('error', (error) => console.error(error));
  await Promise.all([a.ready(5_000), b.ready(5_000)]);
  assert.equal(await a.cached('k', () => 'from a'), 'from a');
  const read = await b.lookup('k', () => 'from b');
  assert.equal(read.value, 'from a');
  assert.equal(read.tier, 'shared');
  await Promise.all([a.close(), b.close()]);
}

await shared(url);
if (library === 'ioredis') {
  const { Redis } = await import('ioredis');
  const client = new Redis(url);
  await shared(client);
  await client.quit();
} else {
  const { createClient } = await import('redis');
  const client = await createClient({ url }).connect();
  await shared(client);
  await client.close();
}
console.log(`esm on Redis: ${library} ${version}, from a URL and from the app's client`);
