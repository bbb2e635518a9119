-- search.lua evaluates a search over one or more shards of one resource
-- type (on standalone Redis all shards in one call; on a Cluster one shard
-- per call, since a script may only touch one slot). It never decodes a
-- resource: every condition is answered from index keys.
--
-- KEYS: every key the plan names; the plan refers to them by index.
-- ARGV[1]: the plan, JSON: {budget, shards: [shard…]}. Strings that may
--   hold any byte (range bounds, prefixes, codes, substrings) are not in the
--   JSON: the plan holds their ARGV index.
-- A shard: {f: [filter…], lu: key of the _lastUpdated zset, fence: key of
--   the shard's read-generation set, gen: the generation the plan's keys
--   belong to, mode: "page"|"collect"|"count", count, multi, window, collectmax,
--   matmax, sort: {t, keys, x, nk, d, czi}, after: {vs, id, lu} | null,
--   resume: the state a previous call returned}.
-- Filters (all ANDed; alternatives inside one filter are ORed):
--   {t:"set", k:[…], any, sys, texts, pfx, treg}   member of any of the sets
--   {t:"lex", k, r:[[min,max]…], x:[prefix…]}     a lex range; x lists exact
--                                                  member prefixes (prefix..id)
--   {t:"scan", k, subs:[…]}                       :contains, a scan of the lex index
--   {t:"date", k, x, w, c:[[[op,lo,hi]…]…], a, b, wk, wpfx, win}
--       narrow zset k (score = lower bound, width w unless the exceptions
--       hash x says otherwise); c is an AND of ORs of conditions; [a, b]
--       bounds the narrow scan. Wide values live in zsets wpfx..kind for the
--       kinds the registry set wk lists (width classes b<k>, open end oe,
--       open start os, both all), each scanned within win[kind].
--   {t:"num", k, c:[[[op,lo,hi,v]…]…], a, b}      a number zset (members id, id|k)
--   {t:"ids", ids:[…]}                            explicit ids
--   {t:"geo", k, lon, lat, r}                     within r km (records the distance)
--   {t:"cz", cpfx, parts, a, b}                   compound index
--   {t:"not", f}                                  the negation of f
-- Sort {t: "score"|"none", keys: zsets walked in order (a date's narrow
--   index, a number zset, _lastUpdated), wk/wpfx: a date's wide classes
--   (walked too, by lower bound), x: date exceptions hash, nk: number zset,
--   lu: sort by _lastUpdated, d: descending, czi: compound filter, dfi: the
--   sort parameter's own date filter, whose window bounds the walk}.
--   A resource sorts by its lowest value ascending, its highest descending
--   (a date by the lower bound of its range); ties by id (bytewise); those
--   without a value last, in _lastUpdated then id order.
-- With several shards, ARGV[1] holds what their plans have alike once:
--   common (shard fields) and cf (per filter); a shard or filter reads a
--   field it lacks from there.
-- ARGV[1] may also say merge: true (standalone, first call of a page): a
--   search sorted by a compound index's date is then paged across all
--   shards at once (mergedpage), falling back to the per-shard path.
-- A page walks the sort index instead of collecting a driver of up to
--   collectmax candidates when the walk should read fewer elements
--   (walkcheaper: count * entries in the walk's window < driver²).
-- Modes: "page" returns the shard's first `count` matches after the cursor
--   in sort order (whole runs of equal sort values, so a caller sorting by
--   further keys can finish the order); "collect" returns every match, in
--   driver order, as far as the budget allows; "count" counts them.
-- Work is counted in elements read (every reply element and every call);
--   past `budget` a shard stops at a consistent point and returns `resume`,
--   which the next call continues from. Every range read is chunked.
-- Reply (JSON): {stale: true} when a shard's fence does not hold the plan's
--   generation (the caller re-reads the generation and plans again), else
--   {shards: [{m: [[id, sortvalue|null, distance|null, lastUpdated|null]…],
--   n, done, resume, est, drv, how, over, work}…]}; sort values, distances
--   and lastUpdated are strings (exact decimals).
local plan = cjson.decode(ARGV[1])
-- What every shard's plan has alike comes once (common, cf[filter]).
if plan.common then
  for _, sh in ipairs(plan.shards) do
    setmetatable(sh, {__index = plan.common})
    for fi, f in ipairs(sh.f) do
      if plan.cf[fi] then setmetatable(f, {__index = plan.cf[fi]}) end
    end
  end
end
local work = 0
local budget = tonumber(plan.budget) or 10000
local CH = 128
local NULL = cjson.null

local function call(...)
  work = work + 1
  return redis.call(...)
end

-- rd is a range read: it costs its reply's length.
local function rd(...)
  local r = redis.call(...)
  work = work + 1 + #r
  return r
end

-- bless compares bytewise (Lua's < follows the server's collation locale).
local function bless(a, b)
  if a == b then return false end
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- shortv mirrors keys.go shortValue: long key-name parts are hashed.
local function shortv(v)
  if #v <= 48 and string.sub(v, 1, 1) ~= '#' then return v end
  return '#' .. string.sub(redis.sha1hex(v), 1, 24)
end

local function idof(m)
  return string.match(m, '^([^|]*)')
end

local function lexid(m)
  return string.match(m, '([^%z]*)$')
end

-- setkeys resolves a set filter's keys: the given ones, plus for "any
-- system" codes (any) every system seen ("~" registry), for "any code of a
-- system" (sys) every code seen in it, and for :text the codes whose display
-- starts with the text.
local function setkeys(f)
  if f.resolved then return f.resolved end
  local out = {}
  for _, k in ipairs(f.k or {}) do out[#out + 1] = KEYS[k] end
  if f.any and #f.any > 0 then
    for _, system in ipairs(rd('SMEMBERS', f.pfx .. '~')) do
      for _, ci in ipairs(f.any) do out[#out + 1] = f.pfx .. shortv(system .. '|' .. ARGV[ci]) end
    end
  end
  for _, si in ipairs(f.sys or {}) do
    local system = ARGV[si]
    for _, code in ipairs(rd('SMEMBERS', f.pfx .. shortv('~:' .. system))) do
      out[#out + 1] = f.pfx .. shortv(system .. '|' .. code)
    end
  end
  local texts = f.texts or {}
  for i = 1, #texts, 2 do
    for _, m in ipairs(rd('ZRANGEBYLEX', KEYS[f.treg], ARGV[texts[i]], ARGV[texts[i + 1]])) do
      out[#out + 1] = f.pfx .. shortv(string.match(m, '%z(.*)$'))
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
  for _, part in ipairs(f.parts) do
    local vals = {}
    for _, vi in ipairs(part.exact) do vals[#vals + 1] = ARGV[vi] end
    if #part.any > 0 then
      for _, system in ipairs(rd('SMEMBERS', part.pfx .. '~')) do
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

local function num(s)
  if s == '-inf' then return -1 / 0 end
  if s == 'inf' or s == '+inf' then return 1 / 0 end
  return tonumber(s)
end

-- dranges lists an id's date ranges {lo, hi} in a date index.
-- memo caches the reads of a date's exceptions hash and narrow index per
-- id: the sort value and the date filter of one parameter read both.
local memo = {}
local function mcall(cmd, key, id)
  local t = memo[key]
  if not t then
    t = {}
    memo[key] = t
  end
  local v = t[id]
  if v == nil then
    v = call(cmd, key, id)
    t[id] = v
  end
  return v
end

local function dranges(k, x, w, id)
  if x then
    local ex = mcall('HGET', KEYS[x], id)
    if ex then
      local out = {}
      for lo, hi in string.gmatch(ex, '([^:,]+):([^,]+)') do
        out[#out + 1] = {num(lo) or -1 / 0, num(hi) or 1 / 0}
      end
      return out
    end
  end
  local s = mcall('ZSCORE', KEYS[k], id)
  if not s then return {} end
  s = tonumber(s)
  return {{s, s + w}}
end

-- dmatch: op with search range [slo, shi] against target [lo, hi].
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
  if op == 'gt' or op == 'sa' then return t > v end
  if op == 'lt' or op == 'eb' then return t < v end
  if op == 'ge' then return t >= v end
  if op == 'le' then return t <= v end
  return false
end

-- numvals lists an id's values in a number zset (members id, id|1 … id|15).
local function numvals(key, id)
  local ms = {id}
  for k = 1, 15 do ms[#ms + 1] = id .. '|' .. k end
  local out = {}
  for _, v in ipairs(call('ZMSCORE', key, unpack(ms))) do
    if v then out[#out + 1] = tonumber(v) end
  end
  return out
end

-- holds evaluates an AND of ORs of conditions against a list of values.
local function holds(c, vals, match)
  if #vals == 0 then return false end
  for _, alts in ipairs(c) do
    local ok = false
    for _, a in ipairs(alts) do
      for _, v in ipairs(vals) do
        if match(a, v) then ok = true break end
      end
      if ok then break end
    end
    if not ok then return false end
  end
  return true
end

local function dmatcher(a, r) return dmatch(a[1], a[2], a[3], r[1], r[2]) end
local function nmatcher(a, t) return nmatch(a[1], a[2], a[3], a[4], t) end

local over = nil
local matcache = {}
-- materialise loads a non-driving lex, scan or geo filter's ids into a
-- table, up to matmax elements (beyond that the shard reports `over`).
local function materialise(sh, f, fi)
  if matcache[fi] then return matcache[fi] end
  local t = {}
  local n = 0
  local matmax = tonumber(sh.matmax) or 20000
  if f.t == 'lex' or f.t == 'scan' then
    local ranges = f.r
    if f.t == 'scan' then ranges = {{'-', '+'}} end
    for _, r in ipairs(ranges) do
      local min, max = r[1], r[2]
      if f.t == 'lex' then min, max = ARGV[r[1]], ARGV[r[2]] end
      while true do
        local chunk = rd('ZRANGEBYLEX', KEYS[f.k], min, max, 'LIMIT', 0, 512)
        for _, m in ipairs(chunk) do
          local keep = true
          if f.t == 'scan' then
            keep = false
            local norm = string.match(m, '^([^%z]*)')
            for _, si in ipairs(f.subs) do
              if string.find(norm, ARGV[si], 1, true) then keep = true break end
            end
          end
          if keep then t[lexid(m)] = true end
        end
        n = n + #chunk
        if n > matmax then
          over = f.d or 'a lex filter'
          matcache[fi] = t
          return t
        end
        if #chunk < 512 then break end
        min = '(' .. chunk[#chunk]
      end
    end
  elseif f.t == 'geo' then
    for _, e in ipairs(rd('GEOSEARCH', KEYS[f.k], 'FROMLONLAT', f.lon, f.lat, 'BYRADIUS', f.r, 'km', 'WITHDIST')) do
      t[e[1]] = e[2]
    end
  end
  matcache[fi] = t
  return t
end

local check
check = function(sh, f, fi, id)
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
    return materialise(sh, f, fi)[id] ~= nil
  elseif t == 'scan' or t == 'geo' then
    return materialise(sh, f, fi)[id] ~= nil
  elseif t == 'date' then
    return holds(f.c, dranges(f.k, f.x, f.w, id), dmatcher)
  elseif t == 'num' then
    return holds(f.c, numvals(KEYS[f.k], id), nmatcher)
  elseif t == 'ids' then
    if not f.set then
      f.set = {}
      for _, x in ipairs(f.ids) do f.set[x] = true end
    end
    return f.set[id] == true
  elseif t == 'not' then
    return not check(sh, f.f, fi .. 'n', id)
  elseif t == 'or' then
    for i, g in ipairs(f.fs) do
      if check(sh, g, fi .. 'o' .. i, id) then return true end
    end
    return false
  elseif t == 'cz' then
    for _, k in ipairs(czkeys(f)) do
      if call('ZSCORE', k, id) then return true end
    end
    return false
  end
  return false
end

-- card estimates a filter's candidates (nil: it cannot drive). A date
-- filter picks the smaller of its wide windows here (f.wsel).
-- widekeys lists a date filter's wide indexes in use (the ":wk" registry)
-- with their windows: {key, min, max}; empty windows are left out.
local function widekeys(f)
  if f.wresolved then return f.wresolved end
  local out = {}
  if f.wk then
    for _, kind in ipairs(rd('SMEMBERS', KEYS[f.wk])) do
      local w = f.win[kind]
      if w and not (w[1] == '1' and w[2] == '0') then out[#out + 1] = {f.wpfx .. kind, w[1], w[2]} end
    end
  end
  f.wresolved = out
  return out
end

local card
card = function(sh, f, fi)
  local t = f.t
  if t == 'or' then
    local n = 0
    for i, g in ipairs(f.fs) do
      local c = card(sh, g, fi .. 'o' .. i)
      if c == nil then return nil end
      n = n + c
    end
    return n
  elseif t == 'set' then
    local n = 0
    for _, k in ipairs(setkeys(f)) do n = n + call('SCARD', k) end
    return n
  elseif t == 'lex' then
    local n = 0
    for _, r in ipairs(f.r) do n = n + call('ZLEXCOUNT', KEYS[f.k], ARGV[r[1]], ARGV[r[2]]) end
    return n
  elseif t == 'scan' then
    return call('ZCARD', KEYS[f.k])
  elseif t == 'date' then
    local n = call('ZCOUNT', KEYS[f.k], f.a, f.b)
    for _, w in ipairs(widekeys(f)) do n = n + call('ZCOUNT', w[1], w[2], w[3]) end
    return n
  elseif t == 'num' then
    return call('ZCOUNT', KEYS[f.k], f.a, f.b)
  elseif t == 'ids' then
    return #f.ids
  elseif t == 'cz' then
    local n = 0
    for _, k in ipairs(czkeys(f)) do n = n + call('ZCOUNT', k, f.a, f.b) end
    return n
  elseif t == 'geo' then
    local n = 0
    for _ in pairs(materialise(sh, f, fi)) do n = n + 1 end
    return n
  end
  return nil
end

-- cardrank orders the filters whose candidates are estimated: explicit
-- ids, compounds (an intersection within a date window, never more than
-- the reference they may include), exact lex members (references,
-- identifiers) first, then sets, ranges and scans.
local RANK = {ids = 0, cz = 1, set = 4, num = 5, date = 6, ['or'] = 7, geo = 8, scan = 9}
local SMALLDRIVER = 32
local function cardrank(f)
  if f.t == 'lex' then
    if f.x then return 2 end
    return 3
  end
  return RANK[f.t] or 10
end

-- sources lists the resumable ranges a driving filter's candidates come
-- from: S (a set, by SSCAN), L (a lex range), Z (a score range), I (ids),
-- G (geo, at once), C (:contains scan).
local fsources
local function sources(sh, fi)
  if fi == 0 then return {{k = 'Z', key = KEYS[sh.lu], min = '-inf', max = '+inf'}} end
  return fsources(sh, sh.f[fi], fi)
end
fsources = function(sh, f, fi)
  local out = {}
  if f.t == 'or' then
    for i, g in ipairs(f.fs) do
      for _, src in ipairs(fsources(sh, g, fi .. 'o' .. i)) do out[#out + 1] = src end
    end
  elseif f.t == 'set' then
    for _, k in ipairs(setkeys(f)) do out[#out + 1] = {k = 'S', key = k} end
  elseif f.t == 'lex' then
    for _, r in ipairs(f.r) do out[#out + 1] = {k = 'L', key = KEYS[f.k], min = ARGV[r[1]], max = ARGV[r[2]]} end
  elseif f.t == 'scan' then
    out[1] = {k = 'C', key = KEYS[f.k], min = '-', max = '+', subs = f.subs}
  elseif f.t == 'date' then
    out[1] = {k = 'Z', key = KEYS[f.k], min = f.a, max = f.b}
    for _, w in ipairs(widekeys(f)) do out[#out + 1] = {k = 'Z', key = w[1], min = w[2], max = w[3]} end
  elseif f.t == 'num' then
    out[1] = {k = 'Z', key = KEYS[f.k], min = f.a, max = f.b}
  elseif f.t == 'ids' then
    out[1] = {k = 'I', ids = f.ids}
  elseif f.t == 'geo' then
    out[1] = {k = 'G', f = f, fi = fi}
  elseif f.t == 'not' then
    return {}
  elseif f.t == 'cz' then
    for _, k in ipairs(czkeys(f)) do out[#out + 1] = {k = 'Z', key = k, min = f.a, max = f.b} end
  end
  return out
end

-- nextchunk reads the next ids of a source from pos; it returns the ids,
-- the new position and whether the source is exhausted.
local function nextchunk(sh, src, pos)
  if src.k == 'S' then
    local r = redis.call('SSCAN', src.key, pos or '0', 'COUNT', CH)
    work = work + 1 + #r[2]
    return r[2], r[1], r[1] == '0'
  elseif src.k == 'L' or src.k == 'C' then
    local r = rd('ZRANGEBYLEX', src.key, pos or src.min, src.max, 'LIMIT', 0, CH)
    local ids = {}
    for _, m in ipairs(r) do
      if src.k == 'L' then
        ids[#ids + 1] = lexid(m)
      else
        local norm = string.match(m, '^([^%z]*)')
        for _, si in ipairs(src.subs) do
          if string.find(norm, ARGV[si], 1, true) then ids[#ids + 1] = lexid(m) break end
        end
      end
    end
    if #r < CH then return ids, nil, true end
    return ids, '(' .. r[#r], false
  elseif src.k == 'Z' then
    local min, skip, off = src.min, nil, 0
    if pos then min, skip = pos.s, pos end
    while true do
      local r = rd('ZRANGEBYSCORE', src.key, min, src.max, 'WITHSCORES', 'LIMIT', off, CH)
      local ids, last = {}, nil
      for i = 1, #r, 2 do
        local m, sc = r[i], r[i + 1]
        last = {s = sc, m = m}
        if not (skip and sc == skip.s and not bless(skip.m, m)) then ids[#ids + 1] = idof(m) end
      end
      if #r < 2 * CH then return ids, nil, true end
      if #ids > 0 or work > budget then return ids, last, false end
      off = off + CH
    end
  elseif src.k == 'I' then
    local i = pos or 1
    local ids = {}
    while i <= #src.ids and #ids < CH do
      ids[#ids + 1] = src.ids[i]
      i = i + 1
    end
    work = work + #ids
    return ids, i, i > #src.ids
  elseif src.k == 'G' then
    local ids = {}
    for id in pairs(materialise(sh, src.f, src.fi)) do ids[#ids + 1] = id end
    return ids, nil, true
  end
  return {}, nil, true
end

local function allchecks(sh, skip, id)
  for fi, f in ipairs(sh.f) do
    if fi ~= skip and not check(sh, f, fi, id) then return false end
  end
  return true
end

-- exactdriver: membership in the driver implies the driver's filter holds.
local exactkind
exactkind = function(f)
  if f.t == 'or' then
    for _, g in ipairs(f.fs) do
      if not exactkind(g) then return false end
    end
    return true
  end
  return f.t == 'set' or f.t == 'lex' or f.t == 'ids' or f.t == 'geo' or f.t == 'scan' or f.t == 'cz'
end

local function exactdriver(sh, d)
  local f = sh.f[d]
  if f and exactkind(f) then return d end
  return -1
end

local function geotable(sh)
  for fi, f in ipairs(sh.f) do
    if f.t == 'geo' then return materialise(sh, f, fi) end
  end
  return {}
end

-- sortval is an id's sort value (a number, nil when it has none) and its
-- string form.
local function sortval(sh, id)
  local s = sh.sort
  if s.t ~= 'score' then return nil end
  if s.lu then
    local v = call('ZSCORE', KEYS[sh.lu], id)
    if not v then return nil, nil end
    return tonumber(v), v
  end
  local best, bs = nil, nil
  if s.nk then
    local ms = {id}
    for k = 1, 15 do ms[#ms + 1] = id .. '|' .. k end
    for _, v in ipairs(call('ZMSCORE', KEYS[s.nk], unpack(ms))) do
      if v then
        local n = tonumber(v)
        if best == nil or (s.d and n > best) or (not s.d and n < best) then best, bs = n, v end
      end
    end
    return best, bs
  end
  if s.x then
    local ex = mcall('HGET', KEYS[s.x], id)
    if ex then
      for lo in string.gmatch(ex, '([^:,]+):[^,]+') do
        local n = num(lo)
        if n and n ~= -1 / 0 and (best == nil or (s.d and n > best) or (not s.d and n < best)) then best, bs = n, lo end
      end
      return best, bs
    end
  end
  local v = mcall('ZSCORE', KEYS[s.keys[1]], id)
  if not v then return nil, nil end
  return tonumber(v), v
end

-- before orders entries {id, v, dist, lu, vn, lun}: by value (missing
-- last), then id; those without a value by lastUpdated, then id.
local function before(sh, a, b)
  local av, bv = a[5], b[5]
  if av == nil and bv == nil then
    if a[6] ~= b[6] then return (a[6] or 0) < (b[6] or 0) end
    return bless(a[1], b[1])
  end
  if av == nil then return false end
  if bv == nil then return true end
  if av ~= bv then
    if sh.sort.d then return av > bv end
    return av < bv
  end
  return bless(a[1], b[1])
end

-- aftercur reports whether entry e lies after the page cursor.
local function aftercur(sh, e)
  local c = sh.after
  if not c or c == NULL then return true end
  local cv = c.vs
  if cv == NULL then cv = nil end
  local probe = {c.id, NULL, NULL, NULL, cv and num(cv), (c.lu ~= NULL and c.lu) and num(c.lu) or nil}
  if c.id == nil or c.id == NULL then
    -- a whole-run cursor (further sort keys are finished by the caller)
    if cv == nil then return e[5] == nil end
    if e[5] == nil then return true end
    if sh.sort.d then return e[5] <= probe[5] end
    return e[5] >= probe[5]
  end
  return before(sh, probe, e)
end

local function entry(id, vs, dist, lus)
  -- a nil reply is false in Lua
  if not vs then vs = nil end
  if not dist then dist = nil end
  if not lus then lus = nil end
  return {id, vs or NULL, dist or NULL, lus or NULL, vs and num(vs), lus and num(lus)}
end

-- drivewalk iterates the driver's candidates from st (resumable) and calls
-- fn(id) for each match; it returns true when the driver is exhausted.
local function drivewalk(sh, st, fn)
  local srcs = sources(sh, st.d)
  local exact = exactdriver(sh, st.d)
  local idsDriver = sh.f[st.d] and sh.f[st.d].t == 'ids'
  st.si = st.si or 1
  local seen = {}
  while st.si <= #srcs do
    if work > budget or over then return false end
    local ids, pos, done = nextchunk(sh, srcs[st.si], st.pos)
    for _, id in ipairs(ids) do
      if not seen[id] then
        seen[id] = true
        if allchecks(sh, exact, id) and (not idsDriver or call('ZSCORE', KEYS[sh.lu], id)) then fn(id) end
      end
    end
    if done then
      st.si, st.pos = st.si + 1, nil
    else
      st.pos = pos
    end
  end
  return true
end

-- collectall gathers every match of a small driver in one call, sorted;
-- nil when the budget ran out first.
local function collectall(sh, d, geo, missingOnly)
  local st = {d = d}
  local all = {}
  local done = drivewalk(sh, st, function(id)
    local v, vs = sortval(sh, id)
    if missingOnly and v ~= nil then return end
    local lus = nil
    if v == nil then lus = call('ZSCORE', KEYS[sh.lu], id) end
    all[#all + 1] = entry(id, vs, geo[id], lus)
  end)
  if not done then return nil end
  table.sort(all, function(a, b) return before(sh, a, b) end)
  return all
end

-- walk streams the sort index (or, for the part without values, the
-- _lastUpdated index) in order from st.b, run by run (a run is every member
-- with one score), emitting the matches after the cursor; it returns true
-- when the index is exhausted.
local function walk(sh, st, keys, missing, limit, out, geo)
  local asc = missing or not sh.sort.d
  local bound = st.b
  if not bound then
    local c = sh.after
    if c and c ~= NULL then
      if missing and c.lu and c.lu ~= NULL then bound = c.lu end
      if not missing and c.vs and c.vs ~= NULL then bound = c.vs end
    end
  end
  if not missing and st.from then
    -- the sort parameter's own date filter bounds the walk
    local b = bound and num((string.gsub(bound, '^%(', '')))
    if b == nil or (asc and num(st.from) > b) or (not asc and num(st.from) < b) then bound = st.from end
  end
  bound = bound or (asc and '(-inf' or '(+inf')
  local stop = (asc and '+inf' or '-inf')
  if not missing and st.to then stop = st.to end
  while true do
    if work > budget or over then st.b = bound return false end
    local all, cut, cuts = {}, nil, nil
    for _, key in ipairs(keys) do
      local r
      if asc then
        r = rd('ZRANGEBYSCORE', key, bound, stop, 'WITHSCORES', 'LIMIT', 0, CH)
      else
        r = rd('ZREVRANGEBYSCORE', key, bound, stop, 'WITHSCORES', 'LIMIT', 0, CH)
      end
      for i = 1, #r, 2 do all[#all + 1] = {r[i], num(r[i + 1]), r[i + 1]} end
      if #r >= 2 * CH then
        local last = num(r[#r])
        if cut == nil or (asc and last < cut) or (not asc and last > cut) then cut, cuts = last, r[#r] end
      end
    end
    if #all == 0 then return true end
    table.sort(all, function(a, b)
      if a[2] ~= b[2] then
        if asc then return a[2] < b[2] end
        return a[2] > b[2]
      end
      return bless(a[1], b[1])
    end)
    local more = cut ~= nil
    if cut ~= nil and all[1][2] == cut then
      -- one run fills a whole chunk: read that run entirely
      all = {}
      for _, key in ipairs(keys) do
        for _, m in ipairs(rd('ZRANGEBYSCORE', key, cuts, cuts)) do all[#all + 1] = {m, cut, cuts} end
      end
      cut = nil
    end
    local i = 1
    while i <= #all do
      local sc, ss = all[i][2], all[i][3]
      if cut ~= nil and sc == cut then break end
      local ids, inrun = {}, {}
      local j = i
      while j <= #all and all[j][2] == sc do
        local id = idof(all[j][1])
        if not inrun[id] then
          inrun[id] = true
          ids[#ids + 1] = id
        end
        j = j + 1
      end
      table.sort(ids, bless)
      for _, id in ipairs(ids) do
        if sc ~= -1 / 0 then
          local e
          if missing then
            e = entry(id, nil, geo[id], ss)
          else
            e = entry(id, ss, geo[id], nil)
          end
          if aftercur(sh, e) then
            local canonical
            if missing then
              canonical = sortval(sh, id) == nil
            elseif sh.sort.lu then
              canonical = true
            else
              canonical = sortval(sh, id) == sc
            end
            if canonical and allchecks(sh, -1, id) then out[#out + 1] = e end
          end
        end
      end
      bound = '(' .. ss
      i = j
      if #out >= limit or work > budget or over then
        st.b = bound
        return false
      end
    end
    if not more then return true end
  end
end

local function clean(rows)
  local out = {}
  for i, e in ipairs(rows) do out[i] = {e[1], e[2], e[3], e[4]} end
  return out
end

-- lower and upper return the lower (upper) of two score strings.
local function lower(a, b)
  if a == nil or num(b) < num(a) then return b end
  return a
end
local function upper(a, b)
  if a == nil or num(b) > num(a) then return b end
  return a
end

-- walkkeys lists the indexes a sort walk reads (the sort's narrow index
-- and the wide classes in use, or a single compound key) and sets the
-- score window the sort parameter's own date filter allows (st.from,
-- st.to: where the walk starts and stops, in walk order), once.
local function walkkeys(sh, st)
  if sh.wkeys then return sh.wkeys end
  local s = sh.sort
  local keys, kinds = {}, {}
  for _, ki in ipairs(s.keys) do keys[#keys + 1] = KEYS[ki] end
  if s.wk then
    -- wide values sort by their lower bound too: finite classes and open ends
    for _, kind in ipairs(rd('SMEMBERS', KEYS[s.wk])) do
      if kind ~= 'os' and kind ~= 'all' then
        keys[#keys + 1] = s.wpfx .. kind
        kinds[#kinds + 1] = kind
      end
    end
  end
  local lo, hi = nil, nil
  if s.czi and #czkeys(sh.f[s.czi]) == 1 then
    local f = sh.f[s.czi]
    keys, lo, hi = {czkeys(f)[1]}, f.a, f.b
  elseif s.dfi then
    local f = sh.f[s.dfi]
    lo, hi = f.a, f.b
    for _, kind in ipairs(kinds) do
      local w = f.win and f.win[kind]
      if not w then
        lo, hi = '-inf', '+inf'
      elseif not (w[1] == '1' and w[2] == '0') then
        lo, hi = lower(lo, w[1]), upper(hi, w[2])
      end
    end
  end
  if st.from == nil and lo then
    if s.d then st.from, st.to = hi, lo else st.from, st.to = lo, hi end
  end
  sh.wkeys = keys
  return keys
end

-- walkcheaper reports whether walking the sort index should find `limit`
-- matches with fewer reads than collecting the driver's `best`
-- candidates: the walk reads about limit * (entries in its window / best).
local function walkcheaper(sh, st, best, limit)
  if sh.sort.t ~= 'score' or sh.sort.lu or best <= 4 * limit then return false end
  local keys = walkkeys(sh, st)
  local n = 0
  for _, k in ipairs(keys) do
    local a, b = st.from or '-inf', st.to or '+inf'
    if sh.sort.d then a, b = b, a end
    n = n + call('ZCOUNT', k, a, b)
  end
  return limit * n < best * best
end

local function pagemode(sh, r, geo, best, startwork)
  local limit = tonumber(sh.count)
  local st = sh.resume
  if st == nil or st == NULL then st = {} end
  local c = sh.after
  local cursorMissing = c and c ~= NULL and (c.vs == nil or c.vs == NULL)
  local s = sh.sort
  local haveMissing = not s.lu
  local out = {}
  if not st.ph then
    -- a small driver: collect every match and sort (exact totals too)
    if best <= tonumber(sh.collectmax) and not (not cursorMissing and walkcheaper(sh, st, best, limit)) then
      local all = collectall(sh, st.d, geo, false)
      if all then
        for _, e in ipairs(all) do
          if aftercur(sh, e) then
            local last = out[#out]
            if #out < limit then
              out[#out + 1] = e
            elseif sh.multi and e[5] ~= nil and last[5] ~= nil and e[5] == last[5] then
              out[#out + 1] = e -- finish the run for the caller's further sort keys
            elseif sh.multi and e[5] == nil and last[5] == nil then
              out[#out + 1] = e -- every entry without a value, likewise
            else
              break
            end
          end
        end
        r.m, r.n, r.done, r.how = clean(out), #all, true, 'collect'
        return
      end
      if over then return end
      if startwork > budget / 4 then
        -- other shards used this call's budget: try again next call
        r.pending = true
        return
      end
    end
    st.ph = 'v'
    if cursorMissing or s.t ~= 'score' then st.ph = 'm' end
  end
  if st.ph == 'v' then
    local keys = walkkeys(sh, st)
    local done = walk(sh, st, keys, false, limit, out, geo)
    r.how = 'walk'
    if not done then
      r.m, r.resume, r.done = clean(out), st, false
      return
    end
    if not haveMissing then
      r.m, r.done = clean(out), true
      return
    end
    st.ph, st.b = 'm', nil
    limit = limit - #out
  end
  -- the part without a sort value, in _lastUpdated, id order
  if sh.multi then limit = tonumber(sh.window) + 1 end
  if not st.mm then
    st.mm = 'w'
    if best <= tonumber(sh.collectmax) then st.mm = 'c' end
  end
  if st.mm == 'c' then
    local w0 = work
    local all = collectall(sh, st.d, geo, true)
    if all then
      local n = 0
      for _, e in ipairs(all) do
        if n < limit and aftercur(sh, e) then
          out[#out + 1] = e
          n = n + 1
        end
      end
      r.m, r.how = clean(out), (r.how or '') .. '+missing-collect'
      r.done = n < limit
      -- when full the caller has enough from this shard for this page
      if not r.done then r.resume = st end
      return
    end
    if over then return end
    if w0 > budget / 4 then
      r.m, r.resume, r.done = clean(out), st, false
      return
    end
    st.mm = 'w'
  end
  local done = walk(sh, st, {KEYS[sh.lu]}, true, limit, out, geo)
  r.how = (r.how or '') .. '+missing-walk'
  r.m, r.done = clean(out), done
  if not done then r.resume = st end
end

-- mergedpage pages a search sorted by a compound index's date across every
-- shard of the call at once (standalone Redis): it walks each shard's
-- compound key from the search's lower bound (or the cursor), a few members
-- at a time, and merges them in sort order until `count` matches are found,
-- so a page costs about `count` checks instead of `count` per shard. The
-- compound implies its token filters and holds only resources with a sort
-- value, so there is no part without one. It returns nil (nothing decided)
-- when the plan does not fit or the budget runs out; the caller then runs
-- the per-shard path with a fresh budget.
local function mergedpage(shards)
  local want = 0
  local heads = {}
  for si, sh in ipairs(shards) do
    local s = sh.sort
    if sh.mode ~= 'page' or sh.multi or s.t ~= 'score' or s.d or not s.czi then return nil end
    local c = sh.after
    if c == NULL then c = nil end
    if c and (c.vs == nil or c.vs == NULL) then return nil end
    local f = sh.f[s.czi]
    local ks = czkeys(f)
    if #ks ~= 1 then return nil end
    local min = f.a
    if c and (num(min) == nil or num(c.vs) > num(min)) then min = c.vs end
    want = tonumber(sh.count)
    heads[si] = {key = ks[1], min = min, max = f.b, off = 0, n = 2, buf = {}, i = 1, done = false}
  end
  local outs, caches = {}, {}
  for si = 1, #shards do outs[si], caches[si] = {}, {} end
  local function fill(h)
    local r = rd('ZRANGEBYSCORE', h.key, h.min, h.max, 'WITHSCORES', 'LIMIT', h.off, h.n)
    h.buf, h.i = {}, 1
    for i = 1, #r, 2 do h.buf[#h.buf + 1] = {r[i], num(r[i + 1]), r[i + 1]} end
    h.off = h.off + #h.buf
    if #h.buf < h.n then h.done = true end
    if h.n < 64 then h.n = h.n * 2 end
  end
  local found = 0
  while found < want do
    if work > budget or over then return nil end
    local best, bh = nil, nil
    for si, h in ipairs(heads) do
      if h.i > #h.buf and not h.done then fill(h) end
      local e = h.buf[h.i]
      if e and (best == nil or e[2] < best[2] or (e[2] == best[2] and bless(e[1], best[1]))) then best, bh = e, si end
    end
    if best == nil then break end
    local h, sh = heads[bh], shards[bh]
    h.i = h.i + 1
    local id, ss = best[1], best[3]
    local e = entry(id, ss, nil, nil)
    matcache = caches[bh]
    if aftercur(sh, e) and sortval(sh, id) == best[2] and allchecks(sh, sh.sort.czi, id) then
      local out = outs[bh]
      out[#out + 1] = e
      found = found + 1
    end
  end
  if over then return nil end
  local replies = {}
  for si, sh in ipairs(shards) do
    local f = sh.f[sh.sort.czi]
    local est = 0
    if plan.est then est = call('ZCOUNT', heads[si].key, f.a, f.b) end
    replies[si] = {m = clean(outs[si]), done = true, how = 'merge', drv = sh.sort.czi, est = est, work = work}
  end
  return replies
end

for _, sh in ipairs(plan.shards) do
  if sh.fence and redis.call('SISMEMBER', KEYS[sh.fence], sh.gen) == 0 then
    return cjson.encode({stale = true})
  end
end

if plan.merge then
  local replies = mergedpage(plan.shards)
  if replies then return cjson.encode({shards = replies}) end
  work, over = 0, nil
end

local replies = {}
for si, sh in ipairs(plan.shards) do
  matcache = {}
  over = nil
  local r = {work = 0}
  if work > budget then
    r.pending = true
  else
    local startwork = work
    local st = sh.resume
    if st == nil or st == NULL then st = {} end
    -- the driver: the filter with the fewest candidates (kept across calls)
    local best = st.est
    if st.d == nil then
      -- Cheap, usually selective estimates first; a driver this small
      -- is taken without estimating the rest (collecting it costs less
      -- than the estimates would).
      local driver, b = 0, nil
      -- The first filter in rank order goes first; when it is small (often:
      -- a compound or an exact reference), nothing else is estimated and
      -- nothing needs sorting.
      local first, fr = nil, nil
      for fi, f in ipairs(sh.f) do
        if f.t ~= 'not' then
          local r = cardrank(f)
          if fr == nil or r < fr then first, fr = fi, r end
        end
      end
      local c1 = first and card(sh, sh.f[first], first)
      if c1 and c1 <= SMALLDRIVER then
        driver, b = first, c1
      elseif first then
        local order = {}
        for fi, f in ipairs(sh.f) do
          if f.t ~= 'not' then order[#order + 1] = fi end
        end
        table.sort(order, function(x, y)
          local rx, ry = cardrank(sh.f[x]), cardrank(sh.f[y])
          if rx ~= ry then return rx < ry end
          return x < y
        end)
        for _, fi in ipairs(order) do
          local c
          if fi == first then c = c1 else c = card(sh, sh.f[fi], fi) end
          if c and (b == nil or c < b or (c == b and fi < driver)) then driver, b = fi, c end
          if b and b <= SMALLDRIVER then break end
        end
      end
      if b == nil then b = call('ZCARD', KEYS[sh.lu]) end
      st.d, st.est, best = driver, b, b
    end
    sh.resume = st
    r.est = best
    r.drv = st.d
    local geo = geotable(sh)
    if over then
      r.over = over
    elseif best == 0 and st.ph == nil then
      -- every estimate bounds its filter's candidates: none, no match
      r.m, r.n, r.done, r.how = {}, 0, true, 'collect'
    elseif sh.mode == 'page' then
      pagemode(sh, r, geo, best, startwork)
    else
      local out, n = {}, 0
      local done = drivewalk(sh, st, function(id)
        n = n + 1
        if sh.mode == 'collect' then
          out[#out + 1] = {id, NULL, geo[id] or NULL, call('ZSCORE', KEYS[sh.lu], id) or NULL}
        end
      end)
      r.m, r.n, r.done, r.how = out, n, done, sh.mode
      if not done then r.resume = st end
    end
    if over then r.over = over end
  end
  r.work = work
  replies[si] = r
end
return cjson.encode({shards = replies})
