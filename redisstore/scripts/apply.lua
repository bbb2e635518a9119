-- apply.lua is phase three of a Cluster transaction (after its commit record
-- says committed), for the writes of one shard. It is idempotent: a write
-- whose pending hash no longer carries this txid was already applied.
--
-- KEYS and ARGV as in commit.lua with ARGV[2] = 0 guards and ARGV[3] = txid.
-- Reply: {"ok", applied}.
local nw = tonumber(ARGV[1])
local tx = ARGV[3]
local a = 4
local applied = 0
for i = 1, nw do
  local w
  w, a = read_write(a)
  if w.mode == 'w' and redis.call('HGET', w.pend, 'tx') == tx then
    local old = redis.call('GET', w.cur)
    if old and rec_vid(old) == 0 then old = nil end
    install(w, old)
    redis.call('DEL', w.pend)
    applied = applied + 1
  end
end
return {'ok', applied}
