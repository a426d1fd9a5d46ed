import { DecodeError } from '../errors.js';
import type { Entry, SharedTier } from '../types.js';
import { idOf, type StoredEntry } from './envelope.js';
import { decodeStored, type NodeState, quietly, toEntry } from './node.js';

/** What a stored text is worth on this node. */
export type Reading =
  /** Nothing stored. */
  | { readonly entry?: undefined; readonly unusable?: undefined }
  /** A usable entry, placed on this node's clock. */
  | { readonly entry: Entry; readonly encoded: string; readonly unusable?: undefined }
  /** An entry of ours that cannot be served here (voided by a tag, undecodable): replace it. */
  | { readonly entry?: undefined; readonly unusable: string };

const NOTHING: Reading = {};

/**
 * Decodes what the shared tier returned and checks it against the tag invalidations this node knows of
 * (reading the stamps of tags it does not know yet). `offset` places server times on this node's clock.
 * With `report` false an undecodable entry reads as unusable without an error event: a later read in the
 * same call reports it, so one call reports it once.
 *
 * Answers at once unless a tag's stamp must be read from Redis first: on the shared-hit path a promise
 * (and its turn of the microtask queue) per read is a cost worth skipping.
 */
export function readStored(
  node: NodeState,
  key: string,
  raw: string | null,
  problem: string | undefined,
  offset: number,
  report = true,
): Reading | Promise<Reading> {
  if (problem !== undefined) node.emit('error', new DecodeError(key, problem));
  if (raw === null) return NOTHING;
  const stored = decodeStored(node, key, raw, report);
  if (stored === undefined) {
    const id = idOf(raw);
    return id === undefined ? NOTHING : { unusable: id };
  }
  if (stored.tags.length > 0) {
    const voided = node.tags.voids(stored.tags, stored.tagStamps);
    if (voided === undefined) {
      return learnTags(node, stored.tags).then(() =>
        // Still unknown: the tag records could not be read, so the entry cannot be vouched for.
        node.tags.voids(stored.tags, stored.tagStamps) === false
          ? usable(node, stored, offset)
          : { unusable: stored.id },
      );
    }
    if (voided) return { unusable: stored.id };
  }
  return usable(node, stored, offset);
}

function usable(node: NodeState, stored: StoredEntry, offset: number): Reading {
  const entry = toEntry(stored, offset, node.clock.now(), node.refreshMargin);
  return { entry, encoded: stored.encoded };
}

/** Reads the stamps of the tags this node does not know yet; failures leave them unknown. */
export async function learnTags(
  node: NodeState,
  tags: readonly string[],
  tier: SharedTier = node.shared,
): Promise<void> {
  const unknown = tags.filter((tag) => node.tags.known(tag) === undefined);
  if (unknown.length === 0) return;
  const stamps = await quietly(node, tier.tagStamps(unknown));
  stamps?.forEach((stamp, index) => {
    // An unreadable record stays unknown: entries carrying it cannot be vouched for until it is repaired.
    if (stamp !== undefined) node.tags.learn(unknown[index] as string, stamp);
  });
}
