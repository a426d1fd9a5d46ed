import { randomBytes } from 'node:crypto';
import { EncodeError, RedisUnavailableError } from '../errors.js';
import type { CallPolicy } from '../options.js';
import type { Entry, SharedTier, WriteRequest } from '../types.js';
import { writeTail } from './envelope.js';
import { TAG_RECORD_MARGIN } from './leader.js';
import { encodeMessage, messageHead } from './messages.js';
import { fill, type NodeState, refreshMoment } from './node.js';
import { ttlFor } from './policy.js';

/**
 * `set`, `invalidate` and `invalidateTag`. Each marks what it changes on this node when it starts (so nothing
 * read before can fill the local tier) and again when Redis confirms it, dropping whatever was filled while
 * it was on its way: a read sent just before the write is answered just before it, by a Redis that had not
 * seen it yet. Redis orders the writes themselves: they run in the order they arrive, and each revokes the
 * lease of any load in flight. (Tags need no dropping: a tagged entry is checked against the tag's stamp
 * whenever it is served.)
 */
export class Writes {
  readonly #node: NodeState;

  constructor(node: NodeState) {
    this.#node = node;
  }

  async set(key: string, value: unknown, policy: CallPolicy): Promise<void> {
    const node = this.#node;
    let encoded: string;
    try {
      encoded = node.codec.encode(value);
    } catch (cause) {
      throw new EncodeError(key, cause, 'set');
    }
    const decoded = node.codec.decode(encoded);
    node.generations.bumpKey(key);
    node.local.delete(key);
    let stored: (() => void) | undefined;
    try {
      const tier = node.shared.distributed ? node.shared : node.fallback;
      const ttl = ttlFor(policy, decoded === null, node.options.jitter, Math.random());
      const keep = ttl + Math.max(policy.staleWhileRevalidate, policy.staleIfError);
      // A set is a write, not a load: the stamps it records are the ones Redis holds now. Touching the tag
      // records also keeps them alive as long as this entry.
      const stamps =
        policy.tags.length > 0
          ? await this.#redis(tier.touchTags(policy.tags, keep + TAG_RECORD_MARGIN))
          : [];
      const write: WriteRequest = {
        id: randomBytes(12).toString('base64url'),
        tail: writeTail(0, policy.tags, stamps, encoded),
        elapsed: 0,
        ttl,
        staleWhileRevalidate: policy.staleWhileRevalidate,
        staleIfError: policy.staleIfError,
      };
      const notice = encodeMessage({ kind: 'invalidated', node: node.id, key });
      const stamp = node.generations.stamp();
      const sentAt = node.clock.now();
      // The in-process lease table too: a load this process runs without Redis is overtaken as well.
      if (tier !== node.fallback) await node.fallback.write(key, write, notice);
      await this.#redis(tier.write(key, write, notice));
      // Redis dated the entry when the script ran, which was after `sentAt`: this node's copy expires first.
      stored = () => fill(node, key, this.#entry(write, decoded, policy, stamps, sentAt), encoded, stamp);
    } finally {
      node.local.delete(key);
      stored?.();
      node.generations.bumpKey(key);
    }
  }

  async invalidate(keys: readonly string[]): Promise<void> {
    const node = this.#node;
    for (const key of keys) {
      node.generations.bumpKey(key);
      node.local.delete(key);
    }
    const notice = (key: string) => encodeMessage({ kind: 'invalidated', node: node.id, key });
    try {
      await node.fallback.remove(keys, notice);
      node.emit('invalidate', { keys, origin: 'local' });
      if (node.shared.distributed) await this.#redis(node.shared.remove(keys, notice));
    } finally {
      for (const key of keys) {
        node.local.delete(key);
        node.generations.bumpKey(key);
      }
    }
  }

  async invalidateTags(tags: readonly string[]): Promise<void> {
    const node = this.#node;
    for (const tag of tags) node.tags.beginInvalidation(tag);
    node.emit('invalidateTag', { tags, origin: 'local' });
    const tier: SharedTier = node.shared.distributed ? node.shared : node.fallback;
    const stamps = await Promise.allSettled(
      tags.map((tag) => tier.invalidateTag(tag, messageHead('tag', node.id, '', tag), TAG_RECORD_MARGIN)),
    );
    tags.forEach((tag, index) => {
      const outcome = stamps[index] as PromiseSettledResult<number>;
      node.tags.endInvalidation(tag, outcome.status === 'fulfilled' ? outcome.value : undefined);
    });
    const failed = stamps.find((outcome) => outcome.status === 'rejected');
    if (failed) await this.#redis(Promise.reject(failed.reason));
  }

  /** This node's copy of what `set` stored, dated on this node's clock from when the set was sent. */
  #entry(
    write: WriteRequest,
    value: unknown,
    policy: CallPolicy,
    stamps: readonly number[],
    sentAt: number,
  ): Entry {
    const freshUntil = sentAt + write.ttl;
    return {
      value,
      id: write.id,
      createdAt: sentAt,
      freshUntil,
      staleUntil: freshUntil + policy.staleWhileRevalidate,
      errorUntil: freshUntil + policy.staleIfError,
      refreshAt: refreshMoment(sentAt, freshUntil, 0, this.#node.refreshMargin),
      loadMs: 0,
      tags: policy.tags,
      tagStamps: stamps,
      filledAt: sentAt,
    };
  }

  /** Awaits a Redis write; a failure is an `error` event and a `RedisUnavailableError` for the caller. */
  async #redis<T>(operation: Promise<T>): Promise<T> {
    try {
      return await operation;
    } catch (error) {
      this.#node.emit('error', error as Error);
      throw error instanceof RedisUnavailableError
        ? error
        : new RedisUnavailableError(`Redis write failed: ${(error as Error).message}`, { cause: error });
    }
  }
}
