-- commitbatch.lua applies several independent commits in one call (group
-- commit: the commits of concurrent writers that queued while the previous
-- call ran, standalone Redis only). Each commit is checked and applied as
-- commit.lua would, in order, and alone: one that fails its checks writes
-- nothing and the others go ahead; each sees the effects of those before it.
--
-- KEYS: the keys of every commit, one after the other.
-- ARGV[1] = number of commits n, then n × (number of keys, number of
--   arguments) of each commit, then each commit's ARGV as in commit.lua (its
--   key indexes counted within its own keys).
-- Reply: one commit.lua reply per commit, in order.
local n = tonumber(ARGV[1])
local ko, ao = 0, 1 + 2 * n
local replies = {}
for c = 1, n do
  local nk, na = tonumber(ARGV[2 * c]), tonumber(ARGV[2 * c + 1])
  local k, v = {}, {}
  for i = 1, nk do k[i] = KEYS[ko + i] end
  for i = 1, na do v[i] = ARGV[ao + i] end
  A, K = v, k
  replies[c] = commit_one()
  ko, ao = ko + nk, ao + na
end
return replies
