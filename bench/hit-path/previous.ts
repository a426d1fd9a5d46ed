/**
 * A version of herdcache built at bench time into a temporary directory (never committed): a commit's
 * sources and tsconfigs (`git archive`), or this working tree's, compiled with this checkout's TypeScript
 * against this checkout's node_modules (linked), so every version runs with the same ioredis and lru-cache.
 * Both sides of a comparison must be built alike: sources run through tsx are transpiled differently and
 * were measured 15-20% slower on the shared hit than the same sources compiled by tsc.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type * as Herdcache from '../../src/index.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Files a build needs. */
const SOURCES = ['src', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];

/** A built version: its `createCache`, and how to remove the build. */
export interface VersionBuild {
  /** The abbreviated commit the ref resolved to, or `working tree`. */
  readonly commit: string;
  readonly createCache: typeof Herdcache.createCache;
  remove(): Promise<void>;
}

/** Builds `ref` (a commit, tag or branch of this repository), or with `undefined` this working tree. */
export async function buildVersion(ref: string | undefined): Promise<VersionBuild> {
  const dir = await mkdtemp(join(tmpdir(), 'herdcache-version-'));
  try {
    let commit = 'working tree';
    if (ref === undefined) {
      for (const file of SOURCES) await cp(join(ROOT, file), join(dir, file), { recursive: true });
    } else {
      const { stdout } = await run('git', ['rev-parse', '--short', `${ref}^{commit}`], { cwd: ROOT });
      commit = stdout.trim();
      const archive = join(dir, 'source.tar');
      await run('git', ['archive', '--output', archive, commit, ...SOURCES], { cwd: ROOT });
      await run('tar', ['-xf', archive, '-C', dir]);
    }
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    // Only what the main entry imports: the other entries of an older commit may need dependencies this
    // checkout no longer installs (http-cache-semantics, before the HTTP cache parsed fields itself).
    const config = join(dir, 'tsconfig.bench.json');
    await writeFile(
      config,
      JSON.stringify({ extends: './tsconfig.build.json', files: ['src/index.ts'], include: [] }),
    );
    await run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', config], { cwd: dir });
    const built = (await import(pathToFileURL(join(dir, 'dist', 'index.js')).href)) as typeof Herdcache;
    return {
      commit,
      createCache: built.createCache,
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
