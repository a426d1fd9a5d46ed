import type { Bus } from '../types.js';
import type { ClusterClient, Subscriber } from './client-port.js';
import type { KeySpace } from './keys.js';
import type { OutageReporter } from './outage.js';
import { GROUPS, SLOTS } from './slots.js';

/** How long to wait between attempts to (re)build the subscriptions, doubling up to the cap. */
const REBUILD_DELAY = { first: 50, max: 1_000 } as const;
/** How long every master gets to confirm its subscriptions before an attempt is given up. */
const SUBSCRIBE_DEADLINE = 2_000;
/** The name failed (re)builds are reported under. */
const SUBSCRIPTIONS = 'sharded subscriptions';

/**
 * The bus on sharded pub/sub across a Redis Cluster (Redis 7+): one subscriber connection per master,
 * subscribed (SSUBSCRIBE) to the group channels in that master's slots. A notice is published by the
 * script that changed its key, on the key's shard, and crosses no other shard.
 *
 * Any disturbance (a connection closed, a slot moved away under a subscription, a heartbeat not answered)
 * is reported as "messages may have been lost", and every subscription is rebuilt from the cluster's
 * current view of its slots: topology changes are rare, and one simple path back is easier to trust.
 *
 * Heartbeats are PINGs on each subscriber connection (a subscribed connection answers them in order with its
 * messages): O(1) per node and shard, and they prove each connection, not just one of them, still delivers.
 */
export class ShardedBus implements Bus {
  readonly #cluster: ClusterClient;
  readonly #keys: KeySpace;
  readonly #outage: OutageReporter;
  #shards: Subscriber[] = [];
  #handlers: { onMessage: (message: string) => void; onLost: (reason: string) => void } | undefined;
  #closed = false;
  /** Bumped on each rebuild: events of older connections are ignored. */
  #generation = 0;
  #rebuilding = false;
  /**
   * A disturbance that came while a rebuild was under way (a slot moving away under a channel the rebuild
   * had already confirmed): once that rebuild ends, it is reported and everything rebuilt again.
   */
  #disturbedAgain: string | undefined;

  /** The bus opens its subscriber connections through `cluster`, and owns them. */
  constructor(cluster: ClusterClient, keys: KeySpace, outage: OutageReporter) {
    this.#cluster = cluster;
    this.#keys = keys;
    this.#outage = outage;
  }

  async subscribe(onMessage: (message: string) => void, onLost: (reason: string) => void): Promise<void> {
    this.#handlers = { onMessage, onLost };
    await this.#establish();
  }

  /** Builds the subscriptions, retrying with backoff until they are all confirmed (or the bus closes). */
  async #establish(): Promise<void> {
    let delay: number = REBUILD_DELAY.first;
    for (;;) {
      if (this.#closed) throw new Error('The bus was closed');
      try {
        if (this.#cluster.state !== 'ready') await this.#clusterReady();
        await this.#build(await this.#cluster.slotMasters());
        this.#outage.recovered(SUBSCRIPTIONS);
        return;
      } catch (error) {
        this.#outage.failed(SUBSCRIPTIONS, error as Error);
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
        delay = Math.min(delay * 2, REBUILD_DELAY.max);
      }
    }
  }

  /** Resolves at the cluster client's next `ready`. */
  #clusterReady(): Promise<void> {
    return new Promise((resolve) => {
      const onReady = () => {
        this.#cluster.off('ready', onReady);
        resolve();
      };
      this.#cluster.on('ready', onReady);
    });
  }

  /** Which master serves each group's channel, from the cluster's slot table. */
  #owners(masterOf: (slot: number) => string | undefined): Map<string, string[]> {
    const owners = new Map<string, string[]>();
    for (let group = 0; group < GROUPS; group++) {
      const owner = masterOf(group * (SLOTS / GROUPS));
      if (owner === undefined) throw new Error('the cluster has not reported who serves every slot yet');
      const channels = owners.get(owner) ?? [];
      channels.push(this.#keys.groupChannel(group));
      owners.set(owner, channels);
    }
    return owners;
  }

