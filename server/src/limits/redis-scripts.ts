/**
 * Lua scripts for the `redis` policy. They mirror algorithms.ts and run atomically inside Redis, so
 * several gateway nodes share one exact budget. Time comes from Redis `TIME` inside the script, never
 * from a node's clock (nodes drift; Redis is the one clock every node agrees on).
 *
 * Redis Cluster: scripts touch only the keys they are given in KEYS, and limit keys carry a `{hash tag}`
 * of scope and client identity (`gh:rl:{g|i=10.0.0.1}:1:60000`), so everything one client uses in one
 * scope lives in one slot and a future multi-key script stays valid on a cluster.
 */

/**
 * KEYS: one hash per client key (fields a<i>/b<i>/c<i> per window: one HMGET, one HSET and one PEXPIRE
 * whatever the number of windows). Several keys in one call are evaluated one after the other with the
 * same windows: the batch of every request of one limit that arrived in the same event-loop turn.
 * ARGV: lease divisor D, lease cap, then per window: kind (1 gcra, 2 sliding, 3 quota-day, 4 quota-month),
 * window ms, limit; then one cost per key.
 * Leases: an admitted key with a positive cost is charged `cost + extra`, where extra is at most 1/D of
 * what every window still has after the cost, and at most the cap (D = 0: no lease). The node admits the
 * extra units itself, so a client far from its limit costs Redis one call per lease; near the limit extra
 * is 0 and each request is decided here, and no lease is taken while fewer than D*D units are left (small
 * limits stay exact under bursts). A negative cost gives unused units back (never below empty).
 * Returns, per key, {allowed, retry_after_ms, tightest, granted, rem_1, reset_ms_1, …} (integers: Lua
 * numbers are truncated on the way out, so ms are rounded up here). rem counts after the grant.
 */
