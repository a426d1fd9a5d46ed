import { describe, expect, it } from 'vitest';
import { readEnvelope, writeEnvelope, writeTail } from '../../src/core/envelope.js';
import { Generations } from '../../src/core/generations.js';
import { encodeMessage, parseMessage } from '../../src/core/messages.js';
import { refreshMoment } from '../../src/core/node.js';
import { jitteredTtl, nextLoadEstimate, ttlFor } from '../../src/core/policy.js';
import { TagBook } from '../../src/core/tag-book.js';
import { DecodeError, jsonCodec } from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';

const times = { createdAt: 1_000, freshUntil: 2_000, staleUntil: 3_000, errorUntil: 4_000 };

describe('early refresh moment', () => {
  it('leads expiry by the load-time estimate plus the margin', () => {
    expect(refreshMoment(0, 1_000, 100, 10)).toBe(890);
  });

  it('never leads by more than half the ttl, so a slow loader does not refresh back to back', () => {
    expect(refreshMoment(0, 1_000, 900, 10)).toBe(500);
  });

  it('is never when early refresh is off', () => {
    expect(refreshMoment(0, 1_000, 100, undefined)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('load-time estimate', () => {
  it('starts at the first load, rises a quarter of the way to a slower one and falls half the way to a faster one', () => {
    expect(nextLoadEstimate(undefined, 100)).toBe(100);
    expect(nextLoadEstimate(100, 200)).toBe(125);
    expect(nextLoadEstimate(100, 20)).toBe(60);
    expect(nextLoadEstimate(undefined, 0)).toBe(1);
  });
});

describe('ttl', () => {
  const policy = resolveOptions({ ttl: 1_000, nullTtl: 10 });

  it('uses nullTtl for null', () => {
    expect(ttlFor(policy, false, 0, 0.5)).toBe(1_000);
    expect(ttlFor(policy, true, 0, 0.5)).toBe(10);
  });

  it('jitter only ever shortens the ttl, by at most the fraction', () => {
    expect(jitteredTtl(1_000, 0.2, 0)).toBe(1_000);
    expect(jitteredTtl(1_000, 0.2, 1)).toBe(800);
    expect(jitteredTtl(1_000, 0, 1)).toBe(1_000);
  });
});

describe('envelope', () => {
  const stored = (tags: string[], stamps: number[]) =>
    writeEnvelope('id1', times, writeTail(100, tags, stamps, jsonCodec.encode({ a: 1 })));

  it('round-trips an entry with tags that need escaping, each with its stamp', () => {
    expect(readEnvelope('k', stored(['a b', 'c,d', 'ü', '-'], [1, 2, 3, 4]), jsonCodec)).toEqual({
      id: 'id1',
      ...times,
      loadMs: 100,
      tags: ['a b', 'c,d', 'ü', '-'],
      tagStamps: [1, 2, 3, 4],
      value: { a: 1 },
      encoded: '{"a":1}',
    });
  });

  it('reads negative numbers and numbers at the end of the header', () => {
    expect(readEnvelope('k', 'hc2 id -5 2 3 4 5 1 t -7\n1', jsonCodec)).toMatchObject({
      createdAt: -5,
      tagStamps: [-7],
    });
  });

  it('tells a tag named "-" from no tags at all', () => {
    expect(readEnvelope('k', stored(['-'], [7]), jsonCodec).tags).toEqual(['-']);
    expect(readEnvelope('k', stored([], []), jsonCodec).tags).toEqual([]);
  });

  it.each([
    ['not ours'],
    ['{"v":1}'],
    ['hc1 id 1 2 3 4 5 -\n1'],
    ['hc2 id 1 2 3 4 5\n1'],
    ['hc2 id 1 x 3 4 5 0\n1'],
    ['hc2 id 1 2x 3 4 5 0\n1'],
    ['hc2 id 1 1.5 3 4 5 0\n1'],
    ['hc2 id 1 - 3 4 5 0\n1'],
    ['hc2 id 1  3 4 5 0\n1'],
    ['hc2 id 1 99999999999999999999 3 4 5 0\n1'],
    ['hc2 id 1 2 3 4 5 1\n1'],
    ['hc2 id 1 2 3 4 5 1 tag x\n1'],
    ['hc2 id 1 2 3 4 5 1 %E0%A4%A tag 1\n1'],
  ])('rejects foreign, old or corrupt data %j with a DecodeError', (raw) => {
    expect(() => readEnvelope('k', raw, jsonCodec)).toThrow(DecodeError);
  });

  it('rejects an undecodable value with a DecodeError naming the key', () => {
    expect(() => readEnvelope('the-key', 'hc2 id 1 2 3 4 5 0\n{oops', jsonCodec)).toThrow(/the-key/);
  });
});

describe('bus messages', () => {
  it('round-trips every kind, whatever the key holds', () => {
    const messages = [
      { kind: 'loaded', node: 'n', key: 'k|x\n', token: 't', serverNow: 5, raw: 'hc2 ...|\n' },
      { kind: 'loaded', node: 'n', key: 'k', token: 't', serverNow: 5 },
      {
        kind: 'failed',
        node: 'n',
        key: 'k',
        token: 't',
        name: 'TypeError',
        message: 'boom|',
        tags: [],
        stamps: [],
      },
      { kind: 'failed', node: 'n', key: 'k', token: 't', name: 'E', message: 'm', tags: ['a'], stamps: [3] },
      { kind: 'empty', node: 'n', key: 'k', token: 't' },
      { kind: 'released', node: 'n', key: 'k', token: 't' },
      { kind: 'invalidated', node: 'n', key: '{k}\r\n' },
      { kind: 'tag', node: 'n', tag: 't|', stamp: 5 },
      { kind: 'heartbeat', node: 'n' },
    ] as const;
    for (const message of messages) expect(parseMessage(encodeMessage(message))).toEqual(message);
  });

  it.each([
    '',
    'garbage',
    '{}',
    '["loaded","n","k"]',
    'H2|loaded',
    'H2|loaded|n|t|5|k|1|',
    'H2|nope|n|t|1|k|0|',
    'H2|tag|n||1|t|x|',
    'H2|failed|n|t|1|k|0|not json',
  ])('ignores %j', (text) => {
    expect(parseMessage(text)).toBeUndefined();
  });
});

describe('generations', () => {
  it('tells whether a key or tag changed since a stamp', () => {
    const g = new Generations();
    const before = g.stamp();
    g.bumpKey('a');
    expect(g.keyChangedSince('a', before)).toBe(true);
    expect(g.keyChangedSince('b', before)).toBe(false);
    expect(g.anyTagChangedSince(before)).toBe(false);
    g.bumpTag('t');
    expect(g.tagChangedSince('t', before)).toBe(true);
    expect(g.anyTagChangedSince(before)).toBe(true);
    const after = g.stamp();
    expect(g.keyChangedSince('a', after)).toBe(false);
  });

  it('stays bounded: past its limit every forgotten name reads as changed, never as unchanged', () => {
    const g = new Generations(3);
    const before = g.stamp();
    for (const key of ['a', 'b', 'c']) g.bumpKey(key);
    const middle = g.stamp();
    g.bumpKey('d');
    expect(g.keyChangedSince('a', before)).toBe(true);
    expect(g.keyChangedSince('a', middle)).toBe(true);
    expect(g.keyChangedSince('z', g.stamp())).toBe(false);
  });

  it('bumpAll changes everything', () => {
    const g = new Generations();
    const before = g.stamp();
    g.bumpAll();
    expect(g.keyChangedSince('any', before)).toBe(true);
    expect(g.tagChangedSince('any', before)).toBe(true);
  });
});

describe('tag book', () => {
  it('voids an entry whose recorded stamp is older than the known one, and says when it cannot tell', () => {
    const book = new TagBook(new Generations(), 100);
    expect(book.voids(['t'], [0])).toBeUndefined();
    book.learn('t', 5);
    expect(book.voids(['t'], [5])).toBe(false);
    expect(book.voids(['t'], [4])).toBe(true);
    book.learn('t', 3);
    expect(book.known('t')).toBe(5);
  });

  it('counts a tag as void while its invalidation is on its way, and forgets it if that failed', () => {
    const book = new TagBook(new Generations(), 100);
    book.learn('t', 5);
    book.beginInvalidation('t');
    expect(book.voids(['t'], [5])).toBe(true);
    book.endInvalidation('t', 9);
    expect(book.voids(['t'], [5])).toBe(true);
    expect(book.voids(['t'], [9])).toBe(false);
    book.beginInvalidation('t');
    book.endInvalidation('t', undefined);
    expect(book.known('t')).toBeUndefined();
  });

  it('moves the tag generation only when a stamp rises', () => {
    const generations = new Generations();
    const book = new TagBook(generations, 100);
    const before = generations.stamp();
    book.learn('t', 0);
    expect(generations.tagChangedSince('t', before)).toBe(false);
    book.learn('t', 2);
    expect(generations.tagChangedSince('t', before)).toBe(true);
  });

  it('is bounded', () => {
    const book = new TagBook(new Generations(), 2);
    book.learn('a', 1);
    book.learn('b', 1);
    book.learn('c', 1);
    expect(book.known('a')).toBeUndefined();
    expect(book.known('c')).toBe(1);
  });
});
