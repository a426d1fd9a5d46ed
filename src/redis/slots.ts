/**
 * Redis Cluster hash slots, and the hash-tag groups herdcache spreads its keys over.
 *
 * Notices about a key travel on a sharded channel in the key's own slot, so that a shard only carries its
 * own keys' traffic. A node must listen to every channel that can carry a notice, so keys are not spread
 * over all 16,384 slots but over `GROUPS` hash tags, one channel each: a node holds `GROUPS` sharded
 * subscriptions, whatever the number of keys. The tags are chosen so that their slots are evenly spaced
 * (every `16384 / GROUPS`th slot): a master serving a share of the slots serves that share of the groups,
 * as balanced as its slot ranges are.
 */

/** Hash slots in a Redis Cluster. */
export const SLOTS = 16_384;

/** Hash-tag groups keys are spread over (a power of two dividing SLOTS). */
export const GROUPS = 1_024;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

/** CRC16 (XMODEM), Redis Cluster's key hash, of an ASCII string. */
function crc16(text: string): number {
  let crc = 0;
  for (let i = 0; i < text.length; i++) {
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ text.charCodeAt(i)) & 0xff] as number);
  }
  return crc;
}

/** The hash slot of a hash tag (the text between the braces). */
export function slotOfTag(tag: string): number {
  return crc16(tag) % SLOTS;
}

/**
 * `GROUP_TAGS[g]` is a short ASCII tag whose slot is `g * (SLOTS / GROUPS)`. Found by trying `0`, `1`, ...
 * in base 36, which every node does identically, so all agree on the layout.
 */
export const GROUP_TAGS: readonly string[] = (() => {
  const spacing = SLOTS / GROUPS;
  const tags: (string | undefined)[] = new Array(GROUPS);
  let missing = GROUPS;
  for (let candidate = 0; missing > 0; candidate++) {
    const tag = candidate.toString(36);
    const slot = slotOfTag(tag);
    if (slot % spacing !== 0) continue;
    const group = slot / spacing;
    if (tags[group] !== undefined) continue;
    tags[group] = tag;
    missing--;
  }
  return Object.freeze(tags as string[]);
})();

/** The group of a key or tag, from the first bytes of its SHA-1 (already computed for its name). */
export function groupOf(digest: Buffer): number {
  return digest.readUInt16BE(0) % GROUPS;
}
