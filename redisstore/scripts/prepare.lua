-- prepare.lua is phase one of a Cluster transaction for the writes of one
-- shard: it checks versions, locks and this shard's share of the guards like
-- commit.lua, then parks each new record in its pending hash and marks the
-- current record (or a "v0" placeholder) with the transaction id, so readers
-- and writers know a commit is in flight.
--
-- Skipped writes (if-absent over a live resource, an older source time) are
-- neither parked nor marked. Receipts are not passed here: the coordinator
-- keeps them in the transaction record and writes them when it applies.
--
-- KEYS and ARGV as in commit.lua, with ARGV[3] = txid and no receipts.
-- Reply as commit.lua.
local nw, ng = tonumber(ARGV[1]), tonumber(ARGV[2])
local tx = ARGV[3]
local writes, fail = check_all(nw, ng, 4)
if fail then return fail end
for i = 1, nw do
  local w = writes[i]
  if w.mode == 'w' and not w.skip then
    redis.call('HSET', w.pend, 'tx', tx, 'rec', w.rec)
    if w.old then
      redis.call('SET', w.cur, rec_set_tx(w.old, tx))
    else
      redis.call('SET', w.cur, 'v0\t' .. tx .. '\t0\t\t\t\t\n')
    end
  end
end
return {'ok', skip_list(writes, nw)}
