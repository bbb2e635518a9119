-- reindex.lua writes the index entries of one generation for resources
-- whose current version is still the one the entries were computed from
-- (a reindex fills the next generation while writers keep writing).
--
-- KEYS: the current-version keys and index keys; ARGV refers to them by index.
-- ARGV[1] = number of resources, then per resource: kCur expectedVid nOps,
--   then nOps × (op kKey member score) as in commit.lua.
-- Reply: the 1-based numbers of the resources not written because their
--   version moved, they were deleted, or a Cluster transaction holds them
--   (the caller reads them again).
local n = tonumber(ARGV[1])
local a = 2
local moved = {}
for i = 1, n do
  local cur = KEYS[tonumber(ARGV[a])]
  local expect = tonumber(ARGV[a + 1])
  local nix = tonumber(ARGV[a + 2])
  local v = redis.call('GET', cur)
  if v and rec_vid(v) == expect and rec_tx(v) == '' and not rec_deleted(v) then
    apply_index({ix = a + 3, nix = nix})
  else
    moved[#moved + 1] = i
  end
  a = a + 3 + 4 * nix
end
return moved
