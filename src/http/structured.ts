import type { Directives } from './fields.js';

/**
 * Targeted cache-control fields such as `CDN-Cache-Control` are Structured Field Dictionaries (RFC 9213
 * §2.1, RFC 8941 §3.2), parsed strictly: any syntax error makes the whole field invalid, and the cache then
 * ignores it. Members map to cache directives as RFC 9213 §2.1 says: a Boolean true is a directive without
 * a value, an Integer or a Token is its value, a String is its value unless it is digits (a number sent as a
 * String violates the directive's type and is not consumed). Parameters are ignored.
 */

class Cursor {
  position = 0;
  constructor(readonly text: string) {}
  peek(): string {
    return this.text[this.position] ?? '';
  }
  done(): boolean {
    return this.position >= this.text.length;
  }
  skip(chars: string): void {
    while (!this.done() && chars.includes(this.peek())) this.position += 1;
  }
  take(pattern: RegExp): string | undefined {
    pattern.lastIndex = this.position;
    const match = pattern.exec(this.text);
    if (match === null) return undefined;
    this.position += match[0].length;
    return match[0];
  }
}

class Invalid extends Error {}

type Bare = { kind: 'integer' | 'token' | 'string'; text: string } | { kind: 'boolean'; value: boolean };

const KEY = /[a-z*][a-z0-9_\-.*]*/y;
const NUMBER = /-?\d{1,15}(?:\.\d{1,3})?/y;
const TOKEN = /[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/y;
const BYTES = /:[A-Za-z0-9+/=]*:/y;

function fail(): never {
  throw new Invalid();
}

function bareItem(c: Cursor): Bare | undefined {
  const char = c.peek();
  if (char === '-' || (char >= '0' && char <= '9')) {
    const text = c.take(NUMBER) ?? fail();
    // A decimal is a valid item but no directive's value: dropped like a wrongly typed one.
    return text.includes('.') || text.startsWith('-') ? undefined : { kind: 'integer', text };
  }
  if (char === '"') {
    c.position += 1;
    let text = '';
    for (;;) {
      if (c.done()) fail();
      const next = c.peek();
      c.position += 1;
      if (next === '"') return { kind: 'string', text };
      if (next === '\\') {
        const escaped = c.peek();
        if (escaped !== '"' && escaped !== '\\') fail();
        text += escaped;
        c.position += 1;
      } else if (next < ' ' || next > '~') fail();
      else text += next;
    }
  }
  if (char === '?') {
    c.position += 1;
    const bit = c.peek();
    if (bit !== '0' && bit !== '1') fail();
    c.position += 1;
    return { kind: 'boolean', value: bit === '1' };
  }
  if (char === ':') {
    c.take(BYTES) ?? fail();
    return undefined;
  }
  if (/[A-Za-z*]/.test(char)) return { kind: 'token', text: c.take(TOKEN) ?? fail() };
  return fail();
}

function parameters(c: Cursor): void {
  while (c.peek() === ';') {
    c.position += 1;
    c.skip(' ');
    c.take(KEY) ?? fail();
    if (c.peek() === '=') {
      c.position += 1;
      bareItem(c);
    }
  }
}

function innerList(c: Cursor): void {
  c.position += 1;
  for (;;) {
    c.skip(' ');
    if (c.peek() === ')') {
      c.position += 1;
      parameters(c);
      return;
    }
    if (c.done()) fail();
    bareItem(c);
    parameters(c);
    const next = c.peek();
    if (next !== ' ' && next !== ')') fail();
  }
}

function directiveValue(item: Bare | undefined): string | true | undefined {
  if (item === undefined) return undefined;
  if (item.kind === 'boolean') return item.value ? true : undefined;
  if (item.kind === 'string' && /^\d+$/.test(item.text)) return undefined;
  return item.text;
}

/** The directives of a Dictionary field, or undefined when it is empty or not a valid Dictionary. */
export function parseTargeted(value: string | undefined): Directives | undefined {
  if (value === undefined) return undefined;
  const c = new Cursor(value);
  const result = new Map<string, string | true>();
  try {
    c.skip(' ');
    while (!c.done()) {
      const key = c.take(KEY) ?? fail();
      let directive: string | true | undefined = true;
      if (c.peek() === '=') {
        c.position += 1;
        if (c.peek() === '(') {
          innerList(c);
          directive = undefined;
        } else {
          directive = directiveValue(bareItem(c));
          parameters(c);
        }
      } else parameters(c);
      // RFC 8941 §4.2.2: a later member with the same key replaces the earlier one.
      result.delete(key);
      if (directive !== undefined) result.set(key, directive);
      c.skip(' \t');
      if (c.done()) break;
      if (c.peek() !== ',') fail();
      c.position += 1;
      c.skip(' \t');
      if (c.done()) fail();
    }
  } catch (error) {
    if (error instanceof Invalid) return undefined;
    throw error;
  }
  return c.text.trim() === '' ? undefined : result;
}
