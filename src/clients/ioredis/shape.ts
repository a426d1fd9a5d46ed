/**
 * What herdcache uses of an ioredis client, written as structural types rather than imported from ioredis:
 * the classes of ioredis 5 and 6 both fit, and nothing here (or in the emitted declarations) names the
 * package, so an app without ioredis type-checks and runs.
 */

type Listener<A extends unknown[]> = (...args: A) => void;

/** Events of an ioredis connection that herdcache listens to. */
export interface IoredisEvents {
  on(event: 'error', listener: Listener<[Error]>): unknown;
  on(event: 'ready' | 'close' | 'end' | 'moved', listener: Listener<[]>): unknown;
  on(event: 'message' | 'smessage', listener: Listener<[string, string]>): unknown;
  once(event: 'ready' | 'close', listener: Listener<[]>): unknown;
  off(event: string, listener: Listener<never[]>): unknown;
}

/** The commands herdcache sends through ioredis (a `Redis` or a `Cluster`). */
export interface IoredisCommands extends IoredisEvents {
  /** `wait`, `connecting`, `connect`, `ready`, `reconnecting`, `close`, `end`, ... */
  readonly status: string;
  evalsha(...args: [sha: string, numkeys: number, ...args: (string | number)[]]): Promise<unknown>;
  eval(...args: [source: string, numkeys: number, ...args: (string | number)[]]): Promise<unknown>;
  get(key: string): Promise<string | null>;
  mget(...keys: string[]): Promise<(string | null)[]>;
  publish(channel: string, message: string): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(reconnect?: boolean): void;
}

/** An ioredis `Redis` (one connection). */
export interface IoredisConnection extends IoredisCommands {
  readonly options: { host?: string | undefined; port?: number | undefined };
  readonly stream?: { destroy(): void } | undefined;
  info(section: string): Promise<string>;
  subscribe(...channels: string[]): Promise<unknown>;
  ssubscribe(...channels: string[]): Promise<unknown>;
  ping(message: string): Promise<unknown>;
  /** A new connection with this one's options, overridden by `override`. */
  duplicate(override?: object): IoredisConnection;
}

/** An ioredis `Cluster`. */
export interface IoredisCluster extends IoredisCommands {
  readonly isCluster: true;
  readonly options: { redisOptions?: object | undefined };
  /** `slots[slot][0]` is the `host:port` of the slot's master. */
  readonly slots: readonly (readonly string[] | undefined)[];
  refreshSlotsCache(callback: (error?: Error | null) => void): void;
  nodes(role: 'master'): IoredisConnection[];
}

/**
 * An ioredis 5 or 6 client, as the `redis` option accepts it: a `Redis` or a `Cluster`. Only the members
 * that tell it apart are named, so either major's classes fit; herdcache uses more of it (see src/clients).
 */
export interface IoredisClientLike {
  /** `false` on a `Redis`, `true` on a `Cluster`. */
  readonly isCluster: boolean;
  /** The connection status, for example `ready`. */
  readonly status: string;
  evalsha(...args: never[]): unknown;
  duplicate(...args: never[]): unknown;
}

/** Tells an ioredis client from other values (node-redis clients have no `status`, and `evalSha` instead). */
export function isIoredis(value: unknown): value is IoredisClientLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { status?: unknown }).status === 'string' &&
    typeof (value as { evalsha?: unknown }).evalsha === 'function' &&
    typeof (value as { duplicate?: unknown }).duplicate === 'function'
  );
}
