/**
 * What herdcache uses of node-redis (`redis` v5), as structural types: nothing here (or in the emitted
 * declarations) names the package, so an app without node-redis type-checks and runs.
 */

/** node-redis's listener of a (sharded) channel: the message first, then the channel. */
export type NodeRedisListener = (message: string, channel: string) => void;

/** The events of a node-redis client (or cluster) that herdcache listens to. */
export interface NodeRedisEvents {
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
}

/** Socket options, of which herdcache reads the address and copies the rest. */
export interface NodeRedisSocketOptions {
  host?: string | undefined;
  port?: number | undefined;
  reconnectStrategy?: unknown;
}

/** A node-redis client (`createClient()`). */
export interface NodeRedisConnection extends NodeRedisEvents {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  readonly options?: { url?: string | undefined; socket?: NodeRedisSocketOptions | undefined } | undefined;
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  subscribe(channels: string[], listener: NodeRedisListener): Promise<void>;
  sSubscribe(channels: string, listener: NodeRedisListener): Promise<void>;
  close(): Promise<void>;
  destroy(): void;
  duplicate(overrides?: object): NodeRedisConnection;
}

/** One node of a node-redis cluster's view. */
export interface NodeRedisNode {
  readonly address: string;
  readonly host: string;
  readonly port: number;
}

/** A node-redis cluster client (`createCluster()`). */
export interface NodeRedisCluster extends NodeRedisEvents {
  readonly isOpen: boolean;
  readonly masters: readonly NodeRedisNode[];
  readonly _options?: { nodeAddressMap?: unknown } | undefined;
  connect(): Promise<unknown>;
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
  ): Promise<unknown>;
  nodeClient(node: NodeRedisNode): Promise<NodeRedisConnection> | NodeRedisConnection;
  close(): Promise<void>;
  destroy(): void;
}

/**
 * A node-redis client, as the `redis` option accepts it: `createClient()` or `createCluster()` of `redis`
 * v5. Only members that tell it apart are named; herdcache uses more of it (see src/clients/node-redis).
 */
export interface NodeRedisClientLike {
  /** Whether the client is open (connected, or connecting). */
  readonly isOpen: boolean;
  sendCommand(...args: never[]): unknown;
  duplicate(...args: never[]): unknown;
}

/** Tells a node-redis client or cluster from other values. */
export function isNodeRedis(value: unknown): value is NodeRedisClientLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { isOpen?: unknown }).isOpen === 'boolean' &&
    typeof (value as { sendCommand?: unknown }).sendCommand === 'function' &&
    typeof (value as { duplicate?: unknown }).duplicate === 'function'
  );
}

/** Tells a node-redis cluster (it has a view of masters) from a single client. */
export function isNodeRedisCluster(value: NodeRedisClientLike): boolean {
  return Array.isArray((value as { masters?: unknown }).masters);
}
