-- common.lua is prepended to every script (see scripts.go): helpers shared
-- by commit, prepare, apply and abort.
--
-- A version record is: "v<vid>\t<txid>\t<lastUpdated ms>\t<flags>\t<owner>\t<channel>\t<source>\t<srclo>\n<json>"
-- (records written before the source time was added lack "\t<srclo>").
-- txid is non-empty only while a Cluster transaction holds the resource;
-- srclo is the lower bound of the version's source time in Unix ms, or empty.

-- The helpers read a script's arguments through A and K (ARGV and KEYS, or
-- one commit's share of them in commitbatch.lua).
local A, K = ARGV, KEYS

local function rec_vid(v)
  if not v then return 0 end
  return tonumber(string.match(v, '^v(%d+)')) or 0
end

local function rec_tx(v)
  if not v then return '' end
  return string.match(v, '^v%d+\t([^\t]*)\t') or ''
end

local function rec_deleted(v)
  local flags = string.match(v, '^v%d+\t[^\t]*\t[^\t]*\t([^\t]*)\t')
  return flags ~= nil and string.find(flags, 'd', 1, true) ~= nil
end

-- rec_srclo returns the source time's lower bound of a record, or nil.
local function rec_srclo(v)
  if not v then return nil end
  local lo = string.match(v, '^v%d+\t[^\t\n]*\t[^\t\n]*\t[^\t\n]*\t[^\t\n]*\t[^\t\n]*\t[^\t\n]*\t(%-?%d+)\n')
  return tonumber(lo)
end

-- rec_set_tx rewrites the txid field of a record.
local function rec_set_tx(v, tx)
  local vid, rest = string.match(v, '^v(%d+)\t[^\t]*(\t.*)$')
  return 'v' .. vid .. '\t' .. tx .. rest
end

-- id_of returns the resource id of an index member: lex members are
-- "value\0system\0id"; zset and set members are "id" or "id|suffix".
local function id_of(kind, m)
  if kind == 'L' then
    return string.match(m, '([^%z]*)$')
  end
  return string.match(m, '^([^|]*)')
end

-- read_write parses one write's fixed fields starting at A[a]; it returns
-- the write and the index of the next unread ARGV.
local function read_write(a)
  local w = {
    cur = K[tonumber(A[a])], hist = K[tonumber(A[a + 1])], thist = K[tonumber(A[a + 2])],
    pend = K[tonumber(A[a + 3])], expect = tonumber(A[a + 4]), mode = A[a + 5],
    rec = A[a + 6], hmember = A[a + 7], hscore = A[a + 8], cond = A[a + 9], srchi = A[a + 10],
    nix = tonumber(A[a + 11]), ix = a + 12,
  }
  return w, a + 12 + 4 * w.nix
end

-- skip_reason says whether a write must leave the stored resource as it is:
-- 'u' (unchanged) for an if-absent write over a live resource, 's'
-- (superseded) when the stored version's source time starts at or after the
-- write's source-time upper bound (strictly newer at the coarser
-- precision); nil when the write goes ahead.
local function skip_reason(w, cur)
  if w.cond == 'a' and cur and rec_vid(cur) > 0 and not rec_deleted(cur) then return 'u' end
  if w.srchi ~= '' and cur then
    local lo = rec_srclo(cur)
    if lo and lo >= tonumber(w.srchi) then return 's' end
  end
  return nil
end

-- apply_index runs a write's index operations, or with registry_only just
-- its registry additions ('+S', '+Z': the never-shrinking sets of systems,
-- codes and display texts seen), for a write that is skipped: Go sends each
-- registry entry once per commit, on the first write that has it, whether
-- or not that write goes ahead.
local function apply_index(w, registry_only)
  for j = 0, w.nix - 1 do
    local b = w.ix + 4 * j
    local op, key, member, score = A[b], K[tonumber(A[b + 1])], A[b + 2], A[b + 3]
    if registry_only and op ~= '+S' and op ~= '+Z' then
      -- not a registry addition
    elseif op == '+s' or op == '+S' then redis.call('SADD', key, member)
    elseif op == '-s' then redis.call('SREM', key, member)
    elseif op == '+z' or op == '+Z' then redis.call('ZADD', key, score, member)
    elseif op == '-z' or op == '-g' then redis.call('ZREM', key, member)
    elseif op == '+g' then
      local lon, lat = string.match(score, '^([^,]+),(.+)$')
      redis.call('GEOADD', key, lon, lat, member)
    elseif op == '+h' then redis.call('HSET', key, member, score)
    elseif op == '-h' then redis.call('HDEL', key, member)
    end
  end
end

