// ESM app: both entry points by `import`, one value cached twice in single-process mode (no Redis).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { CacheError, createCache } from 'herdcache';
import { cacheResponses } from 'herdcache/express';

const cache = createCache();
let loads = 0;
const load = async () => {
  loads += 1;
  return { answer: 42 };
};
const first = await cache.cached('answer', load);
const second = await cache.cached('answer', load);
assert.deepEqual(second, first);
assert.equal(loads, 1);
assert.equal(typeof cacheResponses(cache), 'function');
await cache.close();

// Where Node can require() an ES module, require and import must share one copy of the package.
const required = createRequire(import.meta.url)('herdcache');
assert.equal(required.CacheError === CacheError, process.features.require_module === true);

console.log(`esm: ${JSON.stringify(second)}, ${loads} load`);
