import { Cache } from '../../src/cache.js';
import { MemoryNetwork } from '../../src/memory/memory-network.js';
import type { CacheOptions } from '../../src/options.js';

export { gate } from './gate.js';

/** Several caches in one process sharing an in-memory "Redis": a fleet for unit tests. */
export function memoryFleet(
  size: number,
  options: CacheOptions = {},
): { nodes: Cache[]; network: MemoryNetwork } {
  const network = new MemoryNetwork();
  const nodes = Array.from(
    { length: size },
    () => new Cache({ heartbeatInterval: 0, ...options }, { shared: network.tier(), bus: network.bus() }),
  );
  return { nodes, network };
}

/** Lets queued microtasks and already-due I/O callbacks run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