export const LIMIT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local D = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local n = (#ARGV - 2 - #KEYS) / 3
local out = {}
local EPS = 0.01
local DAY = 86400000

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end
-- UTC month id (y*12 + m0) and the ms at which it ends, from the days-since-epoch algorithm.
local function month_of(ms)
  local z = math.floor(ms / DAY) + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  local ny, nm = y, m + 1
  if nm == 13 then ny = y + 1; nm = 1 end
  return y * 12 + (m - 1), days_from_civil(ny, nm, 1) * DAY
end

local function eval_key(K, cost)
  local kind, win, lim, a, b, c = {}, {}, {}, {}, {}, {}
  local fields = {}
  for i = 1, n do
    fields[#fields + 1] = 'a' .. i; fields[#fields + 1] = 'b' .. i; fields[#fields + 1] = 'c' .. i
  end
  local v = redis.call('HMGET', K, unpack(fields))
  local least_avail = nil
  local allowed = true
  local retry = 0
  for i = 1, n do
    local o = 1 + (i - 1) * 3
    kind[i] = tonumber(ARGV[o + 2]); win[i] = tonumber(ARGV[o + 3]); lim[i] = tonumber(ARGV[o + 4])
    a[i] = tonumber(v[o]) or 0; b[i] = tonumber(v[o + 1]) or 0; c[i] = tonumber(v[o + 2]) or 0
    local ok, wait, avail = true, 0, 0
    local k, w, l = kind[i], win[i], lim[i]
    if k == 1 then
      local per = w / l
      local tat = a[i] > now and a[i] or now
      local new_tat = tat + per * cost
      ok = new_tat - now <= w + EPS
      avail = math.floor((w - (tat - now) + EPS) / per)
      if not ok then wait = new_tat - w - now end
    elseif k == 2 then
      local idx = math.floor(now / w)
      local cur, prev = b[i], c[i]
      if a[i] ~= idx then
        if a[i] == idx - 1 then prev = cur else prev = 0 end
        cur = 0
      end
      local el = now - idx * w
      local est = prev * (w - el) / w + cur
      ok = est + cost <= l
      avail = math.floor(l - est)
      if not ok then
        if cur + cost > l then
          if cost > l then wait = w - el + w else wait = w - el + w * (1 - (l - cost) / cur) end
        else
          local e = w - w * (l - cur - cost) / prev
          if e > el then wait = e - el end
        end
      end
    else
      local p, stop
      if k == 3 then p = math.floor(now / DAY); stop = (p + 1) * DAY else p, stop = month_of(now) end
      local count = (a[i] == p) and b[i] or 0
      ok = count + cost <= l
      avail = l - count
      if not ok then wait = stop - now end
    end
    if not ok then
      allowed = false
      if wait > retry then retry = wait end
    end
    if least_avail == nil or avail < least_avail then least_avail = avail end
  end
  -- Only with at least D*D units left: a small limit is decided here request by request, so a burst
  -- spread over nodes gets exactly the limit instead of being refused while another node holds units.
  if allowed and cost > 0 and D > 0 and least_avail - cost >= D * D then
    local extra = math.floor((least_avail - cost) / D)
    if extra > cap then extra = cap end
    if extra > 0 then cost = cost + extra end
  end

  local base = #out
  out[base + 1] = allowed and 1 or 0; out[base + 2] = allowed and 0 or math.ceil(retry); out[base + 3] = 0
  out[base + 4] = allowed and cost or 0
  local least = nil
  local set = {}
  local maxttl = 0
  for i = 1, n do
    local k, w, l = kind[i], win[i], lim[i]
    local rem, reset, ttl = 0, 0, 0
    if k == 1 then
      local per = w / l
      local tat = a[i] > now and a[i] or now
      if allowed then
        tat = tat + per * cost
        set[#set + 1] = 'a' .. i; set[#set + 1] = string.format('%.4f', tat)
      end
      rem = math.floor((w - (tat - now) + EPS) / per)
      reset = tat - now
      ttl = w
    elseif k == 2 then
      local idx = math.floor(now / w)
      local cur, prev = b[i], c[i]
      if a[i] ~= idx then
        if a[i] == idx - 1 then prev = cur else prev = 0 end
        cur = 0
      end
      if allowed then
        cur = cur + cost
        if cur < 0 then cur = 0 end
      end
      set[#set + 1] = 'a' .. i; set[#set + 1] = idx
      set[#set + 1] = 'b' .. i; set[#set + 1] = cur
      set[#set + 1] = 'c' .. i; set[#set + 1] = prev
      local el = now - idx * w
      rem = math.floor(l - (prev * (w - el) / w + cur))
      reset = w - el
      ttl = 2 * w
    else
      local p, stop
      if k == 3 then p = math.floor(now / DAY); stop = (p + 1) * DAY else p, stop = month_of(now) end
      local count = (a[i] == p) and b[i] or 0
      if allowed then
        count = count + cost
        if count < 0 then count = 0 end
      end
      set[#set + 1] = 'a' .. i; set[#set + 1] = p
      set[#set + 1] = 'b' .. i; set[#set + 1] = count
      rem = l - count
      reset = stop - now
      ttl = stop - now + 1000
    end
    if rem < 0 then rem = 0 end
    if rem > l then rem = l end
    if ttl > maxttl then maxttl = ttl end
    out[#out + 1] = rem
    out[#out + 1] = math.ceil(reset)
    if least == nil or rem < least then least = rem; out[base + 3] = i - 1 end
  end
  if #set > 0 then redis.call('HSET', K, unpack(set)) end
  redis.call('PEXPIRE', K, math.ceil(maxttl) + 1000)
end

local first_cost = #ARGV - #KEYS
for k = 1, #KEYS do eval_key(KEYS[k], tonumber(ARGV[first_cost + k])) end
return out
`;

/**
 * Concurrency slots as a sorted set of request ids scored by lease expiry (Redis ms), so a node that dies
 * holding slots cannot leak them forever: expired leases are dropped on the next acquire.
 * KEYS[1]: the set.  ARGV: max, lease ms, member.  Returns 1 when a slot was taken.
 */
export const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
redis.call('PEXPIRE', KEYS[1], lease + 1000)
return 1
`;

/** KEYS[1]: the set.  ARGV: member. */
export const RELEASE_SCRIPT = `return redis.call('ZREM', KEYS[1], ARGV[1])`;
