-- search.lua evaluates a search over one or more shards of one resource
-- type (on standalone Redis all shards in one call; on a Cluster one shard
-- per call, since a script may only touch one slot).
--
-- KEYS: every index key the plan names; the plan refers to them by index.
-- ARGV[1]: the plan, JSON: {budget, shards: [shard…]}, each shard
--   {f: [filter…], lu: key of the _lastUpdated zset, sort: {t, k, d, w, x},
--    count, after: {v, id} | null, total: bool, resume: …}.
-- Filters (all ANDed):
--   {t:"set", k:[…]}                        member of any of the sets
--   {t:"lex", k, r:[[min,max]…], x:[prefix…]}
--                                            a lex range; x lists exact member
--                                            prefixes (prefix..id) for O(1) checks
--   {t:"scan", k, sub}                       string :contains, a scan of the lex index
-- Strings that may hold any byte (range bounds, prefixes, codes) are not in
-- the JSON: the plan holds their ARGV index.
--   {t:"date", k, x, wl, wh, w, c:[[op,lo,hi]…], a, b}
--                                            narrow zset k (score = lower bound,
--                                            width w unless the exceptions hash x
--                                            says otherwise), wide zsets wl/wh;
--                                            scan window [a, b] on the narrow index
--   {t:"num", k, c:[[op,lo,hi,v]…]}          a number zset
--   {t:"ids", ids:[…]}                       explicit ids
--   {t:"geo", k, lon, lat, r}                within r km (records the distance)
--   {t:"not", f}                             the negation of f
-- Sort {t:"score"|"id"|"geo"|"none", k, d}: "score" reads a zset score (a date
-- sort reads the narrow index and exceptions), d = descending.
-- Reply (JSON): per shard {m: [[id, sortvalue, distance]…] in order, n: matches
-- counted (when total), done: bool, resume: …, est: estimate, work}.
local plan = cjson.decode(ARGV[1])
local work = 0
local budget = tonumber(plan.budget) or 8000

local function call(...)
  work = work + 1
  return redis.call(...)
end

-- shortv mirrors keys.go shortValue: long key-name parts are hashed.
local function shortv(v)
  if #v <= 48 and string.sub(v, 1, 1) ~= '#' then return v end
  return '#' .. string.sub(redis.sha1hex(v), 1, 24)
end

