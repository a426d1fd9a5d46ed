import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestView } from './core/exchange.js';

/**
 * Cache keys and tags. Every key is a JSON array, so no two different requests can encode to the same text
 * whatever characters their parts contain.
 */

// 2: the namespace option joined the key.
const NAMESPACE = 'herdcache:http:2';

/** What identifies the resource a GET asks for. */
export interface Target {
  /** The middleware's `namespace` option: apps that share a cache and a host name keep apart by it. */
  readonly namespace: string;
  /** As the framework resolves it (Express: `X-Forwarded-Host` only counts when `trust proxy` trusts the peer). */
  readonly host: string;
  /** The raw path, as sent. */
  readonly path: string;
  /** The raw query after `?`, or null when the URL has no `?` at all. */
  readonly query: string | null;
}

/**
 * The target of a request, with the query sorted when `sortQuery` asks for it. The port is left out on
 * purpose: the nodes of one fleet listen on ports of their own and must share entries.
 */
export function targetOf(request: RequestView, sortQuery: boolean, namespace: string): Target {
  const url = request.url;
  const mark = url.indexOf('?');
  const path = mark === -1 ? url : url.slice(0, mark);
  const raw = mark === -1 ? null : url.slice(mark + 1);
  return {
    namespace,
    host: request.host,
    path,
    query: raw !== null && sortQuery ? sortedQuery(raw) : raw,
  };
}

function sortedQuery(query: string): string {
  const params = new URLSearchParams(query);
  params.sort();
  return params.toString();
}

/** The key of a URL for one audience: `user` null is the anonymous, shared audience. */
export function baseKey(target: Target, user: string | null): string {
  return JSON.stringify([NAMESPACE, target.namespace, 'GET', target.host, target.path, target.query, user]);
}

/** Normalised field names of a `Vary` header value: lower case, unique, sorted. */
export function varyNames(vary: string | undefined): readonly string[] {
  if (vary === undefined) return [];
  const names = vary
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name.length > 0);
  return [...new Set(names)].sort();
}

/** The request's values of the named headers; an absent header (null) differs from an empty one. */
export function varyValues(names: readonly string[], headers: IncomingHttpHeaders): (string | null)[] {
  return names.map((name) => {
    const value = headers[name];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  });
}

/** The key of one variant of a URL: the base key plus the request's values of the headers named by Vary. */
export function variantKey(base: string, names: readonly string[], headers: IncomingHttpHeaders): string {
  return JSON.stringify([`${NAMESPACE}:variant`, base, names, varyValues(names, headers)]);
}

// A hash per request showed up on the hit path; paths repeat, so recent ones are remembered (bounded).
const pathTags = new Map<string, string>();
const PATH_TAGS_KEPT = 10_000;

/**
 * The tag every entry of one path carries (all queries, users and variants), so a successful unsafe
 * request can void them all with one `invalidateTag`, on every node. Hashed to keep Redis keys short.
 */
export function pathTag(namespace: string, host: string, path: string): string {
  const id = JSON.stringify([namespace, host, path]);
  let tag = pathTags.get(id);
  if (tag === undefined) {
    tag = `${NAMESPACE}:path:${createHash('sha256').update(id).digest('base64url')}`;
    if (pathTags.size >= PATH_TAGS_KEPT) pathTags.clear();
    pathTags.set(id, tag);
  }
  return tag;
}
