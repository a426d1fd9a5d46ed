/**
 * The bus benchmark's view from Redis's side: a raw ioredis subscriber that hears exactly what an idle
 * node hears on the fleet channel and a pattern subscription over every node's heartbeat channel (Redis's
 * own counters come from bench/lib/redis-probe.ts). Nothing here goes through herdcache, so nothing
 * herdcache does can hide from it.
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
