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

/** Tag-free entries share these (never mutated): most entries carry no tags. */
const NO_TAGS: readonly string[] = Object.freeze([]);
const NO_STAMPS: readonly number[] = Object.freeze([]);

/**
 * Reads the header's space-separated fields one at a time, on the shared-hit path of every read: no
 * split array, no intermediate strings for the numbers.
 */
class HeaderCursor {
  #at: number;
  readonly #raw: string;
  readonly #end: number;

  constructor(raw: string, from: number, end: number) {
    this.#raw = raw;
    this.#at = from;
    this.#end = end;
  }

  /** The next field, or undefined past the header's end. */
  text(): string | undefined {
    if (this.#at > this.#end) return undefined;
    let space = this.#raw.indexOf(' ', this.#at);
    if (space === -1 || space > this.#end) space = this.#end;
    const field = this.#raw.slice(this.#at, space);
    this.#at = space + 1;
    return field;
  }

  /**
   * The next field as a safe integer (decimal digits, an optional minus: what the scripts write with %d),
   * or undefined if it is missing or not one. Read in place, digit by digit: no string per number.
   */
  integer(): number | undefined {
    if (this.#at > this.#end) return undefined;
    const raw = this.#raw;
    let at = this.#at;
    const negative = raw.charCodeAt(at) === 45; // '-'
    if (negative) at += 1;
    const first = at;
    let value = 0;
    for (; at < this.#end; at += 1) {
      const digit = raw.charCodeAt(at) - 48;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    const ended = at === this.#end || raw.charCodeAt(at) === 32; // ' '
    this.#at = at + 1;
    // Anything else makes the whole header corrupt: where the next field starts no longer matters.
    if (!ended || at === first || !Number.isSafeInteger(value)) return undefined;
    return negative ? -value : value;
  }

  get done(): boolean {
    return this.#at > this.#end;
  }
}

function corrupt(key: string): DecodeError {
  return new DecodeError(key, 'corrupt entry header');
}

/** Parses and decodes a stored entry; anything foreign, corrupt or of an old format is a `DecodeError`. */
export function readEnvelope(key: string, raw: string, codec: Codec): StoredEntry {
  const newline = raw.indexOf('\n');
  if (newline === -1 || !raw.startsWith(`${MAGIC} `)) {
    throw new DecodeError(key, 'not a herdcache entry (foreign data or another format)');
  }
  const header = new HeaderCursor(raw, MAGIC.length + 1, newline);
  const id = header.text();
  const createdAt = header.integer();
  const freshUntil = header.integer();
  const staleUntil = header.integer();
  const errorUntil = header.integer();
  const loadMs = header.integer();
  const count = header.integer();
  if (
    id === undefined ||
    createdAt === undefined ||
    freshUntil === undefined ||
    staleUntil === undefined ||
    errorUntil === undefined ||
    loadMs === undefined ||
    count === undefined ||
    count < 0
  ) {
    throw corrupt(key);
  }
  let tags = NO_TAGS;
  let tagStamps = NO_STAMPS;
  if (count > 0) {
    const names: string[] = [];
    const stamps: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const name = header.text();
      const stamp = header.integer();
      if (name === undefined || stamp === undefined) throw corrupt(key);
      try {
        names.push(decodeURIComponent(name));
      } catch {
        throw corrupt(key);
      }
      stamps.push(stamp);
    }
    tags = names;
    tagStamps = stamps;
  }
  if (!header.done) throw corrupt(key);
  const encoded = raw.slice(newline + 1);
  let value: unknown;
  try {
    value = codec.decode(encoded);
  } catch (cause) {
    throw new DecodeError(key, 'the codec could not decode the stored value', cause);
  }
  return { id, createdAt, freshUntil, staleUntil, errorUntil, loadMs, tags, tagStamps, value, encoded };
}
