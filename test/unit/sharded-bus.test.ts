import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { ClusterClient, Subscriber, SubscriberEvents } from '../../src/redis/client-port.js';
import { KeySpace } from '../../src/redis/keys.js';
import { OutageReporter } from '../../src/redis/outage.js';
import { ShardedBus } from '../../src/redis/sharded-bus.js';

/** A shard subscriber whose SSUBSCRIBE confirmations wait until the test lets them through. */
class FakeShard extends EventEmitter implements Subscriber {
  readonly state = 'ready';
  readonly address = 'fake:1';
  constructor(readonly confirmed: Promise<void>) {
    super();
  }
  override on<E extends keyof SubscriberEvents>(event: E, listener: SubscriberEvents[E]): this {
    return super.on(event, listener);
  }
  override off<E extends keyof SubscriberEvents>(event: E, listener: SubscriberEvents[E]): this {
    return super.off(event, listener);
  }
  subscribe = async () => {};
  ssubscribe = () => this.confirmed;
  ping = async () => {};
  drop = () => {};
  quit = async () => {};
  disconnect = () => {};
}

/** A one-master cluster handing out FakeShards; each build's confirmations are released by the test. */
function fakeCluster() {
  const shards: FakeShard[] = [];
  const releases: (() => void)[] = [];
  const cluster = {
    kind: 'cluster',
    state: 'ready',
    address: 'fake:1',
    on: () => {},
    off: () => {},
    slotMasters: async () => () => 'fake:1',
    shardSubscriber: async () => {
      let release!: () => void;
      const shard = new FakeShard(new Promise<void>((resolve) => (release = resolve)));
      shards.push(shard);
      releases.push(release);
      return shard;
    },
  } as unknown as ClusterClient;
  return { cluster, shards, releases };
}

describe('ShardedBus', () => {
  it('rebuilds again when a slot moves under a channel a rebuild in progress had already confirmed', async () => {
    const { cluster, shards, releases } = fakeCluster();
    const bus = new ShardedBus(cluster, new KeySpace('p:', 'sharded'), new OutageReporter(() => {}));
    const lost: string[] = [];
    const subscribed = bus.subscribe(
      () => {},
      (reason) => lost.push(reason),
    );
    await until(() => releases.length === 1);
    releases[0]?.();
    await subscribed;

    // A slot moves: the bus reports the loss and starts a rebuild.
    shards[0]?.emit('moved');
    expect(lost).toEqual(['a slot moved']);
    await until(() => releases.length === 2);
    // While that rebuild waits for confirmations, another slot moves under its new connection.
    shards[1]?.emit('moved');
    releases[1]?.();
    await until(() => releases.length === 3);
    expect(lost).toEqual(['a slot moved', 'subscriber reconnected', 'a slot moved']);
    releases[2]?.();
    await until(() => lost.length === 4);
    expect(lost[3]).toBe('subscriber reconnected');
    await bus.close();
  });

  it('sends no heartbeat while a rebuild is under way, so a long rebuild is not judged a missed beat', async () => {
    const { cluster, shards, releases } = fakeCluster();
    const bus = new ShardedBus(cluster, new KeySpace('p:', 'sharded'), new OutageReporter(() => {}));
    const heard: string[] = [];
    const subscribed = bus.subscribe(
      (message) => heard.push(message),
      () => {},
    );
    await until(() => releases.length === 1);
    releases[0]?.();
    await subscribed;
    await bus.beat('beat-1');
    await until(() => heard.length === 1);

    shards[0]?.emit('moved');
    await until(() => releases.length === 2);
    await expect(bus.beat('beat-2')).rejects.toThrow(/rebuilt/);
    releases[1]?.();
    await until(() => shards.length === 2);
    await bus.close();
  });
});

/** Lets pending promise callbacks run until `done()` holds (bounded, so a bug fails instead of hanging). */
async function until(done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1_000 && !done(); turn++) await new Promise((resolve) => setImmediate(resolve));
  expect(done()).toBe(true);
}
