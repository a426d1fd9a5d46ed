import type { Codec } from '../types.js';

/**
 * Plain JSON, the default codec before `typedJsonCodec`. Lossy: a Date comes back as a string, a Map or Set as `{}`,
 * `undefined` in an array as null, while `cached<T>` still promises `T`. Kept for callers that relied on
 * it; prefer the default (`typedJsonCodec`), which reads everything this codec wrote.
 * @deprecated the types lie for any value JSON cannot represent; use the default codec.
 */
export const jsonCodec: Codec = Object.freeze({
  encode(value: unknown): string {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`${typeof value} is not representable in JSON`);
    return text;
  },
  decode(text: string): unknown {
    return JSON.parse(text);
  },
});
