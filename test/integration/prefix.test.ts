import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { appPrefix } from '../../src/app-prefix.js';
import { type Cache, createCache } from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';

const redisUrl = inject('redisUrl');
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A directory holding a package.json named `name` (or none), removed after the test. */
function appDir(name?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'herdcache-app-'));
  if (name !== undefined) writeFileSync(join(dir, 'package.json'), JSON.stringify({ name }));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A cache created as an app started in `dir` would create it: no prefix given. */
function cacheStartedIn(dir: string): Cache {
  const previous = process.cwd();
  process.chdir(dir);
  try {
    const cache = createCache({ redis: redisUrl, heartbeatInterval: 0 });
    cleanup.push(() => cache.close());
    return cache;
  } finally {
    process.chdir(previous);
  }
}

describe('the default prefix', () => {
  it('keeps two apps on one Redis apart, each under its package name', async () => {
    const names = [`app-a-${randomUUID()}`, `@acme/app-b-${randomUUID()}`];
    const [a, b] = names.map((name) => cacheStartedIn(appDir(name))) as [Cache, Cache];
    await Promise.all([a.ready(), b.ready()]);
    expect(await a.cached('user:1', () => ({ app: 'a' }))).toEqual({ app: 'a' });
    const loadB = vi.fn(() => ({ app: 'b' }));
    expect(await b.cached('user:1', loadB)).toEqual({ app: 'b' });
    expect(loadB).toHaveBeenCalledTimes(1);
    const redis = new Redis(redisUrl);
    cleanup.push(() => redis.quit());
    for (const name of names) {
      const [, keys] = await redis.scan(0, 'MATCH', `herdcache:${name}:*`, 'COUNT', 10_000);
      expect(keys.length).toBeGreaterThan(0);
    }
  });

  it('is shared by the processes of one app, wherever below its root they start', async () => {
    const root = appDir(`app-${randomUUID()}`);
    const nested = join(root, 'dist', 'workers');
    mkdirSync(nested, { recursive: true });
    const [first, second] = [cacheStartedIn(root), cacheStartedIn(nested)] as [Cache, Cache];
    await Promise.all([first.ready(), second.ready()]);
    await first.cached('k', () => 'from first');
    const load = vi.fn(() => 'from second');
    expect(await second.cached('k', load)).toBe('from first');
    expect(load).not.toHaveBeenCalled();
  });

  it('falls back to the shared "herdcache:" with a process warning when no package.json names the app', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    cleanup.push(() => process.off('warning', onWarning));
    const unnamed = appDir();
    writeFileSync(join(unnamed, 'package.json'), JSON.stringify({ private: true }));
    expect(appPrefix('herdcache:', unnamed)).toBe('herdcache:');
    expect(appPrefix('herdcache:', appDir())).toBe('herdcache:');
    await vi.waitFor(() => expect(warnings).toHaveLength(1));
    expect(warnings[0]).toMatchObject({ code: 'HERDCACHE_SHARED_PREFIX' });
    expect(warnings[0]?.message).toMatch(/Set the `prefix` option/);
  });

  it('is left alone when given, and not derived without Redis', () => {
    const previous = process.cwd();
    process.chdir(appDir(`app-${randomUUID()}`));
    try {
      expect(resolveOptions({ redis: redisUrl }).prefix).toMatch(/^herdcache:app-.*:$/);
      expect(resolveOptions({ redis: redisUrl, prefix: 'mine:' }).prefix).toBe('mine:');
      expect(resolveOptions({}).prefix).toBe('herdcache:');
    } finally {
      process.chdir(previous);
    }
  });
});
