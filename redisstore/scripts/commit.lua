-- commit.lua applies a set of resource writes atomically (standalone Redis,
-- or a Cluster commit whose keys share one hash slot).
--
-- KEYS: every key the writes and guards touch; ARGV refers to them by index.
-- ARGV[1] = number of writes, ARGV[2] = number of guards, ARGV[3] = "" (txid),
-- then per write: kCur kHist kTypeHist kPend expectVid mode record
--   historyMember historyScore cond srcHi nIndexOps, then nIndexOps × (op kKey
--   member score) (mode "w" writes, "c" only checks the expected version, "k"
--   expects the stored resource to be kept; cond "a" writes only when no live
--   resource exists; srcHi, when not empty, skips the write when the stored
--   version's source time starts at or after it),
-- then per guard: expectedIds nClauses, per clause: nRanges, per range:
--   kind (L lex, S set, Z score, R resource) kKey min max,
-- then nReceipts (0 or 1) and per receipt: kKey value ttlMs (0: no expiry),
-- then nReleases (0 or 1) and per release: kLease holder (the lease is
-- deleted when holder has it; written by lease.lua).
-- Reply: {"ok", skipped} (skipped: "3u,5s", write# and u unchanged or s
--   superseded), {"conflict", write#, actualVid}, {"locked", write#, txid}
--   or {"guard", guard#, foundIds}. Nothing is written unless the reply is ok.
local nw, ng = tonumber(ARGV[1]), tonumber(ARGV[2])
local writes, fail, a = check_all(nw, ng, 4)
if fail then return fail end
for i = 1, nw do
  local w = writes[i]
  if w.mode == 'w' and not w.skip then install(w, w.old) end
end
local nr = tonumber(ARGV[a]) or 0
for r = 0, nr - 1 do
  local b = a + 1 + 3 * r
  local key, value, ttl = KEYS[tonumber(ARGV[b])], ARGV[b + 1], tonumber(ARGV[b + 2])
  if ttl > 0 then
    redis.call('SET', key, value, 'PX', ttl)
  else
    redis.call('SET', key, value)
  end
end
a = a + 1 + 3 * nr
local nl = tonumber(ARGV[a]) or 0
for l = 0, nl - 1 do
  local b = a + 1 + 2 * l
  local key = KEYS[tonumber(ARGV[b])]
  if redis.call('GET', key) == ARGV[b + 1] then redis.call('DEL', key) end
end
return {'ok', skip_list(writes, nw)}
