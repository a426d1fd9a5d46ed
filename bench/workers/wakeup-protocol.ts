import type { PlainRedisConnection } from '../peers/types.js';

/** How followers learn that the value is ready. */
export type WakeMode = 'herdcache' | 'poll-50' | 'poll-200';

export type ToWakeupWorker =
  | {
      readonly type: 'init';
      readonly redisUrl: string;
      /** Where the caches live when not on `redisUrl` (a Redis Cluster's node list); pollers stay on redisUrl. */
      readonly cacheRedis?: PlainRedisConnection;
      readonly namespace: string;
      /** Process 0 leads (runs the loader); the others follow. */
      readonly leader: boolean;
      readonly callers: number;
      readonly loaderMs: number;
      /** Followers arrive uniformly in [arriveFromMs, arriveToMs] after the leader starts. */
      readonly arriveFromMs: number;
      readonly arriveToMs: number;
      readonly seed: number;
    }
  | { readonly type: 'round'; readonly mode: WakeMode; readonly key: string; readonly at: number }
  | { readonly type: 'exit' };

export type FromWakeupWorker =
  | { readonly type: 'ready' }
  | {
      readonly type: 'done';
      /** Leader: when its loader returned. Epoch ms with sub-ms precision (performance.timeOrigin + now()). */
      readonly finishedAt?: number;
      /** Followers: when each caller got the value, same clock. */
      readonly returnedAt: readonly number[];
      /** Loader calls in this process (a follower's should stay 0). */
      readonly loaderCalls: number;
      readonly errors: readonly string[];
    };
