-- zcount.lua counts the members of many sorted sets within score ranges in
-- one call (the counts of $regional-capacity: thousands per request, which
-- one by one would cost a reply object each). Read-only; the caller sends
-- at most a few thousand ranges per call, so a call stays short.
--
-- KEYS: the sorted sets (a key may repeat with other bounds).
-- ARGV: per key, min and max in ZCOUNT syntax ("-inf", "(5", "17").
-- Reply: an array of counts, one per key.
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('ZCOUNT', KEYS[i], ARGV[2 * i - 1], ARGV[2 * i])
end
return out
