-- advance.lua records a durable pull page: the ids it wrote join the held
-- set of the source's type, and the type's cursor moves forward (never back).
--
-- KEYS[1] = the source's cursor hash (P:{pull.<src>}:cursor)
-- KEYS[2] = the held set of the type (P:{pull.<src>}:held:<T>)
-- ARGV[1] = the resource type (field of the cursor hash)
-- ARGV[2] = the new cursor in epoch ms ("" or "0": leave the cursor)
-- ARGV[3…] = ids to add to the held set
-- Reply: the cursor after the call (ms as a string; "" when none).
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local new = tonumber(ARGV[2])
if new and new > 0 and (not cur or new > tonumber(cur)) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  cur = ARGV[2]
end
for i = 3, #ARGV, 500 do
  local last = math.min(i + 499, #ARGV)
  redis.call('SADD', KEYS[2], unpack(ARGV, i, last))
end
return cur or ''
