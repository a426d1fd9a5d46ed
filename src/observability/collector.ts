import type { ChannelListener } from 'node:diagnostics_channel';
import {
  type BusMessage,
  channels,
  type EventMessage,
  type LoadContext,
  type LookupContext,
  tracing,
  type WaitContext,
} from './channels.js';
import { METRICS, type MetricId } from './metrics.js';
import { localCounts } from './registry.js';
import { lookupRole } from './role.js';

/** Attribute (label) values of one series; always includes `cache`. */
export type Labels = Readonly<Record<string, string>>;

/** One series of a counter or gauge and its current value. */
export interface Series {
  readonly labels: Labels;
  readonly value: number;
}

/** Receives every histogram observation (in the metric's unit) as it happens. */
export type HistogramSink = (id: MetricId, value: number, labels: Labels) => void;

/**
 * Turns herdcache's diagnostics channels into metric values, for any metrics library: counters and gauges
 * are kept here (cumulative, read at collection time, with the local hits the hot path only counts),
 * histogram observations are handed to `onHistogram` as they happen. One collector sees every cache in the
 * process, told apart by the `cache` label.
 */
export class Collector {
  readonly #series = new Map<MetricId, Map<string, { labels: Labels; value: number }>>();
  readonly #onHistogram: HistogramSink;
  /**
   * The loads running now (one per key and cache in a process), to label a `loadError` with `background`;
   * a map rather than an AsyncLocalStorage, which would turn on promise hooks for the whole process.
   */
  readonly #loads = new Map<string, boolean>();
  readonly #unsubscribe: (() => void)[] = [];

  constructor(onHistogram: HistogramSink) {
    this.#onHistogram = onHistogram;
  }

  /** Subscribes to the channels. */
  start(): void {
    if (this.#unsubscribe.length > 0) return;
    this.#listen(tracing.lookup.asyncEnd, (message) => this.#onLookup(message as LookupContext));
    this.#listen(tracing.wait.asyncEnd, (message) => this.#onWait(message as WaitContext));
    this.#listen(channels.bus, (message) => this.#onBus(message as BusMessage));
    this.#listen(channels.event, (message) => this.#onEvent(message as EventMessage));
    this.#listen(tracing.load.start, (message) => {
      const load = message as LoadContext;
      this.#loads.set(`${load.cache}\u0000${load.key}`, load.background);
    });
    this.#listen(tracing.load.asyncEnd, (message) => {
      const load = message as LoadContext;
      this.#loads.delete(`${load.cache}\u0000${load.key}`);
    });
  }

  /** Unsubscribes; values kept so far stay readable. */
  stop(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }

  /** The current series of a counter or gauge. */
  series(id: MetricId): Series[] {
    const kept = [...(this.#series.get(id)?.values() ?? [])];
    if (id === 'lookups') {
      for (const [cache, counts] of localCounts()) {
        const labels = { cache, status: 'hit', tier: 'local', role: 'hit' };
        kept.push({ labels, value: counts.localHits });
      }
    } else if (id === 'localEntries') {
      for (const [cache, counts] of localCounts()) {
        kept.push({ labels: { cache }, value: counts.localEntries });
      }
    } else if (id === 'breakerOpen') {
      // A cache whose breaker never opened reads 0, not nothing: a dashboard shows it closed.
      const known = new Set(kept.map((series) => series.labels.cache));
      for (const cache of localCounts().keys()) {
        if (!known.has(cache)) kept.push({ labels: { cache }, value: 0 });
      }
    }
    return kept;
  }

  #listen(
    channel: { subscribe(fn: ChannelListener): void; unsubscribe(fn: ChannelListener): unknown },
    fn: ChannelListener,
  ): void {
    channel.subscribe(fn);
    this.#unsubscribe.push(() => channel.unsubscribe(fn));
  }

  #add(id: MetricId, labels: Labels, value = 1): void {
    this.#store(id, labels, (previous) => previous + value);
  }

  #set(id: MetricId, labels: Labels, value: number): void {
    this.#store(id, labels, () => value);
  }

  #store(id: MetricId, labels: Labels, next: (previous: number) => number): void {
    let byLabels = this.#series.get(id);
    if (byLabels === undefined) {
      byLabels = new Map();
      this.#series.set(id, byLabels);
    }
    let key = labels.cache ?? '';
    for (const name of METRICS[id].labels) key += `\u0000${labels[name]}`;
    const current = byLabels.get(key);
    if (current === undefined) byLabels.set(key, { labels, value: next(0) });
    else current.value = next(current.value);
  }

  #onLookup(context: LookupContext): void {
    const { cache, error, result } = context;
    if (error !== undefined || result === undefined) {
      this.#add('lookups', { cache, status: 'error', tier: 'none', role: 'none' });
    } else {
      this.#add('lookups', { cache, status: result.status, tier: result.tier, role: lookupRole(result) });
    }
  }

  #onWait(context: WaitContext): void {
    if (context.wake === undefined || context.waited === undefined) return;
    const { cache } = context;
    this.#onHistogram('waitDuration', context.waited / 1000, { cache, wake: context.wake });
    if (context.wakeLatency !== undefined)
      this.#onHistogram('wakeLatency', context.wakeLatency / 1000, { cache });
  }

  #onBus(message: BusMessage): void {
    this.#add('busMessages', { cache: message.cache, kind: message.kind });
    this.#add('busReceived', { cache: message.cache }, message.bytes);
  }

  #onEvent(message: EventMessage): void {
    const { cache } = message;
    switch (message.event) {
      case 'load': {
        const [{ duration, stored, background }] = message.args;
        const outcome = stored ? 'stored' : 'not_stored';
        this.#add('loads', { cache, outcome, background: String(background) });
        this.#onHistogram('loadDuration', duration / 1000, { cache, outcome });
        return;
      }
      case 'loadError': {
        const [{ key }] = message.args;
        const background = String(this.#loads.get(`${cache}\u0000${key}`) ?? false);
        this.#add('loads', { cache, outcome: 'error', background });
        return;
      }
      case 'stale':
        this.#add('staleServes', { cache, reason: message.args[0].reason });
        return;
      case 'takeover':
        this.#add('takeovers', { cache });
        return;
      case 'leaseLost':
        this.#add('leaseLosses', { cache });
        return;
      case 'breakerOpen':
        this.#set('breakerOpen', { cache }, 1);
        this.#add('breakerTransitions', { cache, state: 'open' });
        return;
      case 'breakerClose':
        this.#set('breakerOpen', { cache }, 0);
        this.#add('breakerTransitions', { cache, state: 'closed' });
        return;
      case 'localFlush':
        this.#add('localFlushes', { cache, reason: message.args[0].reason });
        return;
      case 'invalidate': {
        const [{ keys, origin }] = message.args;
        this.#add('invalidations', { cache, origin }, keys.length);
        return;
      }
      case 'error': {
        const error = message.args[0] as Error & { code?: unknown };
        this.#add('errors', { cache, code: typeof error.code === 'string' ? error.code : error.name });
        return;
      }
    }
  }
}