-- install makes a write's new record current: the old record (if any) moves
-- to the history hash, the history zset gains the new version (neither when
-- the history member is empty) and the index operations run.
local function install(w, old)
  -- An empty history member: a record kept without history (projections).
  local hist = w.hmember ~= ''
  if hist and old and rec_vid(old) > 0 then
    redis.call('HSET', w.hist, tostring(rec_vid(old)), rec_set_tx(old, ''))
  end
  redis.call('SET', w.cur, w.rec)
  if hist then redis.call('ZADD', w.thist, w.hscore, w.hmember) end
  apply_index(w)
end

-- eval_guard evaluates the guard starting at A[a]: the ids matching the
-- criteria must equal the expected list. It returns ok, found, next index.
local function eval_guard(a)
  local expected = A[a]
  local nclauses = tonumber(A[a + 1])
  local p = a + 2
  local acc = nil
  for c = 1, nclauses do
    local nr = tonumber(A[p])
    p = p + 1
    local set = {}
    for r = 1, nr do
      local kind, key, lo, hi = A[p], K[tonumber(A[p + 1])], A[p + 2], A[p + 3]
      p = p + 4
      if kind == 'L' then
        for _, m in ipairs(redis.call('ZRANGEBYLEX', key, lo, hi)) do set[id_of('L', m)] = true end
      elseif kind == 'S' then
        for _, m in ipairs(redis.call('SMEMBERS', key)) do set[id_of('S', m)] = true end
      elseif kind == 'Z' then
        for _, m in ipairs(redis.call('ZRANGEBYSCORE', key, lo, hi)) do set[id_of('Z', m)] = true end
      elseif kind == 'R' then
        local v = redis.call('GET', key)
        if v and rec_vid(v) > 0 and not rec_deleted(v) then set[lo] = true end
      end
    end
    if acc == nil then
      acc = set
    else
      for id in pairs(acc) do
        if not set[id] then acc[id] = nil end
      end
    end
  end
  local ids = {}
  for id in pairs(acc or {}) do ids[#ids + 1] = id end
  table.sort(ids)
  local found = table.concat(ids, ',')
  return found == expected, found, p
end

-- check_all verifies every write's expected version and lock, then every
-- guard, and decides which writes are skipped (w.skip, see skip_reason;
-- mode 'k' means Go expects a skip and sent no record, so no skip is a
-- conflict and Go plans again). It returns the writes, nil and the next ARGV
-- index when all hold, else nil and the reply to send.
local function check_all(nw, ng, start)
  local a = start
  local writes = {}
  for i = 1, nw do
    local w
    w, a = read_write(a)
    local cur = redis.call('GET', w.cur)
    local tx = rec_tx(cur)
    if tx ~= '' and tx ~= A[3] then
      return nil, {'locked', i, tx}
    end
    local vid = rec_vid(cur)
    if vid ~= w.expect then
      return nil, {'conflict', i, vid}
    end
    if w.mode == 'w' or w.mode == 'k' then
      w.skip = skip_reason(w, cur)
      if w.mode == 'k' and not w.skip then
        return nil, {'conflict', i, vid}
      end
    end
    w.old = cur
    writes[i] = w
  end
  for g = 1, ng do
    local ok, found
    ok, found, a = eval_guard(a)
    if not ok then
      return nil, {'guard', g, found}
    end
  end
  return writes, nil, a
end

-- skip_list joins the skipped writes as "index reason" pairs: "3u,5s".
local function skip_list(writes, nw)
  local out = {}
  for i = 1, nw do
    if writes[i].skip then out[#out + 1] = i .. writes[i].skip end
  end
  return table.concat(out, ',')
end

-- commit_one is commit.lua's body (see its header) over A and K.
local function commit_one()
  local nw, ng = tonumber(A[1]), tonumber(A[2])
  local writes, fail, a = check_all(nw, ng, 4)
  if fail then return fail end
  for i = 1, nw do
    local w = writes[i]
    if w.mode == 'w' and not w.skip then
      install(w, w.old)
    else
      apply_index(w, true)
    end
  end
  local nr = tonumber(A[a]) or 0
  for r = 0, nr - 1 do
    local b = a + 1 + 3 * r
    local key, value, ttl = K[tonumber(A[b])], A[b + 1], tonumber(A[b + 2])
    if ttl > 0 then
      redis.call('SET', key, value, 'PX', ttl)
    else
      redis.call('SET', key, value)
    end
  end
  a = a + 1 + 3 * nr
  local nl = tonumber(A[a]) or 0
  for l = 0, nl - 1 do
    local b = a + 1 + 2 * l
    local key = K[tonumber(A[b])]
    if redis.call('GET', key) == A[b + 1] then redis.call('DEL', key) end
  end
  return {'ok', skip_list(writes, nw)}
end
