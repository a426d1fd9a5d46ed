// An app with an unreachable Redis: one call, then close(). Prints when close() was called and when it
// resolved (ms since the epoch); .ci/consumer.sh measures when the process has exited.
import { createCache } from 'herdcache';

const cache = createCache({ redis: 'redis://127.0.0.1:1' });
cache.on('error', () => {}); // refused connections are expected here
const value = await cache.cached('answer', async () => 42);
if (value !== 42) throw new Error(`expected 42, got ${value}`);
const closing = Date.now();
await cache.close();
console.log(`close ${closing} ${Date.now()}`);
