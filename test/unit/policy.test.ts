import { describe, expect, it } from 'vitest';
import { readEnvelope, writeEnvelope } from '../../src/core/envelope.js';
import { encodeMessage, parseMessage } from '../../src/core/messages.js';
import { earlyRefreshAt, jitteredTtl, timeline } from '../../src/core/policy.js';
import { DecodeError, jsonCodec } from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';
import type { Entry } from '../../src/types.js';

const entry = (overrides: Partial<Entry> = {}): Entry => ({
  value: { a: 1 },
  id: 'id1',
  createdAt: 1_000,
  freshUntil: 2_000,
  staleUntil: 3_000,
  errorUntil: 4_000,
  loadMs: 100,
  tags: [],
  ...overrides,
});

describe('early refresh moment', () => {
  it('leads expiry by one load time plus delta * beta * -ln(random)', () => {
    const e = entry({ loadMs: 100 });
    expect(earlyRefreshAt(e, 1, 1)).toBe(1_900);
    expect(earlyRefreshAt(e, 1, Math.exp(-1))).toBeCloseTo(1_800);
    expect(earlyRefreshAt(e, 2, Math.exp(-1))).toBeCloseTo(1_600);
  });

  it('draws the extra head start from the exponential distribution of the paper', () => {
    const e = entry({ loadMs: 100 });
    const trials = 20_000;
    let early = 0;
    for (let i = 0; i < trials; i += 1) if (earlyRefreshAt(e, 1, 1 - Math.random()) <= 1_800) early += 1;
    expect(early / trials).toBeCloseTo(Math.exp(-1), 1);
  });
});

describe('timeline', () => {
  const policy = {
    ...resolveOptions({ ttl: 1_000, staleWhileRevalidate: 500, staleIfError: 2_000, nullTtl: 10 }),
  };

  it('derives the windows from the ttl', () => {
    expect(timeline(policy, false, 0, 0, 0.5)).toEqual({
      freshUntil: 1_000,
      staleUntil: 1_500,
      errorUntil: 3_000,
    });
    expect(timeline(policy, true, 0, 0, 0.5).freshUntil).toBe(10);
  });

  it('starts an early refresh where the previous value expires', () => {
    expect(timeline(policy, false, 900, 0, 0.5, 1_000).freshUntil).toBe(2_000);
  });

  it('jitter only ever shortens the ttl, by at most the fraction', () => {
    expect(jitteredTtl(1_000, 0.2, 0)).toBe(1_000);
    expect(jitteredTtl(1_000, 0.2, 1)).toBe(800);
    expect(jitteredTtl(1_000, 0, 1)).toBe(1_000);
  });
});

describe('envelope', () => {
  it('round-trips an entry with tags that need escaping', () => {
    const e = entry({ tags: ['a b', 'c,d', 'ü'] });
    expect(readEnvelope('k', writeEnvelope(e, jsonCodec.encode(e.value)), jsonCodec)).toEqual(e);
  });

  it.each([
    ['not ours'],
    ['{"v":1}'],
    ['hc1 id 1 2 3\n1'],
    ['hc2 id 1 2 3 4 5 -\n1'],
    ['hc1 id 1 x 3 4 5 -\n1'],
  ])('rejects foreign or corrupt data %j with a DecodeError', (raw) => {
    expect(() => readEnvelope('k', raw, jsonCodec)).toThrow(DecodeError);
  });

  it('rejects an undecodable value with a DecodeError naming the key', () => {
    expect(() => readEnvelope('the-key', 'hc1 id 1 2 3 4 5 -\n{oops', jsonCodec)).toThrow(/the-key/);
  });
});

describe('bus messages', () => {
  it('round-trips every kind', () => {
    const messages = [
      { kind: 'loaded', node: 'n', key: 'k', raw: 'hc1 ...' },
      { kind: 'loaded', node: 'n', key: 'k' },
      { kind: 'failed', node: 'n', key: 'k', name: 'TypeError', message: 'boom' },
      { kind: 'empty', node: 'n', key: 'k' },
      { kind: 'invalidated', node: 'n', key: '{k}\r\n' },
      { kind: 'tag', node: 'n', tag: 't', at: 5 },
      { kind: 'heartbeat', node: 'n' },
    ] as const;
    for (const message of messages) expect(parseMessage(encodeMessage(message))).toEqual(message);
  });

  it.each([
    '',
    'garbage',
    '{}',
    '[]',
    '["loaded"]',
    '["loaded","n",5]',
    '["nope","n","k"]',
    '["tag","n","t","x"]',
  ])('ignores %j', (text) => {
    expect(parseMessage(text)).toBeUndefined();
  });
});
