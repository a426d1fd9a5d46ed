import { DecodeError } from '../errors.js';
import type { Codec, Entry } from '../types.js';

/**
 * The stored form of an entry: one header line, then the codec's text. The header is plain text so the
 * Lua scripts can read an entry's id and freshness without decoding the value.
 *
 *   hc1 <id> <createdAt> <freshUntil> <staleUntil> <errorUntil> <loadMs> <tags>\n<encoded value>
 */
const MAGIC = 'hc1';
const NO_TAGS = '-';

/** Serialises an entry whose value is already encoded. */
export function writeEnvelope(entry: Omit<Entry, 'value'>, encoded: string): string {
  const tags = entry.tags.length === 0 ? NO_TAGS : entry.tags.map(encodeURIComponent).join(',');
  return `${MAGIC} ${entry.id} ${entry.createdAt} ${entry.freshUntil} ${entry.staleUntil} ${entry.errorUntil} ${entry.loadMs} ${tags}\n${encoded}`;
}

/** Parses and decodes a stored entry; anything foreign, corrupt or of an old format is a `DecodeError`. */
export function readEnvelope(key: string, raw: string, codec: Codec): Entry {
  const newline = raw.indexOf('\n');
  const header = newline === -1 ? [] : raw.slice(0, newline).split(' ');
  if (header.length !== 8 || header[0] !== MAGIC) {
    throw new DecodeError(key, 'not a herdcache entry (foreign data or an older format)');
  }
  const numbers = header.slice(2, 7).map(Number);
  if (!numbers.every(Number.isSafeInteger)) throw new DecodeError(key, 'corrupt entry header');
  const [createdAt, freshUntil, staleUntil, errorUntil, loadMs] = numbers as [
    number,
    number,
    number,
    number,
    number,
  ];
  const tagText = header[7] as string;
  let value: unknown;
  try {
    value = codec.decode(raw.slice(newline + 1));
  } catch (cause) {
    throw new DecodeError(key, 'the codec could not decode the stored value', cause);
  }
  return {
    value,
    id: header[1] as string,
    createdAt,
    freshUntil,
    staleUntil,
    errorUntil,
    loadMs,
    tags: tagText === NO_TAGS ? [] : tagText.split(',').map(decodeURIComponent),
  };
}
