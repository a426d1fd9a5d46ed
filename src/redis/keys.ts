import { createHash } from 'node:crypto';
import { GROUP_TAGS, groupOf } from './slots.js';

/** How notices travel: classic pub/sub on one channel, or sharded pub/sub on each group's channel. */
export type PubSubMode = 'classic' | 'sharded';

/**
 * How many hashed names are remembered. Hashing costs about as much as the rest of a shared hit; a hot key
 * set repeats, and when the memo fills it starts over rather than paying for least-recently-used order.
 */
const REMEMBERED_NAMES = 10_000;

/**
 * Redis key and channel naming. A user key is hashed: its value and lease share the `{...}` hash tag of
 * the key's group (see slots.ts), so the Lua scripts can touch both, and the rest of the name is the key's
 * SHA-1, so keys may hold any character and be of any length. Each tag has a record of its own, in its own
 * group, so no single key is read by every tagged lookup.
 *
 * In sharded mode (Redis Cluster) a notice about a key goes to its group's channel, which lives in the
 * key's slot: the script that changes the key publishes on the shard that holds it, and no other shard
 * carries it. In classic mode (a single Redis) every notice goes to one channel.
 */
export class KeySpace {
  readonly mode: PubSubMode;
  /** The command the scripts publish with. */
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  /** The classic channel (classic mode only). */
  readonly channel: string;
  readonly #prefix: string;
  readonly #names = new Map<string, { readonly base: string; readonly group: number }>();

  constructor(prefix: string, mode: PubSubMode = 'classic') {
    this.#prefix = prefix;
    this.mode = mode;
    this.publishCommand = mode === 'sharded' ? 'SPUBLISH' : 'PUBLISH';
    this.channel = `${prefix}bus`;
  }

  #name(text: string): { readonly base: string; readonly group: number } {
    const known = this.#names.get(text);
    if (known !== undefined) return known;
    const digest = createHash('sha1').update(text).digest();
    const group = groupOf(digest);
    const name = { base: `${this.#prefix}{${GROUP_TAGS[group]}}${digest.toString('base64url')}`, group };
    if (this.#names.size >= REMEMBERED_NAMES) this.#names.clear();
    this.#names.set(text, name);
    return name;
  }

  /** The group a key belongs to (see slots.ts). */
  group(key: string): number {
    return this.#name(key).group;
  }

  /** The channel of a group: in its slot (sharded), or the one channel (classic). */
  groupChannel(group: number): string {
    return this.mode === 'sharded' ? `${this.#prefix}{${GROUP_TAGS[group]}}bus` : this.channel;
  }

  /** Every channel a node listens to for notices. */
  channels(): string[] {
    return this.mode === 'sharded' ? GROUP_TAGS.map((_, group) => this.groupChannel(group)) : [this.channel];
  }

  /** The channel only `node` listens to, for its heartbeats (classic mode). */
  beatChannel(node: string): string {
    return `${this.channel}:beat:${node}`;
  }

  /** The record holding a tag's invalidation stamp. */
  tag(tag: string): string {
    return this.tagNames(tag).record;
  }

  /** A tag's record and the channel its notices travel on. */
  tagNames(tag: string): { record: string; channel: string } {
    const { base, group } = this.#name(`tag\0${tag}`);
    return { record: `${base}:t`, channel: this.groupChannel(group) };
  }

  value(key: string): string {
    return `${this.#name(key).base}:v`;
  }

  lease(key: string): string {
    return `${this.#name(key).base}:l`;
  }

  /** Value, lease and notice channel of a key, at the cost of one hash. */
  of(key: string): { value: string; lease: string; channel: string } {
    const { base, group } = this.#name(key);
    return { value: `${base}:v`, lease: `${base}:l`, channel: this.groupChannel(group) };
  }
}
