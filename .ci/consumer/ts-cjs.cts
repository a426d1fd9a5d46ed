// A TypeScript CommonJS app (module nodenext, strict): type-checked, compiled to require() calls and run.
import assert from 'node:assert/strict';
import { type Cache, CacheError, type CacheOptions, createCache } from 'herdcache';
import { cacheResponses } from 'herdcache/express';

interface Answer {
  answer: number;
}

async function main(): Promise<void> {
  const cache: Cache = createCache({ ttl: 60_000 });
  let loads = 0;
  const load = async (): Promise<Answer> => {
    loads += 1;
    return { answer: 42 };
  };
  const first: Answer = await cache.cached('answer', load);
  const second: Answer = await cache.cached('answer', load);
  assert.deepEqual(second, first);
  assert.equal(loads, 1);
  assert.equal(typeof cacheResponses(cache), 'function');
  await cache.close();
  const closed = await cache.cached('answer', load).catch((error: unknown) => error);
  assert.ok(closed instanceof CacheError);
  console.log(`ts-cjs: ${JSON.stringify(second)}, ${loads} load`);
}

// The types are real, not `any`: a misspelt option does not type-check.
// @ts-expect-error unknown option
export const misspelt: CacheOptions = { tll: 1 };

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
