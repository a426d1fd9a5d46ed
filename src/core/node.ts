import { randomBytes } from 'node:crypto';
import type { CacheEvents } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import type { Codec, Entry, LocalTier, Lookup, SharedTier } from '../types.js';
import { readEnvelope } from './envelope.js';
import { voidedByTag } from './policy.js';
import type { Waiters } from './waiters.js';

/** The node's event emitter, as the core sees it. */
export type Emit = <E extends keyof CacheEvents>(event: E, ...args: CacheEvents[E]) => void;

/** What the get-or-load flow needs from the node it runs on. */
export interface NodeState {
  readonly id: string;
  readonly options: ResolvedOptions;
  readonly codec: Codec;
  readonly local: LocalTier;
  /** Redis behind deadlines and the breaker, or the in-process lease table without Redis. */
  readonly shared: SharedTier;
  /** The in-process lease table used while Redis is unreachable. */
  readonly fallback: SharedTier;
  readonly waiters: Waiters;
  /** Latest known invalidation time per tag. */
  readonly tagTimes: Map<string, number>;
  /** Bumped on every invalidation this node learns of: a read that started before must not fill the local tier. */
  epoch(): number;
  /** Size of an entry for the local tier's size bound. */
  sizeOf(key: string, encoded: string): number;
  readonly emit: Emit;
  /** Emits `hit` for a local hit, uncounted (the engine counts those itself, on the hot path). */
  readonly emitLocalHit: (key: string, age: number) => void;
  /** Aborted by close(); every loader's signal follows it. */
  readonly closing: AbortSignal;
}

// Unique across processes by the random part, within one by the counter: a lease token is made on every
// shared-tier read, and a fresh random one each time cost a tenth of the read's CPU.
const TOKEN_PREFIX = randomBytes(9).toString('base64url');
let tokenCounter = 0;

/** A fresh lease token; also the id of the entry its holder writes. */
export function newToken(): string {
  tokenCounter += 1;
  return `${TOKEN_PREFIX}${tokenCounter.toString(36)}`;
}

/** The answer for a served entry. */
export function served<T>(
  entry: Entry,
  status: Lookup<T>['status'],
  tier: Lookup<T>['tier'],
  now: number,
): Lookup<T> {
  return { value: entry.value as T, status, tier, age: Math.max(0, now - entry.createdAt) };
}

/** Whether a tag invalidation this node knows of voids the entry. */
export function voidedLocally(node: NodeState, entry: Entry): boolean {
  return entry.tags.some((tag) => voidedByTag(entry, node.tagTimes.get(tag)));
}

/** Asks the shared tier for the tags' invalidation times (another node may have invalidated them). */
export async function voidedInShared(node: NodeState, entry: Entry): Promise<boolean> {
  let times: readonly (number | undefined)[];
  try {
    times = await node.shared.tagTimes(entry.tags);
  } catch (error) {
    node.emit('error', error as Error);
    return false;
  }
  entry.tags.forEach((tag, index) => {
    const at = times[index];
    if (at !== undefined && at > (node.tagTimes.get(tag) ?? 0)) node.tagTimes.set(tag, at);
  });
  return voidedLocally(node, entry);
}

/** Decodes a stored entry; unreadable or tag-voided data is a miss (plus an `error` event when unreadable). */
export async function decodeEntry(node: NodeState, key: string, raw: string): Promise<Entry | undefined> {
  let entry: Entry;
  try {
    entry = readEnvelope(key, raw, node.codec);
  } catch (error) {
    node.emit('error', error as Error);
    return undefined;
  }
  if (entry.tags.length > 0 && (voidedLocally(node, entry) || (await voidedInShared(node, entry)))) {
    return undefined;
  }
  return entry;
}

/** Awaits a side operation whose failure the caller should not see; reports it as an `error` event. */
export async function quietly(node: NodeState, operation: Promise<unknown>): Promise<void> {
  try {
    await operation;
  } catch (error) {
    node.emit('error', error as Error);
  }
}
