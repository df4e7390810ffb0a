--[[
  Settles a lease, once: for every budget scope of the lease, the reservation still held is
  released (reserved -= held) and the actual cost is added (spent += actual); the lease's token
  weights in the key's sliding log become the actual tokens (if the admission is still in the
  window). A lease whose TTL passed had its reservation reclaimed already: only spent += actual
  happens, so a slow worker's spend is recorded exactly once. A settled lease is final: settling
  again (or after a refund) changes nothing and returns the record.

  Input:
    KEYS[1] lease hash  <prefix>:lease:<leaseId>

    ARGV[1] prefix
    ARGV[2] mode: 'actual' | 'worst_case' (outcome unknown: charge the reservation) |
                  'refund' (the call never reached the provider: cost 0, request slot released)
    ARGV[3] actual cost µ$        (mode 'actual')
    ARGV[4] actual input tokens   (mode 'actual')
    ARGV[5] actual output tokens  (mode 'actual')

  Output:
    {'unknown', now ms}  no such lease (never admitted, or its record's retention passed)
    {'settled' | 'already_settled', now ms, lease hash as field/value list}
]]
local rcall = redis.call

--- @include "includes/admission"

local leaseKey, prefix, mode = KEYS[1], ARGV[1], ARGV[2]
local _, now = serverNow()
local nowStr = string.format('%.3f', now)

local flat = rcall('HGETALL', leaseKey)
if #flat == 0 then return {'unknown', nowStr} end
local h = {}
for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
if h.state == 'settled' then return {'already_settled', nowStr, flat} end

local cost, tin, tout
if mode == 'actual' then
  cost, tin, tout = ARGV[3], ARGV[4], ARGV[5]
elseif mode == 'worst_case' then
  cost, tin, tout = h.cost, h['in'], h.out
else
  cost, tin, tout = '0', '0', '0'
end
local id = h.id

for field, _ in pairs(h) do
  if string.sub(field, 1, 2) == 's:' then
    local bkey = prefix .. ':budget:' .. string.sub(field, 3)
    reclaimExpired(bkey, now)
    local held = rcall('HGET', bkey, 'l:' .. id)
    if held then
      incrBy(bkey, 'reserved', -tonumber(held))
      rcall('HDEL', bkey, 'l:' .. id)
      rcall('ZREM', bkey .. ':leases', id)
    end
    incrBy(bkey, 'spent', tonumber(cost))
  end
end

local logKey = prefix .. ':key:' .. h.key .. ':log'
local wKey = prefix .. ':key:' .. h.key .. ':w'
if rcall('ZSCORE', logKey, id) then
  local ci, co = num(rcall('HGET', wKey, 'i:' .. id)), num(rcall('HGET', wKey, 'o:' .. id))
  if mode == 'refund' then
    incrBy(wKey, 'isum', -ci)
    incrBy(wKey, 'osum', -co)
    rcall('HDEL', wKey, 'i:' .. id, 'o:' .. id)
    rcall('ZREM', logKey, id)
  else
    incrBy(wKey, 'isum', tonumber(tin) - ci)
    incrBy(wKey, 'osum', tonumber(tout) - co)
    rcall('HSET', wKey, 'i:' .. id, tin, 'o:' .. id, tout)
  end
end

rcall('HSET', leaseKey, 'state', 'settled', 'outcome', mode, 'actual_cost', cost,
  'actual_in', tin, 'actual_out', tout, 'settled', nowStr)
return {'settled', nowStr, rcall('HGETALL', leaseKey)}
