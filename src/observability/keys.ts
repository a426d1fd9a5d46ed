import { createHash } from 'node:crypto';
import { InvalidOptionError } from '../errors.js';

/**
 * How a cache key appears outside the process. `hash`: the first 16 hex digits of its SHA-256, the same on
 * every node (so one key's spans can be found across the fleet) but guessable for keys drawn from a small
 * set (pass a function with an HMAC for those); `redact`: `[redacted]`; `raw`: the key itself; a function:
 * whatever it returns.
 */
export type KeyMode = 'hash' | 'redact' | 'raw' | ((key: string) => string);

const MODES = new Set(['hash', 'redact', 'raw']);

/** Hashes remembered per formatter; cleared whole when full (cheaper than LRU bookkeeping per span). */
const RECENT_HASHES = 4096;

/** The formatter for a mode; throws `InvalidOptionError` naming `option` for anything else. */
export function keyFormatter(option: string, mode: unknown): (key: string) => string {
  if (typeof mode === 'function') return (key) => String((mode as (key: string) => unknown)(key));
  if (typeof mode !== 'string' || !MODES.has(mode)) {
    throw new InvalidOptionError(option, mode, "'hash', 'redact', 'raw' or a function (key) => string");
  }
  if (mode === 'raw') return (key) => key;
  if (mode === 'redact') return () => '[redacted]';
  // Hot keys repeat: remembering the last hashes saves a SHA-256 per span.
  const recent = new Map<string, string>();
  return (key) => {
    let hashed = recent.get(key);
    if (hashed === undefined) {
      hashed = createHash('sha256').update(key).digest('hex').slice(0, 16);
      if (recent.size >= RECENT_HASHES) recent.clear();
      recent.set(key, hashed);
    }
    return hashed;
  };
}
