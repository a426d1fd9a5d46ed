import type { Redis } from 'ioredis';
import { RedisUnavailableError } from '../errors.js';
import type { AcquireRequest, SharedRead, SharedTier } from '../types.js';
import type { KeySpace } from './keys.js';
import {
  ABANDON,
  ACQUIRE,
  COMMIT,
  INVALIDATE_TAGS,
  type LuaScript,
  REMOVE,
  RENEW,
  WRITE,
} from './scripts.js';

type Arg = string | number;

/** The shared tier on Redis: entries, leases and tag times, changed only through the Lua scripts. */
export class RedisTier implements SharedTier {
  readonly distributed = true;
  readonly #client: Redis;
  readonly #keys: KeySpace;
  readonly #owned: boolean;
  readonly #connectWait: number;
  /** Resolves at the next `ready` while calls wait for the connection. */
  #connected: Promise<void> | undefined;

  /**
   * @param owned whether herdcache opened this connection (and so closes it).
   * @param connectWait how long a command waits for a connection that is still being established.
   */
  constructor(client: Redis, keys: KeySpace, owned: boolean, connectWait: number) {
    this.#client = client;
    this.#keys = keys;
    this.#owned = owned;
    this.#connectWait = connectWait;
  }

  /**
   * Refuses to send while the connection is down instead of letting ioredis queue the command for later:
   * a queued lease request that runs after its caller gave up would hold a lease nobody uses. A connection
   * still being set up (a fresh cache) gets a short, bounded wait.
   */
  async #ready(): Promise<void> {
    const status = this.#client.status;
    if (status === 'ready') return;
    if (status !== 'wait' && status !== 'connecting' && status !== 'connect') {
      throw new RedisUnavailableError(`Redis connection is ${status}`);
    }
    // Every caller waits on one `ready` listener: one each would pile up (and trip Node's max-listeners
    // warning) when a burst of calls arrives while the connection is being set up.
    this.#connected ??= new Promise<void>((resolve) => {
      this.#client.once('ready', () => {
        this.#connected = undefined;
        resolve();
      });
    });
    const connected = this.#connected;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new RedisUnavailableError(`Redis connection is ${this.#client.status}`)),
        this.#connectWait,
      );
      void connected.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async #run(script: LuaScript, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    await this.#ready();
    try {
      return await this.#client.evalsha(script.sha, script.keys, ...keys, ...args);
    } catch (error) {
      // After a restart or SCRIPT FLUSH the server has forgotten our scripts: send the source once more.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        await this.#ready();
        return this.#client.eval(script.source, script.keys, ...keys, ...args);
      }
      throw error;
    }
  }

  async acquire(key: string, request: AcquireRequest): Promise<SharedRead> {
    const reply = (await this.#run(ACQUIRE, this.#keys.valueAndLease(key), [
      request.now,
      request.token,
      request.leaseTtl,
      request.refreshOf ?? '',
      request.force ? '1' : '0',
    ])) as [string, SharedRead['role'], number, string?];
    const [raw, role, remaining, extra] = reply;
    const read: SharedRead = { raw: raw === '' ? null : raw, role, remaining: Number(remaining) };
    if (role === 'backoff') return { ...read, failure: extra ?? '' };
    if (extra) return { ...read, problem: `a value of the wrong Redis type (${extra}) sits under the key` };
    return read;
  }

  async commit(key: string, token: string, raw: string, ttl: number, notice: string): Promise<boolean> {
    const stored = await this.#run(COMMIT, this.#keys.valueAndLease(key), [
      token,
      raw,
      ttl,
      this.#keys.channel,
      notice,
    ]);
    return stored === 1;
  }

  async abandon(key: string, token: string, backoff: number, notice: string): Promise<void> {
    await this.#run(ABANDON, [this.#keys.lease(key)], [token, backoff, this.#keys.channel, notice]);
  }

  async renew(key: string, token: string, leaseTtl: number): Promise<boolean> {
    return (await this.#run(RENEW, [this.#keys.lease(key)], [token, leaseTtl])) === 1;
  }

  async read(key: string): Promise<string | null> {
    await this.#ready();
    try {
      return await this.#client.get(this.#keys.value(key));
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return null;
      throw error;
    }
  }

  async write(key: string, raw: string, ttl: number, notice: string): Promise<void> {
    await this.#run(WRITE, this.#keys.valueAndLease(key), [raw, ttl, this.#keys.channel, notice]);
  }

  async remove(keys: readonly string[], notice: (key: string) => string): Promise<void> {
    // One script per key: keys of a batch may live in different Cluster slots.
    await Promise.all(
      keys.map((key) => this.#run(REMOVE, this.#keys.valueAndLease(key), [this.#keys.channel, notice(key)])),
    );
  }

  async invalidateTags(tags: readonly string[], at: number, notice: string): Promise<void> {
    await this.#run(INVALIDATE_TAGS, [this.#keys.tagTimes], [at, this.#keys.channel, notice, ...tags]);
  }

  async tagTimes(tags: readonly string[]): Promise<readonly (number | undefined)[]> {
    await this.#ready();
    let values: (string | null)[];
    try {
      values = await this.#client.hmget(this.#keys.tagTimes, ...tags);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return tags.map(() => undefined);
      throw error;
    }
    return values.map((value) => {
      const at = value === null ? Number.NaN : Number(value);
      return Number.isFinite(at) ? at : undefined;
    });
  }

  async close(): Promise<void> {
    if (this.#owned) await closeConnection(this.#client);
  }
}

/** QUIT politely, and cut the connection if Redis does not answer. */
export async function closeConnection(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  const timer = setTimeout(() => cut(client), 500);
  try {
    await client.quit();
  } catch {
    cut(client);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * disconnect() alone ends the socket and waits for the peer to close its side, up to ioredis's
 * disconnectTimeout (2 s): a paused or dead Redis never does, and close() would hang that long.
 */
function cut(client: Redis): void {
  client.disconnect();
  client.stream?.destroy();
}
