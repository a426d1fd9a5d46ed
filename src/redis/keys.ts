import { createHash } from 'node:crypto';

/**
 * Redis key naming. The user key is hashed into a `{...}` hash tag so that the value and the lease of one
 * key share a Cluster slot (the Lua scripts touch both) whatever characters or length the key has. Each tag
 * has a record of its own, in a slot of its own, so no single key is read by every tagged lookup.
 */
export class KeySpace {
  readonly channel: string;
  readonly #prefix: string;

  constructor(prefix: string) {
    this.#prefix = prefix;
    this.channel = `${prefix}bus`;
  }

  /** The channel only `node` listens to, for its heartbeats. */
  beatChannel(node: string): string {
    return `${this.channel}:beat:${node}`;
  }

  /** The record holding a tag's invalidation stamp. */
  tag(tag: string): string {
    return `${this.#prefix}{${createHash('sha1').update(`tag\0${tag}`).digest('base64url')}}:t`;
  }

  #slot(key: string): string {
    return `${this.#prefix}{${createHash('sha1').update(key).digest('base64url')}}`;
  }

  value(key: string): string {
    return `${this.#slot(key)}:v`;
  }

  lease(key: string): string {
    return `${this.#slot(key)}:l`;
  }

  /** Both names at the cost of one hash, for the scripts that touch both. */
  valueAndLease(key: string): [string, string] {
    const slot = this.#slot(key);
    return [`${slot}:v`, `${slot}:l`];
  }
}
