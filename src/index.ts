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
  type BusMessage,
  type CacheContext,
  CHANNELS,
  type CommitContext,
  type EventMessage,
  type InvalidateContext,
  type LoadContext,
  type LocalHitMessage,
  type LookupContext,
  type WaitContext,
  type WakeKind,
} from './observability/channels.js';
export { METRIC_LIST, type MetricDefinition, type MetricKind } from './observability/metrics.js';
export { type LookupRole, lookupRole } from './observability/role.js';
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
