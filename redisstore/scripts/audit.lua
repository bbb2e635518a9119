-- audit.lua appends entries to the audit chain: the stream entries and the
-- chain head move together, and only when the head is still the one the
-- first entry's hash was computed on (Go computes SHA-256; Redis Lua has
-- none). Several entries in one call are a group commit of concurrent
-- requests; each entry's hash covers the one before it.
--
-- KEYS[1] = the audit stream (A:{audit}:log), KEYS[2] = the chain head
-- (A:{audit}:head: "<stream id> <hash>"); both share the hash tag {audit}.
-- ARGV[1] = the head the first entry was computed on ("" for the first
-- entry of the chain), then per entry: the previous entry's hash, the
-- entry's hash and the event (JSON written by Go).
-- Reply: {"ok", stream id, ...} (one id per entry) or {"stale", current head}.
local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[1] then
  return {'stale', head}
end
local out = {'ok'}
local id, hash
for i = 2, #ARGV, 3 do
  hash = ARGV[i + 1]
  id = redis.call('XADD', KEYS[1], '*', 'prev', ARGV[i], 'hash', hash, 'event', ARGV[i + 2])
  out[#out + 1] = id
end
if id then
  redis.call('SET', KEYS[2], id .. ' ' .. hash)
end
return out