  async #build(masterOf: (slot: number) => string | undefined): Promise<void> {
    if (this.#closed) throw new Error('The bus was closed');
    const generation = this.#generation;
    const owners = this.#owners(masterOf);
    const channelLists = [...owners.values()];
    // Each connection never redials on its own: the slot may have moved; the bus rebuilds from the new topology.
    const opened = await Promise.allSettled(
      [...owners.keys()].map((owner) => this.#cluster.shardSubscriber(owner)),
    );
    const shards = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = opened.find((result) => result.status === 'rejected');
    if (failed) {
      for (const shard of shards) shard.disconnect();
      throw failed.reason;
    }
    for (const [i, owner] of [...owners.keys()].entries()) {
      const shard = shards[i] as Subscriber;
      this.#outage.watch(shard, `subscriber connection to ${owner}`);
      const current = () => !this.#closed && this.#generation === generation;
      shard.on('message', (_channel: string, message: string) => {
        if (current()) this.#handlers?.onMessage(message);
      });
      shard.on('moved', () => current() && this.#disturbed('a slot moved'));
      shard.on('close', () => current() && this.#disturbed('subscriber disconnected'));
    }
    // A master that does not answer (paused, partitioned) must not hold the rebuild forever.
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        // One SSUBSCRIBE per channel: the channels of one command must share a slot.
        Promise.all(
          shards.flatMap((shard, i) =>
            (channelLists[i] as string[]).map((channel) => shard.ssubscribe(channel)),
          ),
        ),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`sharded subscriptions not confirmed within ${SUBSCRIBE_DEADLINE} ms`)),
            SUBSCRIBE_DEADLINE,
          );
        }),
      ]);
    } catch (error) {
      // These connections are abandoned: their closing is not a disturbance to report.
      this.#generation++;
      for (const shard of shards) shard.disconnect();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (this.#generation !== generation || this.#closed) {
      await Promise.all(shards.map((shard) => shard.quit()));
      return;
    }
    this.#shards = shards;
  }

  /** Messages may have been lost: say so now, then rebuild every subscription from the current topology. */
  #disturbed(reason: string): void {
    if (this.#closed) return;
    if (this.#rebuilding) {
      this.#disturbedAgain ??= reason;
      return;
    }
    this.#rebuilding = true;
    this.#generation++;
    for (const shard of this.#shards) shard.disconnect();
    this.#shards = [];
    this.#handlers?.onLost(reason);
    this.#establish().then(
      () => {
        this.#rebuilding = false;
        if (this.#closed) return;
        // Whatever was read while the subscriptions were down may have been invalidated unheard.
        this.#handlers?.onLost('subscriber reconnected');
        const again = this.#disturbedAgain;
        this.#disturbedAgain = undefined;
        if (again !== undefined) this.#disturbed(again);
      },
      () => {},
    );
  }

  /**
   * PINGs every subscriber connection; the beat comes back once all of them have answered. Resolves at once
   * (the pings are the delivery, and one that never answers is what the heartbeat exists to notice), and
   * rejects while a rebuild is under way: there is no connection to prove then, and a beat counted as sent
   * would be counted as missed, forcing a second rebuild after every rebuild longer than two beats.
   */
  async beat(message: string): Promise<void> {
    const shards = this.#shards;
    if (shards.length === 0) throw new Error('the sharded subscriptions are being rebuilt');
    const generation = this.#generation;
    Promise.all(shards.map((shard) => shard.ping(message))).then(
      () => {
        if (this.#generation === generation && !this.#closed) this.#handlers?.onMessage(message);
      },
      () => {},
    );
  }

  reconnect(): void {
    this.#disturbed('heartbeat missed');
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#generation++;
    await Promise.all(this.#shards.map((shard) => shard.quit()));
    this.#shards = [];
  }
}
