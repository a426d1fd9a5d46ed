// CommonJS app on a real Redis (REDIS_URL), with the client library installed (CLIENT: ioredis or redis):
// two caches share a value through Redis, first from a URL (herdcache loads whichever library is installed,
// from its CommonJS build too), then with a client the app made and passes in.
const assert = require('node:assert/strict');
const { createCache } = require('herdcache');

const url = process.env.REDIS_URL;
const library = process.env.CLIENT;
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

async function main() {
  await shared(url);
  if (library === 'ioredis') {
    const { Redis } = require('ioredis');
    const client = new Redis(url);
    await shared(client);
    await client.quit();
  } else {
    const { createClient } = require('redis');
    const client = await createClient({ url }).connect();
    await shared(client);
    await client.close();
  }
  console.log(`cjs on Redis: ${library} ${version}, from a URL and from the app's client`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
