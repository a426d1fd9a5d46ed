/**
 * One fleet size of the bus benchmark: idle nodes spread over a few processes plus one writer node, an
 * idle window, then a miss window, all counted from Redis's side (see listener.ts and
 * ../lib/redis-probe.ts).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisProbe } from '../lib/redis-probe.js';
import { startWorkers, stopAll } from '../lib/workers.js';
import type { FromBusWorker, MissResult, ToBusWorker } from '../workers/bus-protocol.js';
import { BusListener, type FleetTraffic } from './listener.js';

const WORKER = new URL('../workers/bus-worker.ts', import.meta.url);
// Heartbeat timers start when each instance is created; a second lets every one of them reach its steady
// period before anything is counted.
const SETTLE_MS = 1_000;
// The last misses' messages are delivered after the writer sees its last call settle.
const DRAIN_MS = 250;

/** The knobs one fleet size runs with. */
export interface FleetParams {
  readonly processes: number;
  readonly missesPerSecond: number;
  readonly seconds: number;
  readonly idleSeconds: number;
  readonly valueBytes: number;
}

/** Everything measured for one fleet size; the derived figures are per idle node. */
export interface FleetResult {
  readonly nodes: number;
  /** The fleet channel; its name is part of every message's bytes. */
  readonly channel: string;
  /** Idle nodes held by each idle process. */
  readonly spread: readonly number[];
  /** `PUBSUB NUMSUB` of the fleet channel: the idle nodes, the writer and our listener. */
  readonly fleetSubscribers: number;
  /** Heartbeat channels with a subscriber (one per node, writer included) and the most any one had. */
  readonly beatChannels: number;
  readonly maxBeatSubscribers: number;
  readonly idle: {
    readonly seconds: number;
    readonly fleetMessages: number;
    readonly beatMessages: number;
    readonly beatChannelsHeard: number;
    readonly cpuSeconds: number;
  };
  readonly misses: MissResult & {
    readonly traffic: FleetTraffic;
    readonly cpuSeconds: number;
    readonly windowSeconds: number;
    /** Redis commands per miss over the window, by name (INFO and other rarities under 0.01 left out). */
    readonly commandsPerMiss: Readonly<Record<string, number>>;
  };
  /** 'error' events emitted by every cache of the fleet over the run. */
  readonly errorEvents: number;
  readonly messagesPerMiss: number;
  readonly bytesPerMiss: number;
  readonly idleMessagesPerSecond: number;
  readonly beatsPerNodePerSecond: number;
  readonly cpuMicrosPerMiss: number;
  readonly idleCpuMsPerSecond: number;
}

/** Idle nodes over `processes` processes, as evenly as they go (32 over 4 = 8 each). */
export function spreadNodes(nodes: number, processes: number): number[] {
  const count = Math.max(1, Math.min(processes, nodes));
  return Array.from({ length: count }, (_, i) => Math.floor(nodes / count) + (i < nodes % count ? 1 : 0));
}

async function waitForSubscribers(probe: RedisProbe, channel: string, expected: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [count = 0] = await probe.subscribers([channel]);
    if (count >= expected) return count;
    if (Date.now() > deadline) {
      throw new Error(`${channel} has ${count} subscribers after 10 s, expected ${expected}`);
    }
    await sleep(50);
  }
}

