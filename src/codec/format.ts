/**
 * The default codec's text format, shared by its encoder and decoder.
 *
 * A value made only of what JSON represents exactly (plain objects, arrays, strings, booleans, null, finite
 * numbers) is written as plain JSON: the very text the JSON codec (the default before) wrote, so nodes with either
 * codec read each other's plain entries during a rolling deploy.
 *
 * Anything else is written as `~1` followed by the JSON array `[tree, marks]`: `tree` is the value with every
 * special value replaced by a JSON stand-in, and each mark is `[type, ...path]` naming one stand-in and where
 * it sits (object keys and array indexes from the root). Marks are listed innermost first, so a Map's
 * entries are restored before the Map is built from them. No JSON text starts with `~`, so an older node
 * fails to parse such an entry and treats it as a miss (one `error` event and a reload) instead of serving
 * stand-ins; and the digit after `~` lets a future format be told apart the same way: this version treats
 * `~2` as unreadable (a miss), never as garbage to serve.
 */
export const MARK = '~';
export const VERSION = '1';
export const PREFIX = `${MARK}${VERSION}`;

/** Stand-in types. Typed arrays and ArrayBuffer are marked by their constructor's name. */
export const KIND = Object.freeze({
  /** `undefined` in an array, a Map or a Set (an object property holding undefined is left out). */
  undefined: 'u',
  /** NaN, Infinity, -Infinity and -0, as their `String()`. */
  number: 'n',
  bigint: 'b',
  /** Milliseconds since the epoch, or null for an invalid Date. */
  date: 'd',
  /** An array of `[key, value]` pairs. */
  map: 'm',
  /** An array of the values. */
  set: 's',
} as const);

/** Binary types, stored as base64 of their bytes (typed arrays in this machine's byte order). */
export const BINARY = [
  'Buffer',
  'ArrayBuffer',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int8Array',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
  'BigUint64Array',
  'BigInt64Array',
] as const;

export type BinaryType = (typeof BINARY)[number];

/** A position inside the tree: object keys and array indexes. */
export type Path = (string | number)[];
