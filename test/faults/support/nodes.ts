import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { type Command, Redis, type RedisOptions } from 'ioredis';
import { Cache, type CacheEvents, type CacheOptions } from '../../../src/index.js';

/** A unique key prefix per test. */
export function prefix(): string {
  return `fault:${randomUUID()}:`;
}

/** A Redis command as the test saw it leave the client. */
export interface SentCommand {
  readonly name: string;
  readonly args: readonly unknown[];
  readonly at: number;
}

/**
 * A cache node in the test process whose command connection is a client the test owns, so the test can see
 * (and hold back) every command it sends, and reach its pub/sub connection.
 */
export interface SpiedNode {
  readonly cache: Cache;
  readonly client: Redis;
  /** The pub/sub connection herdcache duplicated from `client`. */
  readonly subscriber: Redis;
  /** Every command sent on `client`, in order. */
  readonly sent: SentCommand[];
  readonly errors: Error[];
  /** Added delay before each command is sent: a slow network or a slow Redis, as the client sees it. */
  latency: number;
  /** Resolves once every command sent so far has been answered (or failed). */
  settled(): Promise<void>;
  /** Commands matching `match` are kept back (not sent) until `release()` is called. */
  hold(match: (command: Command) => boolean): { readonly held: Command[]; release(): void };
  close(): Promise<void>;
}

/** A node with its own client (`clientOptions`, or ioredis defaults) passed to the cache. */
export function spiedNode(url: string, options: CacheOptions, clientOptions: RedisOptions = {}): SpiedNode {
  const client = new Redis(url, clientOptions);
  client.on('error', () => {});
  const duplicate = client.duplicate.bind(client);
  let subscriber: Redis | undefined;
  client.duplicate = (override) => {
    subscriber = duplicate(override);
    return subscriber;
  };
  const sent: SentCommand[] = [];
  const holds: Array<{ match: (command: Command) => boolean; held: Command[] }> = [];
  let latency = 0;
  const pending = new Set<Promise<unknown>>();
  const rawSend = client.sendCommand.bind(client);
  const track = (command: Command) => {
    const answered = command.promise.then(
      () => {},
      () => {},
    );
    pending.add(answered);
    void answered.then(() => pending.delete(answered));
  };
  type Stream = Parameters<Redis['sendCommand']>[1];
  const send = (command: Command, stream?: Stream) => {
    sent.push({ name: command.name, args: command.args, at: Date.now() });
    return rawSend(command, stream);
  };
  client.sendCommand = (command, stream) => {
    const hold = holds.find((h) => h.match(command));
    if (hold) {
      hold.held.push(command);
      return command.promise;
    }
    track(command);
    if (latency > 0) {
      setTimeout(() => send(command, stream), latency);
      return command.promise;
    }
    return send(command, stream);
  };
  const cache = new Cache({ ...options, redis: client });
  const errors: Error[] = [];
  cache.on('error', (error) => errors.push(error));
  if (subscriber === undefined) throw new Error('herdcache did not duplicate the client for pub/sub');
  const sub = subscriber;
  const node: SpiedNode = {
    cache,
    client,
    subscriber: sub,
    sent,
    errors,
    get latency() {
      return latency;
    },
    set latency(ms: number) {
      latency = ms;
    },
    async settled() {
      // An answer may trigger a follow-up command a few microtasks later: look again after a turn of the loop.
      for (;;) {
        if (pending.size === 0) await new Promise((resolve) => setImmediate(resolve));
        if (pending.size === 0) return;
        await Promise.all(pending);
      }
    },
    hold(match) {
      const entry = { match, held: [] as Command[] };
      holds.push(entry);
      return {
        held: entry.held,
        release() {
          holds.splice(holds.indexOf(entry), 1);
          for (const command of entry.held.splice(0)) {
            track(command);
            send(command);
          }
        },
      };
    },
    async close() {
      await cache.close();
      client.disconnect();
    },
  };
  return node;
}

/** A node that opens its own connections from the URL, as most users run it. */
export function urlNode(url: string, options: CacheOptions): { cache: Cache; errors: Error[] } {
  const cache = new Cache({ ...options, redis: url });
  const errors: Error[] = [];
  cache.on('error', (error) => errors.push(error));
  return { cache, errors };
}

/** Resolves when `count` events named `name` have been emitted from now on. */
export function events(cache: Cache, name: keyof CacheEvents, count = 1): Promise<void> {
  // The typed emitter's overloads do not accept a generic listener; the event's payload is not needed here.
  const emitter = cache as unknown as EventEmitter;
  return new Promise((resolve) => {
    let seen = 0;
    const listener = () => {
      seen += 1;
      if (seen < count) return;
      emitter.off(name, listener);
      resolve();
    };
    emitter.on(name, listener);
  });
}

/** A loader whose calls wait until `open()`; counts its calls; `started` resolves on the first call. */
export function gatedLoader<T>(value: (key: string) => T) {
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let onStart: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    onStart = resolve;
  });
  const state = {
    calls: 0,
    started,
    open,
    load: async ({ key }: { key: string }) => {
      state.calls += 1;
      onStart();
      await gate;
      return value(key);
    },
  };
  return state;
}

/**
 * Keeps back the commands of `redis` that match until `release()`: a network that delays one connection.
 * `first` resolves with the first command held.
 */
export function holdCommands(redis: Redis, match: (command: Command) => boolean) {
  const original = redis.sendCommand;
  const held: Command[] = [];
  let onFirst: (command: Command) => void = () => {};
  const first = new Promise<Command>((resolve) => {
    onFirst = resolve;
  });
  redis.sendCommand = function (this: Redis, command, stream) {
    if (!match(command)) return original.call(this, command, stream);
    held.push(command);
    onFirst(command);
    return command.promise;
  };
  return {
    first,
    release() {
      redis.sendCommand = original;
      for (const command of held.splice(0)) redis.sendCommand(command);
    },
  };
}

/** Resolves with the next `localFlush` whose reason matches. */
export function flushed(cache: Cache, reason: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (event: { reason: string }) => {
      if (event.reason !== reason) return;
      cache.off('localFlush', listener);
      resolve();
    };
    cache.on('localFlush', listener);
  });
}

/** Resolves when another node's invalidation of `key` reaches this node. */
export function invalidated(cache: Cache, key: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (event: { keys: readonly string[]; origin: 'local' | 'remote' }) => {
      if (event.origin !== 'remote' || !event.keys.includes(key)) return;
      cache.off('invalidate', listener);
      resolve();
    };
    cache.on('invalidate', listener);
  });
}
