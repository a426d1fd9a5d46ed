import type { Generations } from './generations.js';

/**
 * What this node knows of tag invalidations. Redis gives each tag a stamp that grows with every
 * invalidation; an entry records, per tag, the stamp its loading node knew when the load started, and is
 * void once a later stamp exists. This book holds the latest stamp seen per tag, learned from notices and
 * from reads of the tag records, so that checking a tagged entry costs no round trip once a tag is known.
 *
 * Knowledge is trusted only while no message can have been lost: the cache clears the book whenever the
 * subscription has a gap. Bounded: past `limit` tags the oldest learned is forgotten (and read again when
 * next needed).
 */
export class TagBook {
  readonly #known = new Map<string, number>();
  /** Invalidations this node has sent and Redis has not confirmed yet: the tag counts as void meanwhile. */
  readonly #pending = new Map<string, number>();
  readonly #generations: Generations;
  readonly #limit: number;

  constructor(generations: Generations, limit: number) {
    this.#generations = generations;
    this.#limit = limit;
  }

  /** The latest stamp known for `tag`, or undefined if it must be read from the shared tier. */
  known(tag: string): number | undefined {
    return this.#known.get(tag);
  }

  /**
   * Whether an entry with these tags and recorded stamps is void: true, false, or undefined when some tag is
   * unknown here (read the tag records, then ask again).
   */
  voids(tags: readonly string[], stamps: readonly number[]): boolean | undefined {
    let unknown = false;
    for (let i = 0; i < tags.length; i += 1) {
      const tag = tags[i] as string;
      if (this.#pending.has(tag)) return true;
      const known = this.#known.get(tag);
      if (known === undefined) unknown = true;
      else if (known > (stamps[i] as number)) return true;
    }
    return unknown ? undefined : false;
  }

  /**
   * Records a stamp read from the shared tier or announced on the bus. A stamp later than what was known
   * is an invalidation: the tag's generation moves, so fills that started before it are refused.
   */
  learn(tag: string, stamp: number): void {
    const known = this.#known.get(tag);
    if (known !== undefined && known >= stamp) return;
    if (known === undefined && this.#known.size >= this.#limit) {
      const oldest = this.#known.keys().next().value as string;
      this.#known.delete(oldest);
    }
    this.#known.set(tag, stamp);
    if (stamp > (known ?? 0)) this.#generations.bumpTag(tag);
  }

  /** This node starts invalidating `tag`: until Redis confirms, every entry carrying it is void here. */
  beginInvalidation(tag: string): void {
    this.#pending.set(tag, (this.#pending.get(tag) ?? 0) + 1);
    this.#generations.bumpTag(tag);
  }

  /**
   * The invalidation was confirmed with `stamp`, or failed (undefined): then what Redis holds decides, so
   * the tag is forgotten and its entries are checked against a fresh read of its record.
   */
  endInvalidation(tag: string, stamp: number | undefined): void {
    const count = (this.#pending.get(tag) ?? 1) - 1;
    if (count > 0) this.#pending.set(tag, count);
    else this.#pending.delete(tag);
    if (stamp === undefined) this.#known.delete(tag);
    else this.learn(tag, stamp);
    // Reads sent while the invalidation was on its way may have seen the state before it.
    this.#generations.bumpTag(tag);
  }

  /** Forgets everything learned (messages may have been lost). */
  clear(): void {
    this.#known.clear();
  }
}
