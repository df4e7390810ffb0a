--[[
  Admits one provider call on one provider key, all or nothing, on Redis server time:
  (a) requests, (b) input tokens, (c) output tokens (and optionally input+output tokens) per
  window, as a sliding log: an admission at time a counts while now < a + window, so no window of
  that length ever holds more than the limit (a fixed window could admit 2x at a boundary);
  (d) a worst-case cost reservation (integer µ$) against every budget scope given.
  On success a lease records what was taken; re-admitting the same lease id returns it and takes
  nothing. Budgets are checked before rate limits (waiting does not cure an exhausted budget).

  Input:
    KEYS[1] lease hash        <prefix>:lease:<leaseId>
    KEYS[2] key log (zset)    <prefix>:key:<keyId>:log   leaseId -> admission time (ms, µs precision)
    KEYS[3] key weights hash  <prefix>:key:<keyId>:w     i:<leaseId>, o:<leaseId>, isum, osum

    ARGV[1]  prefix (budget keys are built here: a monthly scope's period comes from TIME)
    ARGV[2]  lease id
    ARGV[3]  key id
    ARGV[4]  window ms
    ARGV[5]  rpm  (0 = unlimited)
    ARGV[6]  itpm (0 = unlimited)
    ARGV[7]  otpm (0 = unlimited)
    ARGV[8]  tpm, input + output (0 = unlimited)
    ARGV[9]  input tokens to reserve
    ARGV[10] output tokens to reserve (the request's max output)
    ARGV[11] worst-case cost, integer µ$
    ARGV[12] lease TTL ms
    ARGV[13] ms the lease record is kept after its TTL (for late settles and idempotency)
    ARGV[14...] per budget scope, 4 values: scope, limit µ$ (-1 = none), period ('' | 'month'),
                retain ms (0 = no expiry on the scope's keys)

  Output:
    {1, 'new' | 'existing', now ms, lease hash as field/value list}
    {0, 'rpm' | 'itpm' | 'otpm' | 'tpm', retry after ms}
    {0, 'too_large', 'itpm' | 'otpm' | 'tpm'}      the request alone exceeds the limit
    {0, 'budget_exceeded', scope, scopeKey, remaining µ$}
]]
local rcall = redis.call

--- @include "includes/admission"

local leaseKey, logKey, wKey = KEYS[1], KEYS[2], KEYS[3]
local prefix, id = ARGV[1], ARGV[2]
local windowMs = tonumber(ARGV[4])
local rpm, itpm, otpm, tpm = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local needIn, needOut, cost = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local ttl, retention = tonumber(ARGV[12]), tonumber(ARGV[13])
local nowSec, now = serverNow()
local nowStr = string.format('%.3f', now)

-- Idempotent: a lease id already seen (live, expired or settled) is answered from its record.
if rcall('EXISTS', leaseKey) == 1 then
  return {1, 'existing', nowStr, rcall('HGETALL', leaseKey)}
end

-- A request that can never fit is not told to wait.
if itpm > 0 and needIn > itpm then return {0, 'too_large', 'itpm'} end
if otpm > 0 and needOut > otpm then return {0, 'too_large', 'otpm'} end
if tpm > 0 and needIn + needOut > tpm then return {0, 'too_large', 'tpm'} end

-- Budgets: reclaim expired leases of each scope first (no false "exceeded" after a crashed
-- worker), then check every scope before taking anything.
local scopes = {}
for i = 14, #ARGV, 4 do
  local scope, limit, retain = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 3])
  local skey = scopeKeyOf(scope, ARGV[i + 2], nowSec)
  local bkey = prefix .. ':budget:' .. skey
  reclaimExpired(bkey, now)
  if limit >= 0 and cost > 0 then
    local used = num(rcall('HGET', bkey, 'spent')) + num(rcall('HGET', bkey, 'reserved'))
    if used + cost > limit then
      return {0, 'budget_exceeded', scope, skey, math.max(0, limit - used)}
    end
  end
  scopes[#scopes + 1] = {skey, bkey, limit, retain}
end

-- Rate limits: drop admissions that left the window, with their token weights.
local horizon = now - windowMs
local gone = rcall('ZRANGEBYSCORE', logKey, '-inf', horizon)
if #gone > 0 then
  local gi, go = 0, 0
  for _, lid in ipairs(gone) do
    gi = gi + num(rcall('HGET', wKey, 'i:' .. lid))
    go = go + num(rcall('HGET', wKey, 'o:' .. lid))
    rcall('HDEL', wKey, 'i:' .. lid, 'o:' .. lid)
  end
  incrBy(wKey, 'isum', -gi)
  incrBy(wKey, 'osum', -go)
  rcall('ZREMRANGEBYSCORE', logKey, '-inf', horizon)
end

-- Every limit must hold at once; each frees up monotonically as entries leave the window, so
-- the wait is the longest of the individual waits, reported with that limit's name.
local wait, reason = 0, nil
local function consider(name, ms)
  if reason == nil or ms > wait then wait, reason = ms, name end
end

local count = rcall('ZCARD', logKey)
if rpm > 0 and count >= rpm then
  -- the (count - rpm + 1)-th oldest admission has to leave the window
  local e = rcall('ZRANGE', logKey, count - rpm, count - rpm, 'WITHSCORES')
  consider('rpm', tonumber(e[2]) + windowMs - now)
end

local isum, osum = num(rcall('HGET', wKey, 'isum')), num(rcall('HGET', wKey, 'osum'))
local overI = itpm > 0 and isum + needIn > itpm
local overO = otpm > 0 and osum + needOut > otpm
local overT = tpm > 0 and isum + osum + needIn + needOut > tpm
if overI or overO or overT then
  -- Walk the log oldest first: the wait is until the entry whose departure frees enough.
  local entries = rcall('ZRANGE', logKey, 0, -1, 'WITHSCORES')
  local fi, fo = 0, 0
  for j = 1, #entries, 2 do
    local lid = entries[j]
    local leaves = tonumber(entries[j + 1]) + windowMs - now
    fi = fi + num(rcall('HGET', wKey, 'i:' .. lid))
    fo = fo + num(rcall('HGET', wKey, 'o:' .. lid))
    if overI and isum - fi + needIn <= itpm then consider('itpm', leaves); overI = false end
    if overO and osum - fo + needOut <= otpm then consider('otpm', leaves); overO = false end
    if overT and isum + osum - fi - fo + needIn + needOut <= tpm then consider('tpm', leaves); overT = false end
    if not (overI or overO or overT) then break end
  end
  -- Only reachable if the sums drifted from the entries: wait a full window.
  if overI then consider('itpm', windowMs) end
  if overO then consider('otpm', windowMs) end
  if overT then consider('tpm', windowMs) end
end

if reason ~= nil then
  return {0, reason, math.ceil(wait)}
end

-- Take everything.
rcall('ZADD', logKey, now, id)
rcall('HSET', wKey, 'i:' .. id, ARGV[9], 'o:' .. id, ARGV[10])
incrBy(wKey, 'isum', needIn)
incrBy(wKey, 'osum', needOut)
-- The newest entry leaves the window in windowMs: an idle key's state disappears by itself.
rcall('PEXPIRE', logKey, windowMs)
rcall('PEXPIRE', wKey, windowMs)

local expires = math.floor(now) + ttl
local fields = {'id', id, 'key', ARGV[3], 'cost', ARGV[11], 'in', ARGV[9], 'out', ARGV[10],
  'created', nowStr, 'expires', string.format('%d', expires), 'state', 'reserved'}
for _, s in ipairs(scopes) do
  local skey, bkey, limit, retain = s[1], s[2], s[3], s[4]
  incrBy(bkey, 'reserved', cost)
  rcall('HSET', bkey, 'l:' .. id, ARGV[11], 'limit', string.format('%d', limit))
  rcall('ZADD', bkey .. ':leases', expires, id)
  if retain > 0 then
    rcall('PEXPIRE', bkey, retain)
    rcall('PEXPIRE', bkey .. ':leases', retain)
  end
  fields[#fields + 1] = 's:' .. skey
  fields[#fields + 1] = ARGV[11]
end
rcall('HSET', leaseKey, unpack(fields))
rcall('PEXPIRE', leaseKey, ttl + retention)

return {1, 'new', nowStr, rcall('HGETALL', leaseKey)}
