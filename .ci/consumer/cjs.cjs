// CommonJS app: both entry points by `require`, one value cached twice in single-process mode (no Redis).
// Reports which build Node picked: the ES module build where require(esm) works, else dist/cjs.
const assert = require('node:assert/strict');
const path = require('node:path');
const { CacheError, createCache } = require('herdcache');
const { cacheResponses } = require('herdcache/express');

async function main() {
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
  assert.equal(typeof CacheError, 'function');
  await cache.close();

  const entry = require.resolve('herdcache');
  const build = path.relative(path.dirname(require.resolve('herdcache/package.json')), entry);
  const expected = process.features.require_module === true ? 'dist/index.js' : 'dist/cjs/index.js';
  assert.equal(build.split(path.sep).join('/'), expected);
  console.log(`cjs: ${JSON.stringify(second)}, ${loads} load, from ${expected}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
