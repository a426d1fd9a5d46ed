/**
 * The bus benchmark's view from Redis's side: a raw ioredis subscriber that hears exactly what an idle
 * node hears on the fleet channel, a pattern subscription over every node's heartbeat channel, and Redis's
 * own CPU time from `INFO cpu`. Nothing here goes through herdcache, so nothing herdcache does can hide
 * from it.
 */
import { Redis } from 'ioredis';

/** What arrived on the fleet channel since the last reset. */
export interface FleetTraffic {
  readonly messages: number;
  /** Buffer.byteLength(channel) + Buffer.byteLength(message), summed. */
  readonly bytes: number;
  /** Messages (channel not counted) longer than the value-payload threshold: a value rode along. */
  readonly withValue: number;
  /** The longest message seen (its byte count and its first 160 characters), for the report. */
  readonly largest: { readonly bytes: number; readonly sample: string } | undefined;
}

/** Heartbeats heard on the pattern subscription since the last reset. */
export interface BeatTraffic {
  readonly messages: number;
  /** Distinct beat channels heard: one per node that beat. */
  readonly channels: number;
}

/** Counts the fleet channel's messages and, while watching, every node's heartbeats. */
export class BusListener {
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #beatPattern: string;
  readonly #valueThreshold: number;
  #fleet = { messages: 0, bytes: 0, withValue: 0, largest: undefined as FleetTraffic['largest'] };
  #beats = new Map<string, number>();

  /** @param valueThreshold a message (without its channel) longer than this many bytes carries a value. */
  constructor(redisUrl: string, channel: string, beatPattern: string, valueThreshold: number) {
    this.#subscriber = new Redis(redisUrl, { lazyConnect: true });
    this.#subscriber.on('error', () => {});
    this.#channel = channel;
    this.#beatPattern = beatPattern;
    this.#valueThreshold = valueThreshold;
    this.#subscriber.on('message', (from: string, message: string) => {
      if (from !== this.#channel) return;
      const messageBytes = Buffer.byteLength(message);
      const bytes = Buffer.byteLength(from) + messageBytes;
      this.#fleet.messages += 1;
      this.#fleet.bytes += bytes;
      if (messageBytes > this.#valueThreshold) this.#fleet.withValue += 1;
      if (bytes > (this.#fleet.largest?.bytes ?? -1)) {
        this.#fleet.largest = { bytes, sample: message.slice(0, 160) };
      }
    });
    this.#subscriber.on('pmessage', (_pattern: string, from: string) => {
      this.#beats.set(from, (this.#beats.get(from) ?? 0) + 1);
    });
  }

  /** Subscribes to the fleet channel, as every node does. */
  async start(): Promise<void> {
    await this.#subscriber.connect();
    await this.#subscriber.subscribe(this.#channel);
  }

  /**
   * Starts or stops hearing every node's heartbeats. Only on during the idle window: a pattern subscription
   * makes Redis test every PUBLISH against the pattern, which the miss window should not pay for.
   */
  async watchBeats(on: boolean): Promise<void> {
    if (on) await this.#subscriber.psubscribe(this.#beatPattern);
    else await this.#subscriber.punsubscribe(this.#beatPattern);
  }

  reset(): void {
    this.#fleet = { messages: 0, bytes: 0, withValue: 0, largest: undefined };
    this.#beats = new Map();
  }

  fleet(): FleetTraffic {
    return { ...this.#fleet };
  }

  beats(): BeatTraffic {
    let messages = 0;
    for (const count of this.#beats.values()) messages += count;
    return { messages, channels: this.#beats.size };
  }

  async close(): Promise<void> {
    await this.#subscriber.quit().catch(() => this.#subscriber.disconnect());
  }
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
    const info = await this.#redis.info('commandstats');
    const calls = new Map<string, number>();
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
      calls.set(match[1]!, Number(match[2]));
    return calls;
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
