/**
 * Hop-by-hop header fields (RFC 9110 §7.6.1): they describe one connection, not the resource, so a cache
 * neither stores, forwards nor takes them from a 304.
 */
export const HOP_BY_HOP: readonly string[] = Object.freeze([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
