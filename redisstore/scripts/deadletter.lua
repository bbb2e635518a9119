-- deadletter.lua puts or removes one dead letter of an ingest channel: the
-- record and its entry in the channel's list, together.
--
-- KEYS[1] = the channel's list (zset P:{dl.<kind>}:z), KEYS[2] = the record
-- (P:{dl.<kind>}:r:<id>); both share the hash tag {dl.<kind>}.
-- ARGV[1] = "put" or "del", ARGV[2] = id, ARGV[3] = received ms (put),
-- ARGV[4] = the record (put).
-- Reply: 1 when the record existed before, else 0.
local existed = redis.call('EXISTS', KEYS[2])
if ARGV[1] == 'del' then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[1], ARGV[2])
  return existed
end
redis.call('SET', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
return existed
