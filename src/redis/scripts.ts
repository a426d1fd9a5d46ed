import { createHash } from 'node:crypto';

/**
 * The Lua scripts. Each runs atomically on the server, which is what makes "read and take the lease" one
 * step and "store only while my lease holds" impossible to race. GETs go through pcall so that a key of a
 * type we never write (foreign data) reads as missing instead of failing the script.
 */
const SAFE_GET = `
local function get(key)
  local ok, value = pcall(redis.call, 'GET', key)
  if ok then return value end
  return nil, 'wrongtype'
end
local BACKOFF = '!backoff:'
`;

/** A script with its SHA-1, for EVALSHA with a fallback to EVAL. */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
  readonly keys: number;
}

function script(keys: number, body: string): LuaScript {
  const source = SAFE_GET + body;
  return { source, sha: createHash('sha1').update(source).digest('hex'), keys };
}

/**
 * KEYS: value, lease. ARGV: now, token, leaseTtl, refreshOf ('' for none), force ('1'/'0').
 * Returns {raw or '', role, remaining, failure or problem}.
 */
export const ACQUIRE = script(
  2,
  `
local raw, problem = get(KEYS[1])
local needsLoad
if not raw then
  needsLoad = true
  raw = ''
else
  local id, freshUntil = string.match(raw, '^hc1 (%S+) %d+ (%d+) ')
  if not id then
    needsLoad = true
  elseif ARGV[4] ~= '' then
    needsLoad = (id == ARGV[4])
  else
    needsLoad = tonumber(freshUntil) <= tonumber(ARGV[1])
  end
end
if not needsLoad then return {raw, 'fresh', 0} end
if ARGV[5] ~= '1' then
  local holder = get(KEYS[2])
  if holder then
    local remaining = redis.call('PTTL', KEYS[2])
    if string.sub(holder, 1, #BACKOFF) == BACKOFF then
      return {raw, 'backoff', remaining, string.sub(holder, #BACKOFF + 1)}
    end
    return {raw, 'follower', remaining, problem or ''}
  end
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return {raw, 'leader', tonumber(ARGV[3]), problem or ''}
`,
);

/** KEYS: value, lease. ARGV: token, raw, ttl, channel, notice. Returns 1 if stored. */
export const COMMIT = script(
  2,
  `
if get(KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`,
);

/** KEYS: lease. ARGV: token, backoff, channel, notice. */
export const ABANDON = script(
  1,
  `
if get(KEYS[1]) == ARGV[1] then
  if tonumber(ARGV[2]) > 0 then
    redis.call('SET', KEYS[1], BACKOFF .. ARGV[4], 'PX', ARGV[2])
  else
    redis.call('DEL', KEYS[1])
  end
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`,
);

/** KEYS: lease. ARGV: token, leaseTtl. Returns 1 if still held (and extended). */
export const RENEW = script(
  1,
  `
if get(KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`,
);

/**
 * KEYS: value, lease. ARGV: raw, ttl, channel, notice. `set`: stores and revokes loads in flight, unless the
 * stored entry is newer than this one (a `set` delivered late, after its caller gave up on it, must not
 * overwrite what came after it).
 */
export const WRITE = script(
  2,
  `
local current = get(KEYS[1])
if current then
  local stored = tonumber(string.match(current, '^hc1 %S+ (%d+) ') or '')
  local incoming = tonumber(string.match(ARGV[1], '^hc1 %S+ (%d+) ') or '')
  if stored and incoming and stored > incoming then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`,
);

/** KEYS: value, lease. ARGV: channel, notice. Deletes the entry, revokes its lease. */
export const REMOVE = script(
  2,
  `
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
`,
);

/** KEYS: tag-times hash. ARGV: at, channel, notice, tag... Keeps the latest time per tag. */
export const INVALIDATE_TAGS = script(
  1,
  `
local ok, kind = pcall(redis.call, 'TYPE', KEYS[1])
if ok and kind.ok ~= 'hash' and kind.ok ~= 'none' then redis.call('DEL', KEYS[1]) end
for i = 4, #ARGV do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0') or 0
  if tonumber(ARGV[1]) > current then redis.call('HSET', KEYS[1], ARGV[i], ARGV[1]) end
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`,
);
