import { RedisUnavailableError } from '../errors.js';
import type { AcquireRequest, KeyedAcquire, SharedRead, SharedTier, WriteRequest } from '../types.js';
import type { CommandArg, CommandClient } from './client-port.js';
import type { KeySpace } from './keys.js';
import { ReadBatch } from './read-batch.js';
import {
  ABANDON,
  ACQUIRE,
  ACQUIRE_MANY,
  COMMIT,
  INVALIDATE_TAG,
  type LuaScript,
  READ,
  REMOVE,
  RENEW,
  TOUCH_TAG,
  WRITE,
} from './scripts.js';

type Arg = CommandArg;

/** Keys per batched lease script: a bound on how long one script keeps the server busy. */
const MAX_KEYS_PER_SCRIPT = 100;

/** One key's reply inside ACQUIRE_MANY's: raw or '', role, remaining, holder or failure, problem. */
type KeyReply = [string, SharedRead['role'], number, string, string];

function acquireArgs(request: AcquireRequest): Arg[] {
  return [request.token, request.leaseTtl, request.mode, request.id ?? '', request.refreshMargin ?? ''];
}

function sharedRead([raw, role, remaining, detail, problem]: KeyReply, serverNow: number): SharedRead {
  const read: SharedRead = {
    raw: raw === '' ? null : raw,
    role,
    remaining: Number(remaining),
    serverNow,
  };
  if (role === 'backoff') return { ...read, failure: detail };
  const withHolder = role === 'follower' ? { ...read, holder: detail } : read;
  return problem ? { ...withHolder, problem: wrongType(problem) } : withHolder;
}

/** Request indexes split by script group, in request order, at most MAX_KEYS_PER_SCRIPT each. */
function chunksOf(requests: readonly KeyedAcquire[], groupOf: (key: string) => number): number[][] {
  const open = new Map<number, number[]>();
  const chunks: number[][] = [];
  requests.forEach(({ key }, index) => {
    const group = groupOf(key);
    let chunk = open.get(group);
    if (chunk === undefined || chunk.length >= MAX_KEYS_PER_SCRIPT) {
      chunk = [];
      open.set(group, chunk);
      chunks.push(chunk);
    }
    chunk.push(index);
  });
  return chunks;
}

/** A tag record that is not ours: its stamp is unknown until TOUCH_TAG repairs it. */
const CORRUPT_STAMP = 'corrupt';

function stampOf(value: string | null): number | undefined {
  if (value === null) return 0;
  const stamp = Number(value);
  return Number.isSafeInteger(stamp) && stamp >= 0 ? stamp : undefined;
}

function wrongType(problem: string): string {
  return `a value of the wrong Redis type (${problem}) sits under the key`;
}

function writeArgs(write: WriteRequest): Arg[] {
  return [write.id, write.tail, write.elapsed, write.ttl, write.staleWhileRevalidate, write.staleIfError];
}

/** The shared tier on Redis: entries, leases and tag stamps, changed only through the Lua scripts. */
export class RedisTier implements SharedTier {
  readonly distributed = true;
  readonly #client: CommandClient;
  readonly #keys: KeySpace;
  /** Why this Redis must not be used, once that is known (see `refuse`). */
  #refusal: string | undefined;
  readonly #owned: boolean;
  readonly #connectWait: number;
  /** Resolves at the next `ready` while calls wait for the connection. */
  #connected: Promise<boolean> | undefined;
  /** Every plain read of an entry: one MGET per slot group for the reads of a tick. */
  readonly #reads: ReadBatch;

  /**
   * @param owned whether herdcache opened this connection (and so closes it).
   * @param connectWait how long a command waits for a connection that is still being established.
   */
  constructor(client: CommandClient, keys: KeySpace, owned: boolean, connectWait: number) {
    this.#client = client;
    this.#keys = keys;
    this.#owned = owned;
    this.#connectWait = connectWait;
    this.#reads = new ReadBatch(client);
  }

  /** From now on every call fails with `reason`: the Redis turned out to be unusable as configured. */
  refuse(reason: string): void {
    this.#refusal = reason;
  }

