import { describe, expect, it } from 'vitest';
import { deltaSeconds, parseAge, parseCacheControl } from '../../src/http/fields.js';
import { parseTargeted } from '../../src/http/structured.js';

describe('Cache-Control (RFC 9111 §5.2)', () => {
  it('matches directive names in any case and keeps values as sent', () => {
    const cc = parseCacheControl('No-Store, MaX-AgE=60, private="Set-Cookie"');
    expect([...cc]).toEqual([
      ['no-store', true],
      ['max-age', '60'],
      ['private', 'Set-Cookie'],
    ]);
  });

  it('uses the first of two values of one directive (§4.2.1)', () => {
    expect(parseCacheControl('max-age=3600, max-age=0').get('max-age')).toBe('3600');
    expect(parseCacheControl('max-age=0, max-age=3600').get('max-age')).toBe('0');
  });

  it('ignores malformed directives: spaces around =, an unterminated quote', () => {
    expect(parseCacheControl('max-age =100').has('max-age')).toBe(false);
    expect(parseCacheControl('max-age= 100').has('max-age')).toBe(false);
    expect(parseCacheControl('no-cache="a, max-age=5').has('max-age')).toBe(false);
  });

  it('keeps commas inside quoted values', () => {
    expect(parseCacheControl('no-cache="a, b", max-age=5').get('no-cache')).toBe('a, b');
  });

  it('reads delta-seconds as digits only, capped at 2^31 (§1.2.2)', () => {
    expect(deltaSeconds('60')).toBe(60);
    expect(deltaSeconds('99999999999')).toBe(2_147_483_648);
    for (const bad of ['a100', '-1', '1.5', '', ' 60']) expect(deltaSeconds(bad)).toBeUndefined();
    expect(deltaSeconds(true)).toBeUndefined();
  });
});

describe('Age (RFC 9111 §5.1)', () => {
  it('ignores a value that is not a non-negative integer', () => {
    expect(parseAge('120')).toBe(120);
    for (const bad of ['7200.0', '-10', 'soon', undefined]) expect(parseAge(bad)).toBe(0);
    expect(parseAge(['30', '40'])).toBe(30);
    expect(parseAge('7200, 0')).toBe(7200);
  });
});

describe('targeted fields (RFC 9213, Structured Field Dictionary)', () => {
  it('maps members to directives', () => {
    expect([...(parseTargeted('max-age=600, no-cache, stale-if-error=60;x=1') ?? [])]).toEqual([
      ['max-age', '600'],
      ['no-cache', true],
      ['stale-if-error', '60'],
    ]);
  });

  it('drops a member of the wrong type: a String or Decimal max-age, a false Boolean', () => {
    const directives = parseTargeted('max-age="600", s-maxage=1.5, no-store=?0, private');
    expect([...(directives ?? [])]).toEqual([['private', true]]);
  });

  it('ignores the whole field on a syntax error, an upper-case key or an empty value', () => {
    for (const bad of ['max-age=10000, &&&&&', 'MaX-AgE=60', 'max-age=60,', '', '   ']) {
      expect(parseTargeted(bad)).toBeUndefined();
    }
  });

  it('lets a later member replace an earlier one (RFC 8941 §4.2.2)', () => {
    expect(parseTargeted('max-age=60, max-age=120')?.get('max-age')).toBe('120');
  });
});
