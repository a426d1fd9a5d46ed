import { createHash } from 'node:crypto';

/**
 * The Lua scripts. Each runs atomically on the server, which is what makes "read and take the lease" one
 * step and "store only while my lease holds" impossible to race. Every time in a stored entry or a tag stamp
 * comes from the server's own clock (TIME), so writers' clocks never decide anything. GETs go through pcall
 * so that a key of a type we never write (foreign data) reads as missing instead of failing the script.
 * Numbers are formatted with %d: Lua would print a 13-digit millisecond time in exponent notation.
 */
const PRELUDE = `
local function get(key)
  local ok, value = pcall(redis.call, 'GET', key)
  if ok then return value end
  return nil, 'wrongtype'
end
local function int(n) return string.format('%d', n) end
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local BACKOFF = '!backoff:'
`;

/** A script with its SHA-1, for EVALSHA with a fallback to EVAL. */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

function script(body: string): LuaScript {
  const source = PRELUDE + body;
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * The read-and-take-the-lease step for one key, shared by ACQUIRE and ACQUIRE_MANY so that a batch decides
 * exactly as single calls do. Returns {raw or '', role, remaining, holder or failure or '', problem or ''}.
 */
const TAKE = `
local function take(vkey, lkey, token, leaseTtl, mode, id, margin, now)
  local raw, problem = get(vkey)
  local state
  if not raw then
    state = 'missing'
    raw = ''
  else
    local entry, created, fresh, loadMs = string.match(raw, '^hc2 (%S+) (%d+) (%d+) %d+ %d+ (%d+) ')
    if not entry or (mode == 'replace' and entry == id) then
      state = 'missing'
    else
      fresh = tonumber(fresh)
      if fresh <= now then
        state = 'stale'
      elseif mode == 'refresh' and entry == id then
        state = 'due'
      elseif margin ~= '' and fresh - now <= math.min(tonumber(loadMs) + tonumber(margin), (fresh - tonumber(created)) / 2) then
        state = 'due'
      else
        state = 'fresh'
      end
    end
  end
  if state == 'fresh' then return {raw, 'fresh', 0, '', ''} end
  local holder = get(lkey)
  if holder and (state == 'due' or mode ~= 'force') then
    if state == 'due' then return {raw, 'fresh', 0, '', ''} end
    local remaining = redis.call('PTTL', lkey)
    if string.sub(holder, 1, #BACKOFF) == BACKOFF then
      local space = string.find(holder, ' ', #BACKOFF + 1, true) or #holder
      local failed = string.sub(holder, #BACKOFF + 1, space - 1)
      if not (mode == 'lift' and failed == id) then
        return {raw, 'backoff', remaining, string.sub(holder, space + 1), ''}
      end
    else
      return {raw, 'follower', remaining, holder, problem or ''}
    end
  end
  redis.call('SET', lkey, token, 'PX', leaseTtl)
  return {raw, 'leader', tonumber(leaseTtl), '', problem or ''}
end
`;

/**
 * KEYS: value, lease. ARGV: token, leaseTtl, mode (read|force|refresh|replace|lift), id, refresh margin ('' off).
 * Returns {raw or '', role, remaining, server time, holder or failure or '', problem or ''}. See
 * `SharedTier.acquire`.
 */
export const ACQUIRE = script(
  `${TAKE}
local now = clock()
local r = take(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], now)
return {r[1], r[2], r[3], now, r[4], r[5]}
`,
);

/**
 * KEYS: value and lease of each key, in pairs (on a Cluster all in one slot: keys of one hash-tag group).
 * ARGV: token, leaseTtl, mode, id, refresh margin per key, as for ACQUIRE. One server time for the whole
 * batch. Returns {server time, {raw, role, remaining, detail, problem} per key}. See `SharedTier.acquireMany`.
 */
export const ACQUIRE_MANY = script(
  `${TAKE}
local now = clock()
local out = {now}
for i = 1, #KEYS / 2 do
  local a = (i - 1) * 5
  out[i + 1] = take(KEYS[2 * i - 1], KEYS[2 * i], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], now)
end
return out
`,
);

/** Stores ARGV[1..6] (id, tail, elapsed, ttl, swr, sie) under KEYS[1], dated by the server; returns the text. */
const STORE = `
local function store(key, now)
  local elapsed, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
  local swr, sie = tonumber(ARGV[5]), tonumber(ARGV[6])
  local created = now - elapsed
  local fresh = created + ttl
  local raw = 'hc2 ' .. ARGV[1] .. ' ' .. int(created) .. ' ' .. int(fresh) .. ' ' .. int(fresh + swr) .. ' ' .. int(fresh + sie) .. ' ' .. ARGV[2]
  redis.call('SET', key, raw, 'PX', int(math.max(1, ttl + math.max(swr, sie) - elapsed)))
  return raw
end
`;

/**
 * KEYS: value, lease. ARGV: id (= token), tail, elapsed, ttl, swr, sie, channel, notice head, inline limit,
 * publish command. Stores only while the token holds the lease. Returns {stored 1/0, server time}.
 */
export const COMMIT = script(
  `${STORE}
local now = clock()
if get(KEYS[2]) ~= ARGV[1] then return {0, now} end
local raw = store(KEYS[1], now)
redis.call('DEL', KEYS[2])
if #raw > tonumber(ARGV[9]) then raw = '' end
redis.call(ARGV[10], ARGV[7], ARGV[8] .. int(now) .. '|' .. raw)
return {1, now}
`,
);

/**
 * KEYS: value, lease. ARGV: id, tail, elapsed, ttl, swr, sie, channel, notice, publish command. `set`:
 * returns server time.
 */
export const WRITE = script(
  `${STORE}
local now = clock()
store(KEYS[1], now)
redis.call('DEL', KEYS[2])
redis.call(ARGV[9], ARGV[7], ARGV[8])
return now
`,
);

/**
 * KEYS: lease. ARGV: token, backoff, channel, notice, publish command. Only the holder gives the lease back
 * and publishes. A
 * backoff marker names the failed load's token, so that it can be lifted (ACQUIRE mode lift) if overtaken.
 */
export const ABANDON = script(
  `
if get(KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], BACKOFF .. ARGV[1] .. ' ' .. ARGV[4], 'PX', ARGV[2])
else
  redis.call('DEL', KEYS[1])
end
redis.call(ARGV[5], ARGV[3], ARGV[4])
return 1
`,
);

/** KEYS: lease. ARGV: token, leaseTtl. Returns 1 if still held (and extended). */
export const RENEW = script(
  `
if get(KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`,
);

/** KEYS: value. Returns {raw or '', server time, problem or ''}. */
export const READ = script(
  `
local raw, problem = get(KEYS[1])
return {raw or '', clock(), problem or ''}
`,
);

/** KEYS: value, lease. ARGV: channel, notice, publish command. Deletes the entry, revokes its lease. */
export const REMOVE = script(
  `
redis.call('DEL', KEYS[1], KEYS[2])
redis.call(ARGV[3], ARGV[1], ARGV[2])
return 1
`,
);

/**
 * KEYS: tag record. ARGV: channel, notice head, lifetime, publish command. The new stamp is the server time, or one more than
 * the last stamp if the clock reads earlier, so stamps of one tag only grow. Returns the stamp.
 */
export const INVALIDATE_TAG = script(
  `
local now = clock()
local stamp = math.max(now, (tonumber(get(KEYS[1]) or '') or 0) + 1)
local keep = math.max(redis.call('PTTL', KEYS[1]), tonumber(ARGV[3]))
redis.call('SET', KEYS[1], int(stamp), 'PX', keep)
redis.call(ARGV[4], ARGV[1], ARGV[2] .. int(stamp) .. '|')
return stamp
`,
);

/**
 * KEYS: tag record. ARGV: lifetime. Returns the stamp (0: none) and keeps the record at least `lifetime` ms.
 * An unreadable record is replaced by the server time: everything loaded before it is void, as it may have
 * been invalidated.
 */
export const TOUCH_TAG = script(
  `
local value, problem = get(KEYS[1])
local stamp = tonumber(value or '0')
if problem or not stamp then
  stamp = clock()
  redis.call('SET', KEYS[1], int(stamp), 'PX', ARGV[1])
elseif not value then
  redis.call('SET', KEYS[1], '0', 'PX', ARGV[1])
elseif redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return stamp
`,
);
