import { afterEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../src/cache.js';
import { type Codec, DecodeError, jsonCodec, typedJsonCodec } from '../../src/index.js';
import { MemoryNetwork } from '../../src/memory/memory-network.js';

const { encode, decode } = typedJsonCodec;
const roundTrip = <T>(value: T): T => decode(encode(value)) as T;

describe('typedJsonCodec round trips', () => {
  it('keeps Date, Map, Set and BigInt, nested in each other', () => {
    const value = {
      createdAt: new Date('2026-03-04T05:06:07.089Z'),
      invalid: new Date(Number.NaN),
      big: 12345678901234567890n,
      negative: -5n,
      byDay: new Map<Date, Set<bigint | undefined>>([[new Date(0), new Set([1n, undefined])]]),
      byId: new Map<unknown, unknown>([
        [{ id: 1 }, ['a']],
        [2, new Map([['x', new Date(1)]])],
      ]),
    };
    const back = roundTrip(value);
    expect(back).toEqual(value);
    expect(back.createdAt).toBeInstanceOf(Date);
    expect(back.createdAt.getTime()).toBe(value.createdAt.getTime());
    expect(Number.isNaN(back.invalid.getTime())).toBe(true);
    expect(back.big).toBe(12345678901234567890n);
    expect([...back.byDay.keys()][0]).toBeInstanceOf(Date);
    expect([...back.byDay.values()][0]).toEqual(new Set([1n, undefined]));
  });

  it('keeps every typed array, Buffer and ArrayBuffer with their exact bytes', () => {
    const source = new Uint8Array([0, 1, 2, 250, 251, 252, 253, 254, 255, 7, 8, 9, 10, 11, 12, 13]);
    const values = [
      Buffer.from('hello, world'),
      source.buffer.slice(0, 5),
      // A view into the middle of a larger buffer: only its own bytes are stored.
      new Uint8Array(source.buffer, 3, 4),
      new Uint8ClampedArray([0, 128, 255]),
      new Int8Array([-128, 0, 127]),
      new Uint16Array([0, 65535]),
      new Int16Array([-32768, 32767]),
      new Uint32Array([0, 4294967295]),
      new Int32Array([-2147483648, 2147483647]),
      new Float32Array([1.5, -0, Number.NaN]),
      new Float64Array([Math.PI, Number.NEGATIVE_INFINITY]),
      new BigUint64Array([0n, 2n ** 64n - 1n]),
      new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
    ];
    for (const value of values) {
      const back = roundTrip(value);
      expect(Object.getPrototypeOf(back)).toBe(Object.getPrototypeOf(value));
      expect(back).toEqual(value);
    }
    expect(roundTrip(new Uint8Array(source.buffer, 3, 4)).buffer.byteLength).toBe(4);
  });

  it('keeps undefined in arrays, Maps and Sets, special numbers and -0; drops undefined properties as JSON does', () => {
    const back = roundTrip({
      // biome-ignore lint/suspicious/noSparseArray: a hole must read back as undefined too
      list: [undefined, 1, , Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0],
      gone: undefined,
      kept: null,
    });
    expect(back.list).toHaveLength(7);
    expect(back.list[0]).toBeUndefined();
    expect(back.list[2]).toBeUndefined();
    expect(back.list.slice(3, 6)).toEqual([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    expect(Object.is(back.list[6], -0)).toBe(true);
    expect('gone' in back).toBe(false);
    expect(back.kept).toBeNull();
    expect(roundTrip(-0)).toBe(-0);
    expect(roundTrip(new Date(0))).toEqual(new Date(0));
  });

  it('keeps a key named __proto__ a plain key, and shared (non-circular) references as copies', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    Object.defineProperty(value, '__proto__', { value: new Date(3), enumerable: true });
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.hasOwn(back, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual(new Date(3));
    const shared = { at: new Date(9) };
    expect(roundTrip([shared, shared])).toEqual([shared, shared]);
  });

  it('writes values JSON represents exactly as plain JSON, the text the JSON codec wrote', () => {
    const row = { id: 4711, name: 'kettle', price: { amount: 3499 }, tags: ['a', 'b'], ok: true, none: null };
    expect(encode(row)).toBe(JSON.stringify(row));
    expect(encode('text')).toBe('"text"');
    expect(encode([1, 2.5, -3])).toBe('[1,2.5,-3]');
    expect(encode({ a: 1, gone: undefined })).toBe('{"a":1}');
    expect(encode({ at: new Date(0) })).toMatch(/^~1\[/);
  });

  it('refuses what it cannot give back as the same type, naming where it sits', () => {
    class Money {
      constructor(readonly cents: number) {}
    }
    const circular: Record<string, unknown> = {};
    circular.self = { again: circular };
    expect(() => encode({ price: new Money(5) })).toThrow(/a Money instance at \.price/);
    expect(() => encode({ items: [{ render: () => 1 }] })).toThrow(/a function at \.items\[0\]\.render/);
    expect(() => encode(Symbol('s'))).toThrow(/a symbol/);
    expect(() => encode(new URL('http://example.com'))).toThrow(/URL instance/);
    expect(() => encode(new DataView(new ArrayBuffer(2)))).toThrow(/DataView/);
    expect(() => encode(circular)).toThrow(/circular reference at \.self\.again/);
    expect(() => encode(undefined)).toThrow(/undefined is not cached/);
  });
});

describe('typedJsonCodec reading what it did not write', () => {
  it('reads what the JSON codec (the default before) wrote exactly as that codec did', () => {
    for (const value of [{ id: 1, at: new Date(0), tags: new Set([1]) }, [1, 'two', null], 'text', 42]) {
      const old = jsonCodec.encode(value);
      expect(decode(old)).toEqual(jsonCodec.decode(old));
    }
  });

  it('rejects a later format version and corrupt marks instead of returning stand-ins', () => {
    expect(() => decode('~2[{"a":1},[]]')).toThrow(/does not read/);
    expect(() => decode('~1{"a":1}')).toThrow(/does not read/);
    expect(() => decode('~1[{"a":1}]')).toThrow(/corrupt/);
    expect(() => decode('~1[{"a":1},[["d","b"]]]')).toThrow(/leads nowhere/);
    expect(() => decode('~1[{"a":1},[["d","constructor"]]]')).toThrow(/leads nowhere/);
    expect(() => decode('~1[{"a":"x"},[["d","a"]]]')).toThrow(/Date/);
    expect(() => decode('~1[{"a":"1.5"},[["b","a"]]]')).toThrow(/BigInt/);
    expect(() => decode('~1[{"a":"AAAA"},[["Uint16Array","a"]]]')).toThrow(/3 bytes/);
    expect(() => decode('~1[{"a":1},[["Function","a"]]]')).toThrow(/unknown type/);
  });
});

describe('a fleet mixing codecs, as in a rolling deploy from the JSON codec', () => {
  let open: Cache[] = [];
  afterEach(async () => {
    await Promise.all(open.map((cache) => cache.close()));
    open = [];
  });

  function fleet(network: MemoryNetwork, codec?: Codec): { cache: Cache; errors: Error[] } {
    const cache = new Cache(
      { heartbeatInterval: 0, earlyRefresh: false, ...(codec ? { codec } : {}) },
      { shared: network.tier(), bus: network.bus() },
    );
    const errors: Error[] = [];
    cache.on('error', (error) => errors.push(error));
    open.push(cache);
    return { cache, errors };
  }

  it('serves plain entries across versions without reloading', async () => {
    const network = new MemoryNetwork();
    const old = fleet(network, jsonCodec);
    const current = fleet(network);
    const row = { id: 1, name: 'kettle' };
    await old.cache.cached('plain-old', () => row);
    await current.cache.cached('plain-new', () => row);
    const loader = vi.fn(() => ({ id: 0, name: 'reloaded' }));
    expect(await current.cache.cached('plain-old', loader)).toEqual(row);
    expect(await old.cache.cached('plain-new', loader)).toEqual(row);
    expect(loader).not.toHaveBeenCalled();
    expect([...old.errors, ...current.errors]).toEqual([]);
  });

  it('makes an entry an older node cannot read one clean miss for it, with no replace ping-pong', async () => {
    const network = new MemoryNetwork();
    const writer = fleet(network);
    const old = fleet(network, jsonCodec);
    const reader = fleet(network);
    const at = new Date('2026-01-01T00:00:00.000Z');
    const load = vi.fn(() => ({ at }));
    await writer.cache.cached('k', load);
    // The JSON node cannot parse the marked format: a miss, one error event, and it stores its own JSON.
    expect(await old.cache.cached('k', load)).toEqual({ at: at.toISOString() });
    expect(old.errors.length).toBeGreaterThan(0);
    for (const error of old.errors) expect(error).toBeInstanceOf(DecodeError);
    // A current node reads that JSON as stored (the Date is a string in it) and does not replace it again.
    expect(await reader.cache.cached('k', load)).toEqual({ at: at.toISOString() });
    expect(load).toHaveBeenCalledTimes(2);
    expect(reader.errors).toEqual([]);
  });

  it('treats an entry in a later format as a miss and reloads it, without crashing', async () => {
    const network = new MemoryNetwork();
    const later: Codec = { encode: (value) => `~2${JSON.stringify(value)}`, decode: () => 'unused' };
    const newer = fleet(network, later);
    const current = fleet(network);
    await newer.cache.cached('k', () => ({ v: 2 }));
    const at = new Date(5);
    expect(await current.cache.cached('k', () => ({ at }))).toEqual({ at });
    expect(current.errors.length).toBeGreaterThan(0);
    for (const error of current.errors) expect(error.cause).toBeInstanceOf(TypeError);
    for (const error of current.errors) expect((error.cause as Error).message).toMatch(/does not read/);
    // Replaced in the current format: a newer node would read it, and this one no longer misses.
    const seen = current.errors.length;
    expect(await fleet(network).cache.cached('k', () => ({ at: new Date(6) }))).toEqual({ at });
    expect(current.errors).toHaveLength(seen);
  });
});
