import { HOP_BY_HOP } from '../hop-by-hop.js';

/**
 * Fields a detached copy of a request (for a background revalidation) leaves out: framing,
 * connection-scoped and conditional fields, so the copy asks for the whole current representation.
 */
export const DROPPED_FROM_DETACHED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  'content-length',
  'expect',
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
]);
