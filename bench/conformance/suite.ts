import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/support/redis-server.js';

/**
 * The HTTP caching test suite (cache-tests), run as a tool: found outside the project, copied into a
 * git-ignored scratch folder so the dependency its CLI imports at run time (undici) resolves, its origin
 * server started on loopback, its CLI pointed at the cache under test.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRATCH = join(ROOT, 'bench', 'results', 'conformance');
const LOOPBACK = fileURLToPath(new URL('./loopback.mjs', import.meta.url));

/** Where the suite is read from: `CACHE_TESTS_DIR`, else `../shared/cache-tests` beside the project. */
export function suiteSource(): string {
  return resolve(process.env.CACHE_TESTS_DIR ?? join(ROOT, '..', 'shared', 'cache-tests'));
}

/** A prepared copy of the suite. */
export interface Suite {
  /** The copy's folder, which the CLI and origin server run from. */
  readonly dir: string;
  /** The published results' files, keyed by cache name, from the suite's `results/index.mjs`. */
  readonly published: readonly { readonly name: string; readonly file: string; readonly type: string }[];
}

/**
 * Copies what runs the suite (engine, tests, published results) into the scratch folder, and installs its
 * run-time dependency there (not in the project, not in the suite's own folder) when it is missing.
 * Returns undefined when the suite is absent.
 */
export async function prepareSuite(source: string): Promise<Suite | undefined> {
  if (!existsSync(join(source, 'test-engine', 'cli.mjs'))) return undefined;
  const dir = join(SCRATCH, 'cache-tests');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const part of ['test-engine', 'tests', 'results', 'package.json', 'LICENSE']) {
    if (existsSync(join(source, part))) cpSync(join(source, part), join(dir, part), { recursive: true });
  }
  ensureUndici(JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as PackageJson);
  const index = (await import(join(dir, 'results', 'index.mjs'))) as {
    default: { name: string; file: string; type: string }[];
  };
  return { dir, published: index.default };
}

interface PackageJson {
  readonly dependencies?: Record<string, string>;
}

/** The CLI imports undici for its interim-response tests; installed once into the scratch folder. */
function ensureUndici(suitePackage: PackageJson): void {
  if (existsSync(join(SCRATCH, 'node_modules', 'undici', 'package.json'))) return;
  const range = suitePackage.dependencies?.undici ?? '^7';
  if (!existsSync(join(SCRATCH, 'package.json'))) {
    writeFileSync(join(SCRATCH, 'package.json'), '{ "private": true }\n');
  }
  console.log(`installing undici@${range} into ${SCRATCH} for the suite's CLI`);
  const result = spawnSync(
    'npm',
    ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `undici@${range}`],
    { cwd: SCRATCH, stdio: 'inherit' },
  );
  if (result.status !== 0) {
    console.warn('undici could not be installed: the interim-response tests will fail as harness errors');
  }
}

/** The suite's origin server, on a free loopback port. */
export interface Origin {
  readonly url: URL;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

export async function startOrigin(suite: Suite): Promise<Origin> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--no-warnings', '--import', LOOPBACK, join('test-engine', 'server', 'server.mjs')],
    {
      cwd: suite.dir,
      env: {
        ...process.env,
        npm_config_protocol: 'http',
        npm_config_port: String(port),
        npm_config_pidfile: join(SCRATCH, 'origin.pid'),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const stopOnExit = () => child.kill('SIGKILL');
  process.once('exit', stopOnExit);
  await new Promise<void>((ready, fail) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Listening on')) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        ready();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => fail(new Error(`the suite's origin server exited with ${code}: ${output}`)));
  });
  return {
    url: new URL(`http://127.0.0.1:${port}`),
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
      process.off('exit', stopOnExit);
    },
  };
}

/** One test's outcome as the suite records it: true, or the error's name and message. */
export type Outcome = true | readonly [string, string];

/** Runs the whole suite against `base` (the cache, as a reverse proxy); resolves with the results by test id. */
export async function runSuite(suite: Suite, base: string): Promise<Record<string, Outcome>> {
  const child = spawn(process.execPath, ['--no-warnings', join('test-engine', 'cli.mjs')], {
    cwd: suite.dir,
    env: { ...process.env, ...suiteConfig(base, '') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const [code] = await new Promise<[number | null]>((done) => child.once('exit', (c) => done([c])));
  if (code !== 0) throw new Error(`the suite's CLI exited with ${code}`);
  return JSON.parse(output) as Record<string, Outcome>;
}

/**
 * The CLI's settings, as `npm run cli` would pass them: it falls back from an empty `npm_config_id` to
 * `npm_package_config_id`, so both are set.
 */
export function suiteConfig(base: string, id: string): Record<string, string> {
  return {
    npm_config_base: base,
    npm_package_config_base: base,
    npm_config_id: id,
    npm_package_config_id: id,
  };
}
