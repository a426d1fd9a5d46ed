export { ResponseAbortedError, ResponseStatusError, RevalidationError } from './errors.js';
export { type CacheResponsesOptions, cacheResponses } from './express/middleware.js';
export { RESPONSE_CACHE_DEFAULTS } from './options.js';
export type { XCacheStatus } from './replay.js';
