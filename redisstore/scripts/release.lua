-- release.lua ends a lease only when the caller still holds it.
--
-- KEYS[1]: the lease key (P:ls:<kind>:<key>).
-- ARGV[1]: the holder's token.
-- Reply: 1 when released, 0 when the lease had expired or another holder
-- took it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
