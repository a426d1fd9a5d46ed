import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The default `prefix` with Redis: `herdcache:<package name>:`, from the nearest package.json at or above
 * the working directory, so two apps on one Redis never share keys, leases or invalidations, while the
 * processes of one app (started from its root, as npm scripts, containers and process managers do) do.
 * The working directory rather than the entry script: frameworks start apps through a script in
 * node_modules (`next start`), whose package would name the framework, not the app.
 */
export function appPrefix(base: string, from: string | undefined = workingDirectory()): string {
  const name = from === undefined ? undefined : packageName(from);
  if (name !== undefined) return `${base}${name}:`;
  warnOnce(from ?? 'the working directory (deleted)');
  return base;
}

/** `process.cwd()`, which throws when the directory was deleted under the process. */
function workingDirectory(): string | undefined {
  try {
    return process.cwd();
  } catch {
    return undefined;
  }
}

let warned = false;

function warnOnce(from: string): void {
  if (warned) return;
  warned = true;
  process.emitWarning(
    `herdcache: no package.json with a "name" at or above ${from}, so the default prefix is the shared "herdcache:"; every app on this Redis that also has none shares its keys. Set the \`prefix\` option to one per app.`,
    { code: 'HERDCACHE_SHARED_PREFIX' },
  );
}

/** The `name` of the nearest package.json at or above `from`; undefined if it has none or there is none. */
function packageName(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    let text: string;
    try {
      text = readFileSync(join(dir, 'package.json'), 'utf8');
    } catch {
      if (dirname(dir) === dir) return undefined;
      continue;
    }
    try {
      const name: unknown = (JSON.parse(text) as { name?: unknown }).name;
      return typeof name === 'string' && name !== '' ? name : undefined;
    } catch {
      return undefined;
    }
  }
}
