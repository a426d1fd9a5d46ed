import { describe, expect, it } from 'vitest';
import { targetAndHost } from '../../src/http/fetch/exchange.js';

/** What `URL` makes of a request URL: the reference the hand-written parse must agree with. */
function viaUrl(href: string) {
  const url = new URL(href);
  const target = href.slice(url.origin.length).split('#', 1)[0] ?? '/';
  return { target: target || '/', host: url.hostname.toLowerCase() };
}

describe('cacheFetch request target and host', () => {
  const urls = [
    'http://example.com/item',
    'http://Example.COM:8080/a/b?c=1&d=2',
    'https://example.com/a?',
    'http://example.com/a#fragment',
    'http://example.com/a?x=1#frag?y',
    'http://127.0.0.1:3000/',
    'http://[::1]:3000/v6?q',
    'http://[2001:db8::1]/v6',
    'http://example.com/%7Euser/caf%C3%A9',
  ];
  for (const href of urls) {
    it(`agrees with URL for ${href}`, () => {
      // As the platform serializes it, which is what a handler's request.url holds.
      const serialized = new Request(href).url;
      expect(targetAndHost(serialized)).toEqual(viaUrl(serialized));
    });
  }
});
