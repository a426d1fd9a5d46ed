export { Cache, type CacheStats, createCache } from './cache.js';
export {
  CacheClosedError,
  CacheError,
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
  jsonCodec,
  type LocalTierOptions,
  type SetOptions,
} from './options.js';
export type { Codec, EntryPolicy, Loader, LoaderContext, Lookup } from './types.js';
