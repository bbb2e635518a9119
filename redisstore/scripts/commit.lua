-- commit.lua applies a set of resource writes atomically (standalone Redis,
-- or a Cluster commit whose keys share one hash slot).
--
-- KEYS: every key the writes and guards touch; ARGV refers to them by index.
-- ARGV[1] = number of writes, ARGV[2] = number of guards, ARGV[3] = "" (txid),
-- then per write: kCur kHist kTypeHist kPend expectVid mode record
--   historyMember historyScore nIndexOps, then nIndexOps × (op kKey member score)
--   (mode "w" writes, "c" only checks the expected version),
-- then per guard: expectedIds nClauses, per clause: nRanges, per range:
--   kind (L lex, S set, Z score, R resource) kKey min max.
-- Reply: {"ok"}, {"conflict", write#, actualVid}, {"locked", write#, txid}
--   or {"guard", guard#, foundIds}. Nothing is written unless the reply is ok.
local nw, ng = tonumber(ARGV[1]), tonumber(ARGV[2])
local writes, fail = check_all(nw, ng, 4)
if fail then return fail end
for i = 1, nw do
  local w = writes[i]
  if w.mode == 'w' then install(w, w.old) end
end
return {'ok'}
