/**
 * Bus messages, one JSON array each: [kind, node, key, detail?]. Anything else on the channel is garbage
 * (foreign publishers, other versions) and is ignored by the receiver.
 */
export type BusMessage =
  | { kind: 'loaded'; node: string; key: string; raw?: string }
  | { kind: 'failed'; node: string; key: string; name: string; message: string }
  | { kind: 'empty'; node: string; key: string }
  | { kind: 'invalidated'; node: string; key: string }
  | { kind: 'tag'; node: string; tag: string; at: number }
  | { kind: 'heartbeat'; node: string };

const KINDS = ['loaded', 'failed', 'empty', 'invalidated', 'tag', 'heartbeat'] as const;

/** The wire form of a bus message. */
export function encodeMessage(message: BusMessage): string {
  switch (message.kind) {
    case 'loaded':
      return JSON.stringify(
        message.raw === undefined
          ? ['loaded', message.node, message.key]
          : ['loaded', message.node, message.key, message.raw],
      );
    case 'failed':
      return JSON.stringify(['failed', message.node, message.key, [message.name, message.message]]);
    case 'empty':
    case 'invalidated':
      return JSON.stringify([message.kind, message.node, message.key]);
    case 'tag':
      return JSON.stringify(['tag', message.node, message.tag, message.at]);
    case 'heartbeat':
      return JSON.stringify(['heartbeat', message.node]);
  }
}

/** Returns undefined for anything that is not one of our messages. */
export function parseMessage(text: string): BusMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || typeof parsed[1] !== 'string') return undefined;
  const [kind, node, a, b] = parsed as [unknown, string, unknown, unknown];
  if (!KINDS.includes(kind as (typeof KINDS)[number])) return undefined;
  if (kind === 'heartbeat') return { kind, node };
  if (typeof a !== 'string') return undefined;
  switch (kind) {
    case 'loaded':
      if (b !== undefined && typeof b !== 'string') return undefined;
      return b === undefined ? { kind, node, key: a } : { kind, node, key: a, raw: b };
    case 'failed':
      if (!Array.isArray(b) || typeof b[0] !== 'string' || typeof b[1] !== 'string') return undefined;
      return { kind, node, key: a, name: b[0], message: b[1] };
    case 'empty':
    case 'invalidated':
      return { kind, node, key: a };
    case 'tag':
      return typeof b === 'number' ? { kind, node, tag: a, at: b } : undefined;
    default:
      return undefined;
  }
}
