-- lease.lua acquires or renews a lease (the pull scheduler's leader lock):
-- it takes a free lease, extends one the holder already has, and leaves a
-- lease held by another alone. A holder that lost its lease (expired and
-- taken) learns so from the reply and stops.
--
-- KEYS[1] = the lease (P:lease:<name>)
-- ARGV[1] = the holder, ARGV[2] = time to live in ms,
-- ARGV[3] = "release" to give the lease up instead (only when held by ARGV[1]).
-- Reply: 1 when ARGV[1] holds the lease after the call (0 after a release), else 0.
local h = redis.call('GET', KEYS[1])
if ARGV[3] == 'release' then
  if h == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return 0
end
if not h then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if h == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
