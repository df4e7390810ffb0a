--[[
  Reads a budget scope after reclaiming its expired leases (so the answer never counts dead
  reservations). Keys are built here because a monthly scope's period comes from Redis TIME.

  Input:
    ARGV[1] prefix
    ARGV[2] scope
    ARGV[3] period: '' | 'month'

  Output:
    {scopeKey, spent µ$, reserved µ$, limit µ$ (last one admitted with; -1 = none or never seen)}
]]
local rcall = redis.call

--- @include "includes/admission"

local nowSec, now = serverNow()
local skey = scopeKeyOf(ARGV[2], ARGV[3], nowSec)
local bkey = ARGV[1] .. ':budget:' .. skey
reclaimExpired(bkey, now)
local limit = rcall('HGET', bkey, 'limit')
return {skey, num(rcall('HGET', bkey, 'spent')), num(rcall('HGET', bkey, 'reserved')), limit and tonumber(limit) or -1}
