/** Every error herdcache raises itself extends this class; `code` is stable across releases. */
export class CacheError extends Error {
  /** A stable, machine-readable identifier such as `HERDCACHE_INVALID_OPTION`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option passed to `createCache` or to a call was out of range or of the wrong type. */
export class InvalidOptionError extends CacheError {
  /** The option's name, dotted for nested options (`earlyRefresh.beta`). */
  readonly option: string;
  /** The value that was rejected. */
  readonly value: unknown;

  constructor(option: string, value: unknown, expected: string) {
    super(
      'HERDCACHE_INVALID_OPTION',
      `Invalid option "${option}": expected ${expected}, received ${describe(value)}`,
    );
    this.option = option;
    this.value = value;
  }
}

/** A method was called with an argument of the wrong type (a key that is not a string, a missing loader). */
export class InvalidArgumentError extends CacheError {
  /** The argument's name. */
  readonly argument: string;
  /** The value that was rejected. */
  readonly value: unknown;

  constructor(argument: string, value: unknown, expected: string) {
    super(
      'HERDCACHE_INVALID_ARGUMENT',
      `Invalid argument "${argument}": expected ${expected}, received ${describe(value)}`,
    );
    this.argument = argument;
    this.value = value;
  }
}

/** The codec could not encode a loaded value (a class instance, a cycle, a function); nothing was cached. */
export class EncodeError extends CacheError {
  /** The cache key whose value could not be encoded. */
  readonly key: string;

  /** @param source what produced the value: a loader, or a `set`. */
  constructor(key: string, cause: unknown, source: 'loaded' | 'set' = 'loaded') {
    super(
      'HERDCACHE_ENCODE_FAILED',
      `Cannot encode the value ${source} for key ${JSON.stringify(key.slice(0, 200))}: ${messageOf(cause)}`,
      { cause },
    );
    this.key = key;
  }
}

/** Data under our prefix, or a message on our channel, could not be decoded; it was treated as a miss. */
export class DecodeError extends CacheError {
  /** The cache key whose stored entry was unreadable, when there is one. */
  readonly key: string | undefined;

  constructor(key: string | undefined, detail: string, cause?: unknown) {
    super(
      'HERDCACHE_DECODE_FAILED',
      `Unreadable cache data${key === undefined ? '' : ` for key ${JSON.stringify(key.slice(0, 200))}`}: ${detail}`,
      { cause },
    );
    this.key = key;
  }
}

/** The loader ran past `hardTimeout`; its signal was aborted. */
export class LoadTimeoutError extends CacheError {
  /** The cache key being loaded. */
  readonly key: string;
  /** The deadline that passed, in milliseconds. */
  readonly timeout: number;

  constructor(key: string, timeout: number) {
    super(
      'HERDCACHE_LOAD_TIMEOUT',
      `The loader for key ${JSON.stringify(key.slice(0, 200))} ran past hardTimeout (${timeout} ms)`,
    );
    this.key = key;
    this.timeout = timeout;
  }
}

/**
 * The loader failed on another node while this caller waited for it. The original error stays on that node;
 * this one carries its name and message.
 */
export class RemoteLoadError extends CacheError {
  /** The cache key that failed to load. */
  readonly key: string;
  /** `name` of the error thrown by the remote loader. */
  readonly remoteName: string;

  constructor(key: string, remoteName: string, message: string) {
    super('HERDCACHE_REMOTE_LOAD_FAILED', message);
    this.key = key;
    this.remoteName = remoteName;
  }
}

/**
 * `loadMany` gave no usable value for a key it was asked for: its Map has no entry for the key, its array
 * has a different length than the keys it was given, or it returned neither. Only the keys concerned fail.
 */
export class BatchResultError extends CacheError {
  /** The cache key left without a value. */
  readonly key: string;

  constructor(key: string, detail: string) {
    super(
      'HERDCACHE_BATCH_RESULT',
      `loadMany gave no value for key ${JSON.stringify(key.slice(0, 200))}: ${detail}`,
    );
    this.key = key;
  }
}

/** A Redis command missed its deadline, failed, or was not sent because the circuit breaker is open. */
export class RedisUnavailableError extends CacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('HERDCACHE_REDIS_UNAVAILABLE', message, options);
  }
}

/**
 * The Redis herdcache was given cannot be used as configured (for instance a single node of a Redis
 * Cluster given as a plain URL). Emitted once as an `error` event; the cache runs without that Redis.
 */
export class ConfigurationError extends CacheError {
  constructor(message: string) {
    super('HERDCACHE_CONFIGURATION', message);
  }
}

/** The cache was closed; no further calls are accepted. */
export class CacheClosedError extends CacheError {
  constructor() {
    super('HERDCACHE_CLOSED', 'The cache is closed');
  }
}

/** Errors of an outage already announced (by `breakerOpen`): counted, not emitted again for every call. */
const knownOutage = new WeakSet<Error>();

/** Marks `error` as part of an outage already announced; returns it. */
export function duringKnownOutage<E extends Error>(error: E): E {
  knownOutage.add(error);
  return error;
}

/** Whether `error` belongs to an outage already announced. */
export function isDuringKnownOutage(error: Error): boolean {
  return knownOutage.has(error);
}

/** The message of any thrown value, for error texts. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A short description of any value, for error texts. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
