import type { Codec } from '../types.js';
import { decodeTyped } from './decode.js';
import { encodeTyped } from './encode.js';

/**
 * The default codec: JSON that keeps the types `cached<T>` promises. Date, Map, Set, BigInt, typed arrays,
 * Buffer, ArrayBuffer, `undefined` in arrays, NaN, ±Infinity and -0 come back as themselves; an object
 * property holding `undefined` is left out, as in JSON. Values it cannot give back as the same type (class
 * instances, functions, symbols, cycles) fail to encode with an `EncodeError` instead of being cached as
 * something else. A value with none of the special types is stored as plain JSON, exactly as the JSON codec
 * stored it, and anything the JSON codec wrote reads back as it did (see `codec/format.ts` for mixed fleets).
 */
export const typedJsonCodec: Codec = Object.freeze({
  encode: encodeTyped,
  decode: decodeTyped,
});
