/**
 * Redis's own view of a benchmark: its CPU time (`INFO cpu`), its command counters (`INFO commandstats`)
 * and its subscriptions, read on a plain connection of their own. Nothing here goes through herdcache, so
 * nothing herdcache does can hide from it.
 */
import { Redis } from 'ioredis';

/** One command's counters in `INFO commandstats`. */
export interface CommandStat {
  readonly calls: number;
  /** Microseconds spent executing it, summed over its calls. */
  readonly usec: number;
}

/** A plain connection for INFO and PUBSUB, which a subscribed connection cannot send. */
export class RedisProbe {
  readonly #redis: Redis;

  constructor(redisUrl: string) {
    this.#redis = new Redis(redisUrl);
    this.#redis.on('error', () => {});
  }

  /** Redis's user + system CPU time so far, in seconds (`INFO cpu`). */
  async cpuSeconds(): Promise<number> {
    const info = await this.#redis.info('cpu');
    const field = (name: string): number => {
      const match = new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info);
      if (!match) throw new Error(`INFO cpu has no ${name}`);
      return Number(match[1]);
    };
    return field('used_cpu_sys') + field('used_cpu_user');
  }

  /** Calls so far per command, scripts' inner calls included (`INFO commandstats`). */
  async commandCalls(): Promise<Map<string, number>> {
    const stats = await this.commandStats();
    return new Map([...stats].map(([name, stat]) => [name, stat.calls]));
  }

  /**
   * Calls and microseconds spent inside each command so far (`INFO commandstats`): time executing, not
   * reading or writing sockets. Scripts' inner calls are counted under their own names as well, so a
   * script's time includes theirs.
   */
  async commandStats(): Promise<Map<string, CommandStat>> {
    const info = await this.#redis.info('commandstats');
    const stats = new Map<string, CommandStat>();
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm))
      stats.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
    return stats;
  }

  /** Subscribers of each channel (`PUBSUB NUMSUB`; pattern subscribers are not counted). */
  async subscribers(channels: readonly string[]): Promise<number[]> {
    if (channels.length === 0) return [];
    const reply = (await this.#redis.call('PUBSUB', 'NUMSUB', ...channels)) as (string | number)[];
    return channels.map((_, i) => Number(reply[i * 2 + 1]));
  }

  /** Channels with at least one subscriber matching `pattern` (`PUBSUB CHANNELS`). */
  async channels(pattern: string): Promise<string[]> {
    return (await this.#redis.call('PUBSUB', 'CHANNELS', pattern)) as string[];
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
