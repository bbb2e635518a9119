-- txstate.lua moves a Cluster transaction record from one state to another
-- atomically: the coordinator flips preparing → committed, recovery flips a
-- stale preparing → aborted; whichever runs first wins.
--
-- KEYS[1] = the transaction record (hash with field "state").
-- ARGV[1] = the state required, ARGV[2] = the new state.
-- Reply: 1 when moved, else the current state ("" when the record is gone).
local st = redis.call('HGET', KEYS[1], 'state')
if st == ARGV[1] then
  redis.call('HSET', KEYS[1], 'state', ARGV[2])
  return 1
end
return st or ''
