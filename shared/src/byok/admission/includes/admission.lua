--[[
  Helpers shared by admit, settle and spend (inlined by the loader in admission.ts).
  Expects `rcall` (redis.call) to be defined by the including script.

  Budget scope hash  <prefix>:budget:<scopeKey>        spent, reserved, limit, l:<leaseId> = µ$ held
  Scope lease index  <prefix>:budget:<scopeKey>:leases zset leaseId -> lease expiry (ms)
]]

local function num(v)
  return tonumber(v) or 0
end

-- HINCRBY with a Lua number: formatted with %d because tostring() would give "1e+15" and
-- Redis rejects "-0"; zero is skipped.
local function incrBy(key, field, n)
  if n ~= 0 then
    rcall('HINCRBY', key, field, string.format('%d', n))
  end
end

-- 'YYYY-MM' (UTC) of a Unix time in seconds. Redis' Lua has no os.date: days-to-civil algorithm
-- (H. Hinnant, "chrono-compatible low-level date algorithms").
local function yearMonth(sec)
  local z = math.floor(sec / 86400) + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d', y, m)
end

-- A scope's key suffix: the monthly period comes from Redis TIME, so no reset job is needed.
local function scopeKeyOf(scope, period, nowSec)
  if period == 'month' then
    return scope .. ':' .. yearMonth(nowSec)
  end
  return scope
end

-- Gives back the reservations of the scope's leases whose TTL has passed (expiry <= now) without
-- a settle. The held amount lives in the scope hash itself (l:<leaseId>), so reclaim works even
-- after the lease record is gone. A late settle then finds nothing held and only adds its spend.
local function reclaimExpired(bkey, now)
  local leasesKey = bkey .. ':leases'
  local ids = rcall('ZRANGEBYSCORE', leasesKey, '-inf', now)
  if #ids == 0 then return end
  local freed = 0
  for _, lid in ipairs(ids) do
    freed = freed + num(rcall('HGET', bkey, 'l:' .. lid))
    rcall('HDEL', bkey, 'l:' .. lid)
  end
  incrBy(bkey, 'reserved', -freed)
  rcall('ZREMRANGEBYSCORE', leasesKey, '-inf', now)
end

-- Redis server time: whole seconds and milliseconds with µs precision.
local function serverNow()
  local t = rcall('TIME')
  local sec = tonumber(t[1])
  return sec, sec * 1000 + tonumber(t[2]) / 1000
end
