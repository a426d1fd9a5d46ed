import { pathTag, type Target } from './key.js';

/**
 * RFC 9111 4.4: a successful unsafe request invalidates the stored responses of its URL, and may those of
 * its `Location` and `Content-Location` when they are on the same host. Invalidation is by path tag, which
 * reaches every query, user and `Vary` variant of the path on every node.
 */

/**
 * The methods known to be safe (RFC 9110 §9.2.1, and WebDAV's read-only ones). Every other method, known or
 * not (M-SEARCH, PURGE, a typo), invalidates on success: RFC 9111 §4.4 counts a method whose safety is
 * unknown as unsafe.
 */
export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH', 'REPORT']);

/** Tags of the paths the response touched: its own, and same-host `Location` / `Content-Location`. */
function touchedTags(target: Target, header: (name: string) => unknown): string[] {
  const { host, path } = target;
  const paths = new Set([path]);
  for (const field of ['location', 'content-location']) {
    const value = header(field);
    if (typeof value !== 'string') continue;
    try {
      const url = new URL(value, `http://${host || 'localhost'}${path.startsWith('/') ? path : '/'}`);
      if (url.hostname.toLowerCase() === host) paths.add(url.pathname);
    } catch {
      // Not a URL: nothing to invalidate for it.
    }
  }
  return [...paths].map((p) => pathTag(target.namespace, host, p));
}

/**
 * Invalidates what a successful (2xx/3xx) response to an unsafe request touched, reading its headers with
 * `header`. The adapter holds the response until the returned promise settles, so a client that reads after its own write never
 * gets the old entry from this node. The cache bounds every Redis call with its deadline, and tags are
 * invalidated in parallel, so the hold is at most about one deadline.
 */
export function invalidation(
  target: Target,
  invalidateTag: (tag: string) => Promise<void>,
): (header: (name: string) => unknown) => Promise<void> {
  return async (header) => {
    const tags = touchedTags(target, header);
    // A failed invalidation is already an `error` event on the cache; the response goes out regardless.
    await Promise.allSettled(tags.map((tag) => Promise.resolve().then(() => invalidateTag(tag))));
  };
}