-- setkeys resolves a set filter's keys: the given ones, plus for "any
-- system" codes (any) every system seen ("~" registry) and for "any code of
-- a system" (sys) every code seen in it ("~:system" registry).
local function setkeys(f)
  if f.resolved then return f.resolved end
  local out = {}
  for _, k in ipairs(f.k or {}) do out[#out + 1] = KEYS[k] end
  if f.any or f.sys or f.texts then
    if f.any and #f.any > 0 then
      for _, system in ipairs(call('SMEMBERS', f.pfx .. '~')) do
        for _, ci in ipairs(f.any) do out[#out + 1] = f.pfx .. shortv(system .. '|' .. ARGV[ci]) end
      end
    end
    for _, si in ipairs(f.sys or {}) do
      local system = ARGV[si]
      for _, code in ipairs(call('SMEMBERS', f.pfx .. shortv('~:' .. system))) do
        out[#out + 1] = f.pfx .. shortv(system .. '|' .. code)
      end
    end
    -- :text: display prefixes → the codes they display → their value sets
    local texts = f.texts or {}
    for i = 1, #texts, 2 do
      for _, m in ipairs(call('ZRANGEBYLEX', KEYS[f.treg], ARGV[texts[i]], ARGV[texts[i + 1]])) do
        local value = string.match(m, '%z(.*)$')
        out[#out + 1] = f.pfx .. shortv(value)
      end
    end
  end
  f.resolved = out
  return out
end

-- czkeys resolves a compound filter's keys: the cartesian product of each
-- part's values (exact system|code, or a code in every system seen).
local function czkeys(f)
  if f.resolved then return f.resolved end
  local combos = {''}
  for pi, part in ipairs(f.parts) do
    local vals = {}
    for _, vi in ipairs(part.exact) do vals[#vals + 1] = ARGV[vi] end
    if #part.any > 0 then
      for _, system in ipairs(call('SMEMBERS', part.pfx .. '~')) do
        for _, ci in ipairs(part.any) do vals[#vals + 1] = system .. '|' .. ARGV[ci] end
      end
    end
    local next = {}
    for _, c in ipairs(combos) do
      for _, v in ipairs(vals) do next[#next + 1] = c .. ':' .. shortv(v) end
    end
    combos = next
  end
  local out = {}
  for _, c in ipairs(combos) do out[#out + 1] = f.cpfx .. string.sub(c, 2) end
  f.resolved = out
  return out
end

local function idof(m)
  return string.match(m, '^([^|]*)')
end

local function lexid(m)
  return string.match(m, '([^%z]*)$')
end

-- date ranges of one id in a date filter: a list of {lo, hi}
local function dranges(f, id)
  if f.x then
    local ex = call('HGET', KEYS[f.x], id)
    if ex then
      local out = {}
      for lo, hi in string.gmatch(ex, '([^:,]+):([^,]+)') do
        out[#out + 1] = {tonumber(lo) or -1/0, tonumber(hi) or 1/0}
      end
      return out
    end
  end
  local s = call('ZSCORE', KEYS[f.k], id)
  if not s then return {} end
  s = tonumber(s)
  return {{s, s + f.w}}
end

-- date condition: op with search range [slo, shi] against target [lo, hi]
local function dmatch(op, slo, shi, lo, hi)
  if op == 'eq' or op == 'ap' then return lo >= slo and hi <= shi end
  if op == 'ne' then return not (lo >= slo and hi <= shi) end
  if op == 'gt' then return hi > shi end
  if op == 'lt' then return lo < slo end
  if op == 'ge' then return hi > shi or (lo >= slo and hi <= shi) end
  if op == 'le' then return lo < slo or (lo >= slo and hi <= shi) end
  if op == 'sa' then return lo > shi end
  if op == 'eb' then return hi < slo end
  if op == 'has' then return true end
  return false
end

local function nmatch(op, slo, shi, v, t)
  if op == 'eq' or op == 'ap' then return t >= slo and t < shi end
  if op == 'ne' then return not (t >= slo and t < shi) end
  if op == 'gt' then return t > v end
  if op == 'lt' then return t < v end
  if op == 'ge' then return t >= v end
  if op == 'le' then return t <= v end
  if op == 'sa' then return t > v end
  if op == 'eb' then return t < v end
  return false
end

-- every condition of a date filter must hold for some value of the id
local function datecheck(f, id)
  local rs = dranges(f, id)
  if #rs == 0 then return false end
  for _, c in ipairs(f.c) do
    local ok = false
    for _, r in ipairs(rs) do
      if dmatch(c[1], c[2], c[3], r[1], r[2]) then ok = true break end
    end
    if not ok then return false end
  end
  return true
end

local matcache = {}
-- materialise a filter's ids into a table (for lex ranges without exact
-- prefixes and for geo)
local function materialise(f, fi)
  if matcache[fi] then return matcache[fi] end
  local t = {}
  if f.t == 'lex' then
    for _, r in ipairs(f.r) do
      for _, m in ipairs(call('ZRANGEBYLEX', KEYS[f.k], ARGV[r[1]], ARGV[r[2]])) do t[lexid(m)] = true end
    end
  elseif f.t == 'geo' then
    for _, e in ipairs(call('GEOSEARCH', KEYS[f.k], 'FROMLONLAT', f.lon, f.lat, 'BYRADIUS', f.r, 'km', 'WITHDIST')) do
      t[e[1]] = tonumber(e[2])
    end
  elseif f.t == 'scan' then
    local start = '-'
    while true do
      local chunk = call('ZRANGEBYLEX', KEYS[f.k], start, '+', 'LIMIT', 0, 500)
      for _, m in ipairs(chunk) do
        local norm = string.match(m, '^([^%z]*)')
        if string.find(norm, ARGV[f.sub], 1, true) then t[lexid(m)] = true end
      end
      if #chunk < 500 then break end
      start = '(' .. chunk[#chunk]
    end
  end
  matcache[fi] = t
  return t
end

local check
check = function(f, fi, id)
  local t = f.t
  if t == 'set' then
    for _, k in ipairs(setkeys(f)) do
      if call('SISMEMBER', k, id) == 1 then return true end
    end
    return false
  elseif t == 'lex' then
    if f.x and #f.x <= 8 then
      for _, p in ipairs(f.x) do
        if call('ZSCORE', KEYS[f.k], ARGV[p] .. id) then return true end
      end
      return false
    end
    return materialise(f, fi)[id] ~= nil
  elseif t == 'scan' or t == 'geo' then
    return materialise(f, fi)[id] ~= nil
  elseif t == 'date' then
    return datecheck(f, id)
  elseif t == 'num' then
    local s = call('ZSCORE', KEYS[f.k], id)
    if not s then return false end
    s = tonumber(s)
    for _, c in ipairs(f.c) do
      if not nmatch(c[1], c[2], c[3], c[4], s) then return false end
    end
    return true
  elseif t == 'ids' then
    if not f.set then
      f.set = {}
      for _, x in ipairs(f.ids) do f.set[x] = true end
    end
    return f.set[id] == true
  elseif t == 'not' then
    return not check(f.f, fi .. 'n', id)
  elseif t == 'cz' then
    for _, k in ipairs(czkeys(f)) do
      if call('ZSCORE', k, id) then return true end
    end
    return false
  end
  return false
end

-- cardinality estimate of a filter (nil: cannot drive)
local function card(f, fi)
  local t = f.t
  if t == 'set' then
    local n = 0
    for _, k in ipairs(setkeys(f)) do n = n + call('SCARD', k) end
    return n
  elseif t == 'lex' then
    local n = 0
    for _, r in ipairs(f.r) do n = n + call('ZLEXCOUNT', KEYS[f.k], ARGV[r[1]], ARGV[r[2]]) end
    return n
  elseif t == 'date' then
    local n = call('ZCOUNT', KEYS[f.k], f.a, f.b)
    if f.wl then n = n + call('ZCARD', KEYS[f.wl]) end
    return n
  elseif t == 'num' then
    return call('ZCOUNT', KEYS[f.k], f.a or '-inf', f.b or '+inf')
  elseif t == 'ids' then
    return #f.ids
  elseif t == 'cz' then
    local n = 0
    for _, k in ipairs(czkeys(f)) do n = n + call('ZCOUNT', k, f.a, f.b) end
    return n
  elseif t == 'geo' then
    local n = 0
    for _ in pairs(materialise(f, fi)) do n = n + 1 end
    return n
  end
  return nil
end

-- iterate the candidates of a driving filter
local function drive(f, fi, fn)
  local t = f.t
  if t == 'set' then
    for _, k in ipairs(setkeys(f)) do
      for _, id in ipairs(call('SMEMBERS', k)) do fn(id) end
    end
  elseif t == 'lex' then
    for _, r in ipairs(f.r) do
      for _, m in ipairs(call('ZRANGEBYLEX', KEYS[f.k], ARGV[r[1]], ARGV[r[2]])) do fn(lexid(m)) end
    end
  elseif t == 'date' then
    for _, m in ipairs(call('ZRANGEBYSCORE', KEYS[f.k], f.a, f.b)) do fn(idof(m)) end
    if f.wl then
      for _, m in ipairs(call('ZRANGE', KEYS[f.wl], 0, -1)) do fn(idof(m)) end
    end
  elseif t == 'num' then
    for _, m in ipairs(call('ZRANGEBYSCORE', KEYS[f.k], f.a or '-inf', f.b or '+inf')) do fn(idof(m)) end
  elseif t == 'ids' then
    for _, id in ipairs(f.ids) do fn(id) end
  elseif t == 'geo' or t == 'scan' then
    for id in pairs(materialise(f, fi)) do fn(id) end
  elseif t == 'cz' then
    for _, k in ipairs(czkeys(f)) do
      for _, id in ipairs(call('ZRANGEBYSCORE', k, f.a, f.b)) do fn(id) end
    end
  end
end

-- the sort value of an id
local function sortval(sh, id, geo)
  local s = sh.sort
  if s.t == 'id' or s.t == 'none' then return id end
  if s.t == 'geo' then return geo[id] end
  if s.x then
    local ex = call('HGET', KEYS[s.x], id)
    if ex then
      local best = nil
      for lo, hi in string.gmatch(ex, '([^:,]+):([^,]+)') do
        local v = tonumber(lo)
        if v and (best == nil or (s.d and v > best) or (not s.d and v < best)) then best = v end
      end
      return best
    end
  end
  local v = call('ZSCORE', KEYS[s.k], id)
  if v then return tonumber(v) end
  return nil
end

-- order: ascending (value, id) or descending (value, id); missing values last
local function before(sh, a, b)
  local av, bv = a[2], b[2]
  if av == bv then
    if sh.sort.d then return a[1] > b[1] end
    return a[1] < b[1]
  end
  if av == nil then return false end
  if bv == nil then return true end
  if sh.sort.d then return av > bv end
  return av < bv
end

local function afterCursor(sh, e)
  local c = sh.after
  if not c then return true end
  local cv = c.v
  if cv == cjson.null then cv = nil end
  local probe = {c.id, cv}
  return before(sh, probe, e)
end

local function allchecks(sh, skip, id)
  for fi, f in ipairs(sh.f) do
    if fi ~= skip and not check(f, fi, id) then return false end
  end
  return true
end

local function geotable(sh)
  for fi, f in ipairs(sh.f) do
    if f.t == 'geo' then return materialise(f, fi) end
  end
  return {}
end

-- collect: drive from the most selective filter, check the others, sort.
local function collect(sh, driver, limit)
  local seen, out, n = {}, {}, 0
  local df = sh.f[driver]
  local exactDriver = -1
  if df and (df.t == 'set' or df.t == 'lex' or df.t == 'ids' or df.t == 'geo' or df.t == 'scan' or df.t == 'cz') then exactDriver = driver end
  local idsDriver = df and df.t == 'ids' 
  local geo = geotable(sh)
  local over = false
  local function visit(id)
    if over or seen[id] then return end
    seen[id] = true
    if work > budget then over = true return end
    if not allchecks(sh, exactDriver, id) then return end
    if idsDriver and not call('ZSCORE', KEYS[sh.lu], id) then return end
    local e = {id, sortval(sh, id, geo), geo[id]}
    if afterCursor(sh, e) then
      n = n + 1
      out[#out + 1] = e
    end
  end
  if driver == 0 then
    for _, id in ipairs(call('ZRANGE', KEYS[sh.lu], 0, -1)) do visit(id) end
  else
    drive(sh.f[driver], driver, visit)
  end
  if over then return nil end
  table.sort(out, function(a, b) return before(sh, a, b) end)
  local page = {}
  for i = 1, math.min(limit, #out) do page[i] = out[i] end
  return page, n
end

-- stream: walk the sort index in order from the cursor, check every filter,
-- stop at count matches or when the budget is spent (resume later).
local function stream(sh, limit)
  local s = sh.sort
  local key = KEYS[s.k]
  if s.cz then
    local ks = czkeys(sh.f[s.cz])
    if #ks == 1 then key = ks[1] end
  end
  local out = {}
  local geo = geotable(sh)
  local lo, hi = '-inf', '+inf'
  local pos = sh.resume
  if pos then
    if s.d then hi = pos.v else lo = pos.v end
  elseif sh.after and sh.after.v ~= cjson.null then
    if s.d then hi = sh.after.v else lo = sh.after.v end
  end
  local skipUntil = (pos and pos.m) or (sh.after and sh.after.id)
  local seen = {}
  while true do
    local chunk
    if s.d then
      chunk = call('ZREVRANGEBYSCORE', key, hi, lo, 'WITHSCORES', 'LIMIT', 0, 200)
    else
      chunk = call('ZRANGEBYSCORE', key, lo, hi, 'WITHSCORES', 'LIMIT', 0, 200)
    end
    local last, lastScore = nil, nil
    for i = 1, #chunk, 2 do
      local m, sc = chunk[i], chunk[i + 1]
      last, lastScore = m, sc
      local id = idof(m)
      local boundary = (s.d and sc == hi) or (not s.d and sc == lo)
      local skip = false
      if skipUntil and boundary then
        if s.d then skip = id >= skipUntil else skip = id <= skipUntil end
      end
      if not skip and not seen[id] then
        seen[id] = true
        if allchecks(sh, -1, id) then
          out[#out + 1] = {id, tonumber(sc), geo[id]}
          if #out >= limit then
            return out, {v = sc, m = m}, false
          end
        end
      end
      if work > budget then
        return out, {v = sc, m = m}, true
      end
    end
    if #chunk < 400 then return out, nil, false end
    if s.d then hi = lastScore else lo = lastScore end
    skipUntil = idof(last)
  end
end

local function estimate(sh, driverCard)
  return driverCard
end

local replies = {}
for si, sh in ipairs(plan.shards) do
  matcache = {}
  local r = {}
  if work > budget then
    r.pending = true
  else
    local limit = tonumber(sh.count)
    -- choose a driver: the filter with the smallest cardinality
    local driver, best = 0, nil
    for fi, f in ipairs(sh.f) do
      if f.t ~= 'not' then
        local c = card(f, fi)
      if c and (best == nil or c < best) then driver, best = fi, c end
      end
    end
    if best == nil then best = call('ZCARD', KEYS[sh.lu]) end
    r.est = best
    local streamable = sh.sort.t == 'score' and sh.sort.k ~= nil
    local useStream = streamable and not sh.total and (best > sh.collectmax or sh.resume)
    if not useStream then
      local page, n = collect(sh, driver, limit)
      if page == nil then
        if streamable then
          useStream = true
        else
          r.over = true
        end
      else
        r.m, r.n, r.done = page, n, true
      end
    end
    if useStream then
      local page, pos, partial = stream(sh, limit)
      r.m, r.resume, r.done = page, pos, not partial
      r.streamed = true
    end
  end
  r.work = work
  replies[si] = r
end
return cjson.encode(replies)
