-- abort.lua rolls back the prepared writes of one shard of a Cluster
-- transaction that did not commit: pending hashes carrying the txid are
-- deleted and the current records lose their mark (placeholders vanish).
--
-- KEYS and ARGV as in apply.lua. Reply: {"ok", undone}.
local nw = tonumber(ARGV[1])
local tx = ARGV[3]
local a = 4
local undone = 0
for i = 1, nw do
  local w
  w, a = read_write(a)
  if redis.call('HGET', w.pend, 'tx') == tx then
    redis.call('DEL', w.pend)
    undone = undone + 1
  end
  local cur = redis.call('GET', w.cur)
  if cur and rec_tx(cur) == tx then
    if rec_vid(cur) == 0 then
      redis.call('DEL', w.cur)
    else
      redis.call('SET', w.cur, rec_set_tx(cur, ''))
    end
  end
end
return {'ok', undone}
