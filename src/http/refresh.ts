import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { HOP_BY_HOP } from './hop-by-hop.js';
import type { Verdict } from './storability.js';
import { type StoredResponse, storeResponse } from './stored.js';

/**
 * Freshening a stored response with a 304 from the route (RFC 9111 §4.3.4): the body stays, the header
 * fields the 304 carries replace the stored ones (§3.2), and freshness starts again from the 304.
 */

// §3.2: never taken from a 304 (the stored body's length stands; connection-scoped and our own fields).
const NOT_UPDATED = new Set([...HOP_BY_HOP, 'content-length', 'set-cookie', 'x-cache']);

/** The stored response's header fields with those of the 304 laid over them. */
export function mergedHeaders(
  stored: StoredResponse,
  notModified: OutgoingHttpHeaders,
  before: OutgoingHttpHeaders,
): OutgoingHttpHeaders {
  const merged: OutgoingHttpHeaders = {};
  for (const [name, value] of stored.headers) merged[name] = typeof value === 'string' ? value : [...value];
  // The stored Age described the first response; the 304's own Age, if any, replaces it below.
  delete merged.age;
  for (const [name, value] of Object.entries(notModified)) {
    if (value === undefined || NOT_UPDATED.has(name)) continue;
    // Set by middleware in front of the cache for this one request: not part of the resource.
    if (name in before && JSON.stringify(before[name]) === JSON.stringify(value)) continue;
    merged[name] = value;
  }
  return merged;
}

/** What a freshened entry is built from. */
export interface Freshened {
  readonly stored: StoredResponse;
  readonly headers: OutgoingHttpHeaders;
  readonly verdict: Extract<Verdict, { store: true }>;
  readonly requestHeaders: IncomingHttpHeaders;
  readonly now: number;
  readonly responseDelay: number;
}

/** The stored response as the 304 leaves it: same body and status, new fields, new freshness. */
export function freshen(input: Freshened): StoredResponse {
  const { stored, headers, verdict } = input;
  const next = storeResponse({
    status: stored.status,
    headers,
    before: {},
    body: Buffer.from(stored.body, 'base64'),
    vary: verdict.vary,
    requestHeaders: input.requestHeaders,
    now: input.now,
    responseDelay: input.responseDelay,
    lifetime: verdict.lifetime,
    mayServeStale: verdict.mayServeStale,
  });
  const etag = typeof headers.etag === 'string' ? headers.etag : undefined;
  // The merged fields hold the validator the cache may have made up; the route's own ones are what it sent.
  const validators = {
    ...stored.validators,
    ...(etag !== undefined && etag !== stored.etag ? { etag } : {}),
    ...(typeof headers['last-modified'] === 'string' ? { lastModified: headers['last-modified'] } : {}),
  };
  return { ...next, validators };
}
