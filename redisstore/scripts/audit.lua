-- audit.lua appends one entry to the audit chain: the stream entry and the
-- chain head move together, and only when the head is still the one the
-- entry's hash was computed on (Go computes SHA-256; Redis Lua has none).
--
-- KEYS[1] = the audit stream (A:{audit}:log), KEYS[2] = the chain head
-- (A:{audit}:head: "<stream id> <hash>"); both share the hash tag {audit}.
-- ARGV[1] = the head the entry was computed on ("" for the first entry),
-- ARGV[2] = the previous entry's hash, ARGV[3] = the entry's hash,
-- ARGV[4] = the event (JSON written by Go).
-- Reply: {"ok", stream id} or {"stale", current head}.
local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[1] then
  return {'stale', head}
end
local id = redis.call('XADD', KEYS[1], '*', 'prev', ARGV[2], 'hash', ARGV[3], 'event', ARGV[4])
redis.call('SET', KEYS[2], id .. ' ' .. ARGV[3])
return {'ok', id}
