import { ConfigurationError } from '../errors.js';
import type { RedisClient } from '../redis/client-port.js';
import { borrowIoredis, type IoredisModule, openIoredis, openIoredisCluster } from './ioredis/open.js';
import type { IoredisCluster, IoredisConnection } from './ioredis/shape.js';
import { isIoredis } from './ioredis/shape.js';
import {
  borrowNodeRedis,
  type NodeRedisModule,
  openNodeRedis,
  openNodeRedisCluster,
} from './node-redis/open.js';
import type { NodeRedisCluster, NodeRedisConnection } from './node-redis/shape.js';
import { isNodeRedis, isNodeRedisCluster } from './node-redis/shape.js';
import { pendingCluster, pendingStandalone } from './pending.js';

/** A client library herdcache can open connections with. */
export type ClientLibrary = 'ioredis' | 'node-redis';

/**
 * Which library opens the connection for a URL: ioredis if installed (what herdcache always used), else
 * node-redis. Only one needs to be installed; both are optional peer dependencies.
 */
export const LIBRARIES: readonly ClientLibrary[] = ['ioredis', 'node-redis'];

/** What the `redis` option named, as a client of the port. */
export interface ResolvedClient {
  readonly client: RedisClient;
  /** Whether herdcache opened it (and so closes it). */
  readonly owned: boolean;
  /** For a client being opened: rejects with a `ConfigurationError` if no client library is installed. */
  readonly opening?: Promise<unknown>;
}

type Loaded =
  | { library: 'ioredis'; module: IoredisModule }
  | { library: 'node-redis'; module: NodeRedisModule };

function missing(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    error instanceof Error &&
    error.message.includes(`'${name}'`)
  );
}

/**
 * Loads the first installed library of `libraries`. `import()` works from both builds: the CommonJS build
 * turns it into a `require` that settles as a promise.
 */
async function load(libraries: readonly ClientLibrary[]): Promise<Loaded> {
  for (const library of libraries) {
    try {
      if (library === 'ioredis') {
        return { library, module: (await import('ioredis')) as unknown as IoredisModule };
      }
      return { library, module: (await import('redis')) as unknown as NodeRedisModule };
    } catch (error) {
      if (!missing(error, library === 'ioredis' ? 'ioredis' : 'redis')) throw error;
    }
  }
  throw new ConfigurationError(
    '`redis` is given as a URL, so herdcache opens the connection itself, with a Redis client library: install one of them (`npm install ioredis` or `npm install redis`). herdcache stays off Redis (single-process mode) until then.',
  );
}

/** Resolves the `redis` option: opens connections for URLs, wraps a client the app made. */
export function resolveClient(
  redis: unknown,
  redisTimeout: number,
  libraries: readonly ClientLibrary[] = LIBRARIES,
): ResolvedClient {
  if (typeof redis === 'string') {
    const opening = load(libraries).then((loaded) =>
      loaded.library === 'ioredis'
        ? openIoredis(loaded.module, redis, redisTimeout)
        : openNodeRedis(loaded.module, redis),
    );
    return { client: pendingStandalone(opening), owned: true, opening };
  }
  const cluster = (redis as { cluster?: unknown }).cluster;
  if (Array.isArray(cluster)) {
    const urls = cluster as string[];
    const opening = load(libraries).then((loaded) =>
      loaded.library === 'ioredis'
        ? openIoredisCluster(loaded.module, urls, redisTimeout)
        : openNodeRedisCluster(loaded.module, urls),
    );
    return { client: pendingCluster(opening), owned: true, opening };
  }
  if (isIoredis(redis)) {
    return {
      client: borrowIoredis(redis as unknown as IoredisConnection | IoredisCluster, redisTimeout),
      owned: false,
    };
  }
  if (isNodeRedis(redis)) {
    return {
      client: borrowNodeRedis(
        redis as unknown as NodeRedisConnection | NodeRedisCluster,
        isNodeRedisCluster(redis),
      ),
      owned: false,
    };
  }
  throw new ConfigurationError(
    '`redis` is neither a URL, a cluster config, an ioredis nor a node-redis client',
  );
}
