import { AsyncLocalStorage } from 'node:async_hooks';
import type { ChannelListener, TracingChannel } from 'node:diagnostics_channel';
import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import {
  type CacheContext,
  type CommitContext,
  channels,
  type InvalidateContext,
  type LoadContext,
  type LocalHitMessage,
  type LookupContext,
  tracing,
  type WaitContext,
} from '../observability/channels.js';
import { lookupRole } from '../observability/role.js';

type Operation = keyof typeof tracing;

/**
 * Turns the herdcache TracingChannels into OpenTelemetry spans. Each span is started when its operation
 * starts, as a child of the active OpenTelemetry context or, when nesting, of the herdcache span it runs
 * inside (a load inside its lookup, a commit inside its load; tracked with an AsyncLocalStorage of our own
 * bound to the channels), and ended when the operation settles, with what it did as attributes.
 */
export class SpanBridge {
  readonly #tracer: Tracer;
  readonly #formatKey: (key: string) => string;
  readonly #parent = new AsyncLocalStorage<Context>();
  #nest = false;
  readonly #spans = new WeakMap<object, Span>();
  readonly #undo: (() => void)[] = [];

  constructor(tracer: Tracer, formatKey: (key: string) => string) {
    this.#tracer = tracer;
    this.#formatKey = formatKey;
  }

  /**
   * @param nest whether to nest herdcache's spans in one another through an AsyncLocalStorage (see
   * `OtelOptions.nestSpans`); otherwise each span's parent is the active OpenTelemetry context.
   */
  start(localHitSpans: boolean, nest: boolean): void {
    this.#nest = nest;
    this.#operation(
      'lookup',
      (c: LookupContext) => ({ 'herdcache.key': this.#formatKey(c.key) }),
      (c) => {
        if (c.result === undefined) return {};
        return {
          'herdcache.status': c.result.status,
          'herdcache.tier': c.result.tier,
          'herdcache.role': lookupRole(c.result),
          'herdcache.age_ms': Math.round(c.result.age),
        };
      },
    );
    this.#operation(
      'load',
      (c: LoadContext) => ({ 'herdcache.key': this.#formatKey(c.key), 'herdcache.background': c.background }),
      () => ({}),
    );
    this.#operation(
      'wait',
      (c: WaitContext) => ({
        'herdcache.key': this.#formatKey(c.key),
        'herdcache.wait.timeout_ms': Math.round(c.timeout),
        'herdcache.lease.remaining_ms': Math.round(c.leaseRemaining),
      }),
      (c) => {
        const attributes: Attributes = {};
        if (c.wake !== undefined) {
          attributes['herdcache.wake'] = c.wake;
          attributes['herdcache.wake.pushed'] =
            c.wake !== 'timeout' && c.wake !== 'lost' && c.wake !== 'closed';
        }
        if (c.waited !== undefined) attributes['herdcache.wait.ms'] = c.waited;
        if (c.wakeLatency !== undefined) attributes['herdcache.wake.latency_ms'] = c.wakeLatency;
        return attributes;
      },
    );
    this.#operation(
      'commit',
      (c: CommitContext) => ({ 'herdcache.key': this.#formatKey(c.key), 'herdcache.commit.bytes': c.bytes }),
      (c) => (c.result === undefined ? {} : { 'herdcache.stored': c.result.stored }),
    );
    this.#operation(
      'invalidate',
      (c: InvalidateContext) =>
        c.tags === undefined
          ? { 'herdcache.invalidate.kind': 'keys', 'herdcache.invalidate.count': c.keys?.length ?? 0 }
          : { 'herdcache.invalidate.kind': 'tags', 'herdcache.invalidate.count': c.tags.length },
      () => ({}),
    );
    if (localHitSpans) this.#localHits();
  }

  stop(): void {
    for (const undo of this.#undo.splice(0)) undo();
    // Lets Node turn its promise hooks off again once no AsyncLocalStorage is in use.
    this.#parent.disable();
  }

  /**
   * Spans for one TracingChannel: started when the operation starts, in the caller's async context (when
   * nesting, in the store transform, whose returned context is what nested operations see as their
   * parent), finished on `asyncEnd`, marked failed on `error`.
   */
  #operation<C extends CacheContext & { error?: unknown }>(
    operation: Operation,
    startAttributes: (context: C) => Attributes,
    endAttributes: (context: C) => Attributes,
  ): void {
    const channel = tracing[operation] as unknown as TracingChannel<Context, C>;
    const transform = (message: C): Context => {
      const parent = this.#parent.getStore() ?? context.active();
      const span = this.#tracer.startSpan(
        `herdcache.${operation}`,
        {
          kind: SpanKind.INTERNAL,
          attributes: { 'herdcache.cache': message.cache, ...startAttributes(message) },
        },
        parent,
      );
      this.#spans.set(message, span);
      return trace.setSpan(parent, span);
    };
    const onError: ChannelListener = (message) => {
      const span = this.#spans.get(message as object);
      const error = (message as C).error;
      if (span === undefined) return;
      if (error instanceof Error) span.recordException(error);
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
    };
    const onEnd: ChannelListener = (message) => {
      const span = this.#spans.get(message as object);
      if (span === undefined) return;
      this.#spans.delete(message as object);
      span.setAttributes(endAttributes(message as C));
      span.end();
    };
    // `end` comes before the promise settles, except when the operation threw synchronously.
    const onSyncEnd: ChannelListener = (message) => {
      if ((message as C).error !== undefined) onEnd(message, channel.end.name);
    };
    const onStart: ChannelListener = (message) => {
      transform(message as C);
    };
    if (this.#nest) channel.start.bindStore(this.#parent, transform);
    else channel.start.subscribe(onStart);
    channel.error.subscribe(onError);
    channel.end.subscribe(onSyncEnd);
    channel.asyncEnd.subscribe(onEnd);
    this.#undo.push(() => {
      if (this.#nest) channel.start.unbindStore(this.#parent);
      else channel.start.unsubscribe(onStart);
      channel.error.unsubscribe(onError);
      channel.end.unsubscribe(onSyncEnd);
      channel.asyncEnd.unsubscribe(onEnd);
    });
  }

  /** A zero-length span per fresh local hit (opt-in: at millions of hits a second, spans cost more than hits). */
  #localHits(): void {
    const onHit: ChannelListener = (message) => {
      const hit = message as LocalHitMessage;
      const attributes: Attributes = {
        'herdcache.cache': hit.cache,
        'herdcache.key': this.#formatKey(hit.key),
        'herdcache.status': 'hit',
        'herdcache.tier': 'local',
        'herdcache.role': 'hit',
        'herdcache.age_ms': Math.round(hit.age),
      };
      this.#tracer.startSpan('herdcache.lookup', { kind: SpanKind.INTERNAL, attributes }).end();
    };
    channels.hit.subscribe(onHit);
    this.#undo.push(() => channels.hit.unsubscribe(onHit));
  }
}
