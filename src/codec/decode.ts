import { BINARY, type BinaryType, KIND, MARK, PREFIX } from './format.js';

const BINARY_TYPES: ReadonlySet<string> = new Set(BINARY);

const TYPED_ARRAYS = {
  Uint8Array,
  Uint8ClampedArray,
  Int8Array,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
  BigUint64Array,
  BigInt64Array,
} as const;

function corrupt(detail: string): never {
  throw new TypeError(`corrupt typed JSON: ${detail}`);
}

function binary(type: BinaryType, stand: unknown): unknown {
  if (typeof stand !== 'string') corrupt(`${type} is not base64`);
  const bytes = Buffer.from(stand, 'base64');
  if (type === 'Buffer') return bytes;
  // A copy: a small Buffer is a view into a shared pool, whose .buffer is not this value's own memory.
  const buffer = new ArrayBuffer(bytes.length);
  new Uint8Array(buffer).set(bytes);
  if (type === 'ArrayBuffer') return buffer;
  const Typed = TYPED_ARRAYS[type];
  if (bytes.length % Typed.BYTES_PER_ELEMENT !== 0) corrupt(`${type} of ${bytes.length} bytes`);
  return new Typed(buffer);
}

function isPair(entry: unknown): entry is [unknown, unknown] {
  return Array.isArray(entry) && entry.length === 2;
}

/** The value a stand-in of type `kind` stands for. */
function restore(kind: string, stand: unknown): unknown {
  switch (kind) {
    case KIND.undefined:
      return undefined;
    case KIND.number:
      if (stand !== 'NaN' && stand !== 'Infinity' && stand !== '-Infinity' && stand !== '-0') {
        corrupt('a special number that is not one');
      }
      return Number(stand);
    case KIND.bigint:
      if (typeof stand !== 'string' || !/^-?\d+$/.test(stand)) corrupt('a BigInt that is not digits');
      return BigInt(stand);
    case KIND.date:
      if (stand !== null && typeof stand !== 'number') corrupt('a Date that is not a number');
      return new Date(stand ?? Number.NaN);
    case KIND.map:
      if (!Array.isArray(stand) || !stand.every(isPair)) corrupt('a Map that is not a list of pairs');
      return new Map(stand);
    case KIND.set:
      if (!Array.isArray(stand)) corrupt('a Set that is not a list');
      return new Set(stand);
    default:
      if (!BINARY_TYPES.has(kind)) corrupt(`unknown type ${JSON.stringify(kind)}`);
      return binary(kind as BinaryType, stand);
  }
}

/** Puts back the value a mark names, in place: the holder of the root is a one-element array. */
function apply(holder: unknown[], mark: unknown): void {
  if (!Array.isArray(mark) || typeof mark[0] !== 'string') corrupt('a mark that is not [type, ...path]');
  let parent: unknown = holder;
  let key: string | number = 0;
  for (let i = 1; i < mark.length; i += 1) {
    parent = (parent as Record<string | number, unknown>)[key];
    key = mark[i] as string | number;
    const container = Array.isArray(parent)
      ? typeof key === 'number'
      : typeof parent === 'object' && parent !== null && typeof key === 'string';
    // Only keys the tree holds itself: a path may never reach into a prototype (`__proto__`, `constructor`).
    if (!container || !Object.hasOwn(parent as object, key)) corrupt('a mark whose path leads nowhere');
  }
  const target = parent as Record<string | number, unknown>;
  const value = restore(mark[0], target[key]);
  // A key named __proto__ is an own data property of the parsed tree: assignment would set the prototype.
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/**
 * The default codec's decoder. Plain JSON (what the JSON codec wrote for every value) is parsed as such;
 * the marked format is restored; a format from a later version is an error, which the cache treats as a miss.
 */
export function decodeTyped(text: string): unknown {
  if (!text.startsWith(MARK)) return JSON.parse(text);
  if (!text.startsWith(PREFIX) || text[PREFIX.length] !== '[') {
    throw new TypeError(
      `stored in format ${JSON.stringify(text.slice(0, 4))}, which this version of herdcache does not read (written by a newer one?)`,
    );
  }
  const parsed: unknown = JSON.parse(text.slice(PREFIX.length));
  if (!Array.isArray(parsed) || parsed.length !== 2 || !Array.isArray(parsed[1])) {
    corrupt('not [tree, marks]');
  }
  const holder = [parsed[0]];
  for (const mark of parsed[1] as unknown[]) apply(holder, mark);
  return holder[0];
}
