import { asyncCacheDedupe } from './async-cache-dedupe.js';
import { bentocache } from './bentocache.js';
import { cacheManager } from './cache-manager.js';
import { cacheablePeer } from './cacheable.js';
import { cachifiedPeer } from './cachified.js';
import { herdcache, herdcacheNoEarlyRefresh, herdcacheSwr } from './herdcache.js';
import { noCache } from './none.js';
import type { Peer } from './types.js';

/** Every row of the stampede benchmark, in table order. */
export const PEERS: readonly Peer[] = [
  herdcache,
  herdcacheSwr,
  noCache,
  bentocache,
  cachifiedPeer,
  asyncCacheDedupe,
  cacheManager,
  cacheablePeer,
];

/** Libraries only some scenarios run (not stampede rows). */
const OTHERS: readonly Peer[] = [herdcacheNoEarlyRefresh];

export function peerNamed(name: string): Peer {
  const peer = [...PEERS, ...OTHERS].find((p) => p.name === name);
  if (!peer) throw new Error(`unknown library '${name}'; known: ${PEERS.map((p) => p.name).join(', ')}`);
  return peer;
}
