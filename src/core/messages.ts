import { RemoteLoadError } from '../errors.js';
/**
 * Bus messages. The wire form is plain text so that the Lua scripts can publish a message in the same
 * atomic step as the write it announces, appending the server's time and the stored entry without
 * escaping anything:
 *
 *   H2|<kind>|<node>|<token>|<subject length>|<subject>|<number>|<rest>
 *
 * `subject` is the user key (or the tag, for `tag`) and is length-prefixed, so it may hold any character.
 * `token` is the lease the message is about: a follower only trusts a result from the lease it waits for.
 * `number` is the server time (`loaded`) or the tag's new stamp (`tag`); `rest` is the stored entry
 * (`loaded`, when small enough to ride along) or the error (`failed`). Anything else on the channel is
 * garbage (foreign publishers, other versions) and is ignored.
 */
export type BusMessage =
  | { kind: 'loaded'; node: string; key: string; token: string; serverNow: number; raw?: string }
  | {
      kind: 'failed';
      node: string;
      key: string;
      token: string;
      name: string;
      message: string;
      /** The load's tags, with the stamps known when it started: a later stamp means it was overtaken. */
      tags: readonly string[];
      stamps: readonly number[];
    }
  | { kind: 'empty' | 'released'; node: string; key: string; token: string }
  | { kind: 'invalidated'; node: string; key: string }
  | { kind: 'tag'; node: string; tag: string; stamp: number }
  | { kind: 'heartbeat'; node: string };

type Kind = BusMessage['kind'];
const KINDS = new Set<string>(['loaded', 'failed', 'empty', 'released', 'invalidated', 'tag', 'heartbeat']);
const MAGIC = 'H2|';

/** Everything up to the number: the part of a message the sender knows before the script runs. */
export function messageHead(kind: Kind, node: string, token: string, subject: string): string {
  return `${MAGIC}${kind}|${node}|${token}|${subject.length}|${subject}|`;
}

/** The wire form of a bus message. */
export function encodeMessage(message: BusMessage): string {
  switch (message.kind) {
    case 'loaded':
      return `${messageHead('loaded', message.node, message.token, message.key)}${message.serverNow}|${message.raw ?? ''}`;
    case 'failed':
      return `${messageHead('failed', message.node, message.token, message.key)}0|${JSON.stringify([message.name, message.message, message.tags, message.stamps])}`;
    case 'empty':
    case 'released':
      return `${messageHead(message.kind, message.node, message.token, message.key)}0|`;
    case 'invalidated':
      return `${messageHead('invalidated', message.node, '', message.key)}0|`;
    case 'tag':
      return `${messageHead('tag', message.node, '', message.tag)}${message.stamp}|`;
    case 'heartbeat':
      return `${messageHead('heartbeat', message.node, '', '')}0|`;
  }
}

/** Returns undefined for anything that is not one of our messages. */
export function parseMessage(text: string): BusMessage | undefined {
  if (!text.startsWith(MAGIC)) return undefined;
  let at = MAGIC.length;
  const field = (): string | undefined => {
    const end = text.indexOf('|', at);
    if (end === -1) return undefined;
    const value = text.slice(at, end);
    at = end + 1;
    return value;
  };
  const kind = field();
  const node = field();
  const token = field();
  const length = Number(field());
  if (kind === undefined || !KINDS.has(kind) || node === undefined || token === undefined) return undefined;
  if (!Number.isSafeInteger(length) || length < 0 || text[at + length] !== '|') return undefined;
  const subject = text.slice(at, at + length);
  at += length + 1;
  const number = Number(field());
  if (!Number.isSafeInteger(number)) return undefined;
  const rest = text.slice(at);
  switch (kind as Kind) {
    case 'loaded':
      return rest === ''
        ? { kind: 'loaded', node, key: subject, token, serverNow: number }
        : { kind: 'loaded', node, key: subject, token, serverNow: number, raw: rest };
    case 'failed': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(rest);
      } catch {
        return undefined;
      }
      if (!Array.isArray(parsed) || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string') {
        return undefined;
      }
      const [name, message, tags = [], stamps = []] = parsed as [string, string, unknown?, unknown?];
      const valid =
        Array.isArray(tags) &&
        Array.isArray(stamps) &&
        tags.length === stamps.length &&
        tags.every((tag) => typeof tag === 'string') &&
        stamps.every((stamp) => Number.isSafeInteger(stamp));
      if (!valid) return undefined;
      return { kind: 'failed', node, key: subject, token, name, message, tags, stamps };
    }
    case 'empty':
    case 'released':
      return { kind: kind as 'empty' | 'released', node, key: subject, token };
    case 'invalidated':
      return { kind: 'invalidated', node, key: subject };
    case 'tag':
      return { kind: 'tag', node, tag: subject, stamp: number };
    case 'heartbeat':
      return { kind: 'heartbeat', node };
  }
}

/** The error a backoff stands for, rebuilt from the `failed` notice stored with it. */
export function remoteFailure(key: string, notice: string): RemoteLoadError {
  const message = parseMessage(notice);
  return message?.kind === 'failed'
    ? new RemoteLoadError(key, message.name, message.message)
    : new RemoteLoadError(key, 'Error', 'the loader failed on another node');
}
