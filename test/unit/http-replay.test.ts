import { describe, expect, it } from 'vitest';
import { replay } from '../../src/http/replay.js';
import { SharedScopes } from '../../src/http/scope.js';
import { storeResponse } from '../../src/http/stored.js';

const stored = storeResponse({
  status: 200,
  headers: { 'content-type': 'text/plain', 'content-length': '5', 'x-internal': 'a', etag: '"v1"' },
  before: {},
  body: Buffer.from('hello'),
  vary: [],
  requestHeaders: {},
  now: 0,
  responseDelay: 0,
  lifetime: 60_000,
  mayServeStale: true,
});
/** One engine's stripped fields: the same array on every call, as the engine passes them. */
const NONE: readonly string[] = [];
const get = (headers: Record<string, string> = {}) => ({ method: 'GET', headers });

describe('replay of one stored response, hit after hit', () => {
  it('gives every hit in the same second of Age the same answer, and a new one when Age or X-Cache changes', () => {
    const first = replay(get(), stored, 'HIT', 100, NONE);
    expect(replay(get(), stored, 'HIT', 900, NONE)).toBe(first);
    expect(first.headers).toEqual([
      ['content-type', 'text/plain'],
      ['x-internal', 'a'],
      ['etag', '"v1"'],
      ['Age', '0'],
      ['X-Cache', 'HIT'],
      ['Content-Length', '5'],
    ]);
    const older = replay(get(), stored, 'HIT', 1_000, NONE);
    expect(older.headers).toContainEqual(['Age', '1']);
    expect(replay(get(), stored, 'STALE', 1_000, NONE).headers).toContainEqual(['X-Cache', 'STALE']);
  });

  it('still answers conditional and ranged requests, and each set of stripped fields, on their own', () => {
    replay(get(), stored, 'HIT', 0, NONE);
    expect(replay(get({ 'if-none-match': '"v1"' }), stored, 'HIT', 0, NONE)).toEqual({
      status: 304,
      headers: [
        ['etag', '"v1"'],
        ['Age', '0'],
        ['X-Cache', 'HIT'],
      ],
      body: undefined,
    });
    const ranged = replay(get(), stored, 'HIT', 0, NONE, { start: 1, end: 2 });
    expect(ranged.status).toBe(206);
    expect(ranged.body?.toString()).toBe('el');
    expect(ranged.headers).toContainEqual(['Content-Length', '2']);
    const stripped = replay(get(), stored, 'HIT', 0, ['x-internal']);
    expect(stripped.headers.map(([name]) => name)).not.toContain('x-internal');
    expect(replay(get(), stored, 'HIT', 0, NONE).headers.map(([name]) => name)).toContain('x-internal');
  });
});

describe('scopes of shared requests, kept by URL', () => {
  it('are reused for the same host and URL, and made afresh for another host', () => {
    const scopes = new SharedScopes(false, '');
    const view = (host: string) => ({ method: 'GET', url: '/a?b=1', host, headers: {} });
    const a = scopes.of(view('a.example'));
    expect(scopes.of(view('a.example'))).toBe(a);
    const b = scopes.of(view('b.example'));
    expect(b.base).not.toBe(a.base);
    expect(b.target.host).toBe('b.example');
    expect(scopes.of(view('a.example')).base).toBe(a.base);
  });
});
