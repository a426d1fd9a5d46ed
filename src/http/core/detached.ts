/**
 * Fields a detached copy of a request (for a background revalidation) leaves out: framing,
 * connection-scoped and conditional fields, so the copy asks for the whole current representation.
 */
export const DROPPED_FROM_DETACHED: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'expect',
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
]);