  /**
   * Refuses to send while the connection is down instead of letting the client queue the command for later:
   * a queued lease request that runs after its caller gave up would hold a lease nobody uses. A connection
   * still being set up (a fresh cache) gets a short, bounded wait, which ends at once if the attempt fails
   * (a refused connection is known within a millisecond).
   */
  async #ready(): Promise<void> {
    if (this.#refusal !== undefined) throw new RedisUnavailableError(this.#refusal);
    const state = this.#client.state;
    if (state === 'ready') return;
    if (state !== 'connecting') throw new RedisUnavailableError(`Redis connection is ${state}`);
    // Every caller waits on one `ready` listener: one each would pile up (and trip Node's max-listeners
    // warning) when a burst of calls arrives while the connection is being set up.
    this.#connected ??= new Promise<boolean>((resolve) => {
      const client = this.#client;
      const settle = (up: boolean) => () => {
        client.off('ready', onReady);
        client.off('close', onDown);
        client.off('error', onDown);
        this.#connected = undefined;
        resolve(up);
      };
      const onReady = settle(true);
      const onDown = settle(false);
      client.on('ready', onReady);
      client.on('close', onDown);
      client.on('error', onDown);
    });
    const connected = this.#connected;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new RedisUnavailableError(`Redis connection is ${this.#client.state}`)),
        this.#connectWait,
      );
      timer.unref();
      void connected.then((up) => {
        clearTimeout(timer);
        if (up) resolve();
        else reject(new RedisUnavailableError('Redis connection failed'));
      });
    });
  }

  /** Undefined when a command may go now (the common case, with no promise made), else `#ready()`. */
  #notReady(): Promise<void> | undefined {
    return this.#refusal === undefined && this.#client.state === 'ready' ? undefined : this.#ready();
  }

  async #run(script: LuaScript, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    const notReady = this.#notReady();
    if (notReady !== undefined) await notReady;
    try {
      return await this.#client.evalsha(script.sha, keys, args);
    } catch (error) {
      // After a restart or SCRIPT FLUSH the server has forgotten our scripts: send the source once more.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        await this.#ready();
        return this.#client.eval(script.source, keys, args);
      }
      throw error;
    }
  }

  async acquire(key: string, request: AcquireRequest): Promise<SharedRead> {
    const names = this.#keys.of(key);
    const [raw, role, remaining, serverNow, detail, problem] = (await this.#run(
      ACQUIRE,
      [names.value, names.lease],
      acquireArgs(request),
    )) as [string, SharedRead['role'], number, number, string, string];
    return sharedRead([raw, role, remaining, detail, problem], Number(serverNow));
  }

  async acquireMany(requests: readonly KeyedAcquire[]): Promise<readonly SharedRead[]> {
    // On a single Redis any keys may share a script; on a Cluster only keys of one hash-tag group (one slot).
    const chunks = chunksOf(requests, (key) => (this.#keys.mode === 'classic' ? 0 : this.#keys.group(key)));
    const reads: SharedRead[] = new Array(requests.length);
    await Promise.all(
      chunks.map(async (chunk) => {
        const keys: string[] = [];
        const args: Arg[] = [];
        for (const index of chunk) {
          const { key, request } = requests[index] as KeyedAcquire;
          const names = this.#keys.of(key);
          keys.push(names.value, names.lease);
          args.push(...acquireArgs(request));
        }
        const [serverNow, ...replies] = (await this.#run(ACQUIRE_MANY, keys, args)) as [
          number,
          ...KeyReply[],
        ];
        chunk.forEach((index, position) => {
          reads[index] = sharedRead(replies[position] as KeyReply, Number(serverNow));
        });
      }),
    );
    return reads;
  }

  async commit(
    key: string,
    write: WriteRequest,
    noticeHead: string,
    inlineLimit: number,
  ): Promise<{ stored: boolean; serverNow: number }> {
    const names = this.#keys.of(key);
    const [stored, serverNow] = (await this.#run(
      COMMIT,
      [names.value, names.lease],
      [...writeArgs(write), names.channel, noticeHead, inlineLimit, this.#keys.publishCommand],
    )) as [number, number];
    return { stored: stored === 1, serverNow: Number(serverNow) };
  }

  async abandon(key: string, token: string, backoff: number, notice: string): Promise<boolean> {
    const names = this.#keys.of(key);
    const done = await this.#run(
      ABANDON,
      [names.lease],
      [token, backoff, names.channel, notice, this.#keys.publishCommand],
    );
    return done === 1;
  }

  async renew(key: string, token: string, leaseTtl: number): Promise<boolean> {
    return (await this.#run(RENEW, [this.#keys.lease(key)], [token, leaseTtl])) === 1;
  }

  get(key: string): Promise<string | null | undefined> {
    const notReady = this.#notReady();
    const name = this.#keys.value(key);
    const group = this.clockDomain(key);
    // Without an async function when the connection is up: this is every shared hit's round trip.
    return notReady === undefined
      ? this.#reads.get(name, group)
      : notReady.then(() => this.#reads.get(name, group));
  }

  clockDomain(key: string): number {
    return this.#keys.mode === 'classic' ? 0 : this.#keys.group(key);
  }

  async read(key: string): Promise<{ raw: string | null; serverNow: number; problem?: string }> {
    const [raw, serverNow, problem] = (await this.#run(READ, [this.#keys.value(key)], [])) as [
      string,
      number,
      string,
    ];
    const read = { raw: raw === '' ? null : raw, serverNow: Number(serverNow) };
    return problem ? { ...read, problem: wrongType(problem) } : read;
  }

  async write(key: string, write: WriteRequest, notice: string): Promise<{ serverNow: number }> {
    const names = this.#keys.of(key);
    const serverNow = await this.#run(
      WRITE,
      [names.value, names.lease],
      [...writeArgs(write), names.channel, notice, this.#keys.publishCommand],
    );
    return { serverNow: Number(serverNow) };
  }

  async remove(keys: readonly string[], notice: (key: string) => string): Promise<void> {
    // One script per key: keys of a batch may live in different Cluster slots.
    await Promise.all(
      keys.map((key) => {
        const names = this.#keys.of(key);
        return this.#run(
          REMOVE,
          [names.value, names.lease],
          [names.channel, notice(key), this.#keys.publishCommand],
        );
      }),
    );
  }

  async invalidateTag(tag: string, noticeHead: string, lifetime: number): Promise<number> {
    const names = this.#keys.tagNames(tag);
    return Number(
      await this.#run(
        INVALIDATE_TAG,
        [names.record],
        [names.channel, noticeHead, lifetime, this.#keys.publishCommand],
      ),
    );
  }

  async tagStamps(tags: readonly string[]): Promise<readonly (number | undefined)[]> {
    await this.#ready();
    // One GET per tag, sent together: each record lives in a slot of its own.
    const values = await Promise.all(
      tags.map((tag) =>
        this.#client.get(this.#keys.tag(tag)).catch((error: unknown) => {
          if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return CORRUPT_STAMP;
          throw error;
        }),
      ),
    );
    return values.map(stampOf);
  }

  async touchTags(tags: readonly string[], lifetime: number): Promise<readonly number[]> {
    const stamps = await Promise.all(
      tags.map((tag) => this.#run(TOUCH_TAG, [this.#keys.tag(tag)], [lifetime])),
    );
    return stamps.map(Number);
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#client.quit();
  }
}