/** Starts a fleet of `nodes` idle nodes plus the writer, measures it, and stops every process. */
export async function measureFleet(
  nodes: number,
  params: FleetParams,
  prefix: string,
  redisUrl: string,
): Promise<FleetResult> {
  const channel = `${prefix}bus`;
  const beatPattern = `${channel}:beat:*`;
  const spread = spreadNodes(nodes, params.processes);
  const listener = new BusListener(redisUrl, channel, beatPattern, params.valueBytes / 2);
  const probe = new RedisProbe(redisUrl);
  const idleWorkers = startWorkers<ToBusWorker, FromBusWorker>(WORKER, spread.length, `bus ${nodes} idle`);
  const [writer] = startWorkers<ToBusWorker, FromBusWorker>(WORKER, 1, `bus ${nodes} writer`);
  const everyone = [...idleWorkers, writer!];
  try {
    await listener.start();
    for (const [index, worker] of idleWorkers.entries()) {
      worker.send({ type: 'init', role: 'idle', redisUrl, prefix, instances: spread[index]! });
    }
    writer!.send({ type: 'init', role: 'writer', redisUrl, prefix, instances: 1 });
    await Promise.all(everyone.map((worker) => worker.receive('ready', 60_000)));
    const fleetSubscribers = await waitForSubscribers(probe, channel, nodes + 2);
    const beatChannelList = await probe.channels(beatPattern);
    const beatSubscribers = await probe.subscribers(beatChannelList);
    await sleep(SETTLE_MS);

    // Idle window: nobody calls the cache; only heartbeats (and anything else herdcache sends unasked).
    await listener.watchBeats(true);
    listener.reset();
    const idleCpu0 = await probe.cpuSeconds();
    const idleStart = performance.now();
    await sleep(params.idleSeconds * 1000);
    const idleCpu1 = await probe.cpuSeconds();
    const idleSeconds = (performance.now() - idleStart) / 1000;
    const idleFleet = listener.fleet();
    const beats = listener.beats();
    await listener.watchBeats(false);

    // Miss window: the writer's misses at a fixed rate; everything on the fleet channel is counted.
    listener.reset();
    const commands0 = await probe.commandCalls();
    const missCpu0 = await probe.cpuSeconds();
    const missStart = performance.now();
    writer!.send({
      type: 'misses',
      at: Date.now() + 50,
      perSecond: params.missesPerSecond,
      seconds: params.seconds,
      valueBytes: params.valueBytes,
    });
    const { result } = await writer!.receive('missed', (params.seconds + 60) * 1000);
    await sleep(DRAIN_MS);
    const missCpu1 = await probe.cpuSeconds();
    const commands1 = await probe.commandCalls();
    const windowSeconds = (performance.now() - missStart) / 1000;
    const traffic = listener.fleet();

    for (const worker of everyone) worker.send({ type: 'exit' });
    const closed = await Promise.all(everyone.map((worker) => worker.receive('closed', 30_000)));
    await stopAll(everyone);

    const beatingNodes = nodes + 1;
    const beatsPerNodePerSecond = beats.messages / beatingNodes / idleSeconds;
    const misses = Math.max(1, result.calls);
    const commandsPerMiss: Record<string, number> = {};
    for (const [name, calls] of commands1) {
      const perMiss = (calls - (commands0.get(name) ?? 0)) / misses;
      if (perMiss >= 0.01) commandsPerMiss[name] = perMiss;
    }
    return {
      nodes,
      channel,
      spread,
      fleetSubscribers,
      beatChannels: beatChannelList.length,
      maxBeatSubscribers: Math.max(0, ...beatSubscribers),
      idle: {
        seconds: idleSeconds,
        fleetMessages: idleFleet.messages,
        beatMessages: beats.messages,
        beatChannelsHeard: beats.channels,
        cpuSeconds: idleCpu1 - idleCpu0,
      },
      misses: { ...result, traffic, cpuSeconds: missCpu1 - missCpu0, windowSeconds, commandsPerMiss },
      errorEvents: closed.reduce((sum, reply) => sum + reply.errorEvents, 0),
      messagesPerMiss: traffic.messages / misses,
      bytesPerMiss: traffic.bytes / misses,
      // What one idle node hears: every fleet-channel message, plus its own beats only.
      idleMessagesPerSecond: idleFleet.messages / idleSeconds + beatsPerNodePerSecond,
      beatsPerNodePerSecond,
      cpuMicrosPerMiss: ((missCpu1 - missCpu0) * 1e6) / misses,
      idleCpuMsPerSecond: ((idleCpu1 - idleCpu0) * 1000) / idleSeconds,
    };
  } finally {
    await stopAll(everyone, 1_000);
    await Promise.all([listener.close(), probe.close()]);
  }
}
