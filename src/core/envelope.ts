import { DecodeError } from '../errors.js';
import type { Codec } from '../types.js';

/**
 * The stored form of an entry: one header line, then the codec's text.
 *
 *   hc2 <id> <createdAt> <freshUntil> <staleUntil> <errorUntil> <loadMs> <tagCount>[ <tag> <stamp>]...\n<value>
 *
 * Times are Redis server milliseconds, written by the script that stores the entry (the writer's clock never
 * enters them). The writer sends everything after the times (the "tail"); the script puts the times in front.
 * Tags are URI-encoded (so never contain a space) and counted (so no tag name can pass for a marker); each
 * carries the tag's invalidation stamp the loading node knew when the load started.
 */
const MAGIC = 'hc2';

/** An entry as stored, before its times are placed on this node's clock. */
export interface StoredEntry {
  readonly id: string;
  readonly createdAt: number;
  readonly freshUntil: number;
  readonly staleUntil: number;
  readonly errorUntil: number;
  /** The load-time estimate (a moving average of recent loads), which sets how early a refresh starts. */
  readonly loadMs: number;
  readonly tags: readonly string[];
  readonly tagStamps: readonly number[];
  readonly value: unknown;
  /** The codec's text, as `sizeOf` measures it. */
  readonly encoded: string;
}

/** Everything the writer contributes to the stored form: load time, tags with stamps, encoded value. */
export function writeTail(
  loadMs: number,
  tags: readonly string[],
  stamps: readonly number[],
  encoded: string,
) {
  let tail = `${loadMs} ${tags.length}`;
  tags.forEach((tag, index) => {
    tail += ` ${encodeURIComponent(tag)} ${stamps[index] ?? 0}`;
  });
  return `${tail}\n${encoded}`;
}

/** The stored form the scripts produce (used by the in-process stand-in for Redis, and tests). */
export function writeEnvelope(
  id: string,
  times: { createdAt: number; freshUntil: number; staleUntil: number; errorUntil: number },
  tail: string,
): string {
  return `${MAGIC} ${id} ${times.createdAt} ${times.freshUntil} ${times.staleUntil} ${times.errorUntil} ${tail}`;
}

/** The entry id of a stored form, or undefined for anything that is not ours. */
export function idOf(raw: string): string | undefined {
  if (!raw.startsWith(`${MAGIC} `)) return undefined;
  const end = raw.indexOf(' ', MAGIC.length + 1);
  return end === -1 ? undefined : raw.slice(MAGIC.length + 1, end);
}

/** Parses and decodes a stored entry; anything foreign, corrupt or of an old format is a `DecodeError`. */
export function readEnvelope(key: string, raw: string, codec: Codec): StoredEntry {
  const newline = raw.indexOf('\n');
  const header = newline === -1 ? [] : raw.slice(0, newline).split(' ');
  if (header.length < 8 || header[0] !== MAGIC) {
    throw new DecodeError(key, 'not a herdcache entry (foreign data or another format)');
  }
  const numbers = header.slice(2, 8).map(Number);
  if (!numbers.every(Number.isSafeInteger)) throw new DecodeError(key, 'corrupt entry header');
  const [createdAt, freshUntil, staleUntil, errorUntil, loadMs, count] = numbers as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (count < 0 || header.length !== 8 + 2 * count) throw new DecodeError(key, 'corrupt entry header');
  const tags: string[] = [];
  const tagStamps: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const stamp = Number(header[9 + 2 * i]);
    if (!Number.isSafeInteger(stamp)) throw new DecodeError(key, 'corrupt entry header');
    try {
      tags.push(decodeURIComponent(header[8 + 2 * i] as string));
    } catch {
      throw new DecodeError(key, 'corrupt entry header');
    }
    tagStamps.push(stamp);
  }
  const encoded = raw.slice(newline + 1);
  let value: unknown;
  try {
    value = codec.decode(encoded);
  } catch (cause) {
    throw new DecodeError(key, 'the codec could not decode the stored value', cause);
  }
  return {
    id: header[1] as string,
    createdAt,
    freshUntil,
    staleUntil,
    errorUntil,
    loadMs,
    tags,
    tagStamps,
    value,
    encoded,
  };
}
