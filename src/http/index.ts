export { ResponseAbortedError, ResponseStatusError, RevalidationError } from './errors.js';
export { cacheResponses } from './middleware.js';
export { type CacheResponsesOptions, RESPONSE_CACHE_DEFAULTS } from './options.js';
export type { XCacheStatus } from './replay.js';
