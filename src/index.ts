export { Cache, type CacheStats, createCache } from './cache.js';
export { jsonCodec } from './codec/json.js';
export { typedJsonCodec } from './codec/typed-json.js';
export {
  BatchResultError,
  CacheClosedError,
  CacheError,
  ConfigurationError,
  DecodeError,
  EncodeError,
  InvalidArgumentError,
  InvalidOptionError,
  LoadTimeoutError,
  RedisUnavailableError,
  RemoteLoadError,
} from './errors.js';
export type { CacheEvents, Tier } from './events.js';
export {
  type BreakerOptions,
  type CacheOptions,
  type CallOptions,
  DEFAULTS,
  type EarlyRefreshOptions,
  type LocalTierOptions,
  type SetOptions,
} from './options.js';
export type {
  IoredisClientLike,
  NodeRedisClientLike,
  RedisClusterConfig,
  RedisConnection,
} from './redis/connect.js';
export type {
  BatchLoader,
  BatchLoaderContext,
  BatchResult,
  Codec,
  EntryPolicy,
  Loader,
  LoaderContext,
  Lookup,
} from './types.js';
