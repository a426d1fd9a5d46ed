import { BINARY, type BinaryType, KIND, type Path, PREFIX } from './format.js';

/** Where in the value something sits, for error messages: `.items[3].at`. */
function pathText(path: Path): string {
  if (path.length === 0) return 'the value itself';
  return path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`)).join('');
}

function binaryType(value: ArrayBufferView | ArrayBuffer): BinaryType | undefined {
  if (Buffer.isBuffer(value)) return 'Buffer';
  const name = Object.getPrototypeOf(value)?.constructor?.name;
  return (BINARY as readonly string[]).includes(name) ? (name as BinaryType) : undefined;
}

function base64(value: ArrayBufferView | ArrayBuffer): string {
  const bytes =
    value instanceof ArrayBuffer
      ? Buffer.from(value)
      : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return bytes.toString('base64');
}

/**
 * Builds the JSON stand-in of a value and the marks that say how to restore it. Anything that could not be
 * restored as the same type (a function, a symbol, a class instance, a cycle) throws: the cache then stores
 * nothing, rather than hand out a value that does not match its type.
 */
class Encoder {
  readonly marks: (string | number)[][] = [];
  readonly #path: Path = [];
  readonly #open = new Set<object>();

  #mark(kind: string): void {
    this.marks.push([kind, ...this.#path]);
  }

  #fail(what: string): never {
    throw new TypeError(
      `${what} at ${pathText(this.#path)} cannot be stored faithfully; the default codec stores plain objects, arrays, strings, numbers, booleans, null, BigInt, Date, Map, Set, typed arrays, Buffer and ArrayBuffer (return a plain copy from the loader, or give the cache a codec option that knows the class)`,
    );
  }

  #child(key: string | number, value: unknown): unknown {
    this.#path.push(key);
    const tree = this.tree(value);
    this.#path.pop();
    return tree;
  }

  tree(value: unknown): unknown {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        if (Number.isFinite(value) && !Object.is(value, -0)) return value;
        this.#mark(KIND.number);
        return Object.is(value, -0) ? '-0' : String(value);
      case 'bigint':
        this.#mark(KIND.bigint);
        return value.toString();
      case 'undefined':
        this.#mark(KIND.undefined);
        return null;
      case 'object':
        return value === null ? null : this.#object(value);
      default:
        return this.#fail(`a ${typeof value}`);
    }
  }

  #object(value: object): unknown {
    if (this.#open.has(value)) this.#fail('a circular reference');
    this.#open.add(value);
    try {
      return this.#container(value);
    } finally {
      this.#open.delete(value);
    }
  }

  #container(value: object): unknown {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      // Null-prototype output: a key named __proto__ stays a plain key instead of setting the prototype.
      const out: Record<string, unknown> = Object.create(null);
      for (const key of Object.keys(value)) {
        const property = (value as Record<string, unknown>)[key];
        // Left out, as JSON does: reading the property gives undefined either way.
        if (property === undefined) continue;
        out[key] = this.#child(key, property);
      }
      return out;
    }
    if (proto === Array.prototype) {
      const array = value as readonly unknown[];
      const out = new Array<unknown>(array.length);
      for (let i = 0; i < array.length; i += 1) out[i] = this.#child(i, array[i]);
      return out;
    }
    if (value instanceof Date) {
      this.#mark(KIND.date);
      const time = value.getTime();
      return Number.isNaN(time) ? null : time;
    }
    // Maps and Sets are marked after their contents: marks are restored in order, innermost first.
    if (value instanceof Map) {
      let i = 0;
      const out: unknown[] = [];
      for (const [key, entry] of value) {
        this.#path.push(i);
        out.push([this.#child(0, key), this.#child(1, entry)]);
        this.#path.pop();
        i += 1;
      }
      this.#mark(KIND.map);
      return out;
    }
    if (value instanceof Set) {
      let i = 0;
      const out: unknown[] = [];
      for (const entry of value) out.push(this.#child(i++, entry));
      this.#mark(KIND.set);
      return out;
    }
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
      const type = binaryType(value);
      if (type === undefined) this.#fail(`a ${describe(value)}`);
      this.#mark(type);
      return base64(value);
    }
    return this.#fail(`a ${describe(value)} instance`);
  }
}

function describe(value: object): string {
  const name: unknown = Object.getPrototypeOf(value)?.constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'class';
}

/** The default codec's encoder: plain JSON when that is exact, else the marked format (see `format.ts`). */
export function encodeTyped(value: unknown): string {
  if (value === undefined)
    throw new TypeError('undefined is not cached (a loader returning it caches nothing)');
  const encoder = new Encoder();
  const tree = encoder.tree(value);
  if (encoder.marks.length === 0) return JSON.stringify(tree);
  return `${PREFIX}${JSON.stringify([tree, encoder.marks])}`;
}
