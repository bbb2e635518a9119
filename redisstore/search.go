package redisstore

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// SplitToken splits a token search value (see conformance.SplitToken).
func SplitToken(v string) (system, code string, hasSystem bool) { return conformance.SplitToken(v) }

func parseStored(b []byte) (*fhirjson.Value, error) {
	return fhirjson.Parse(b, fhirjson.Limits{MaxDepth: 200})
}

// match is one search hit from a shard: id, sort value and distance.
type match struct {
	id   string
	val  *float64
	dist *float64
}

// shardReply is one shard's part of a search script reply.
type shardReply struct {
	M       rows            `json:"m"`
	N       int             `json:"n"`
	Done    bool            `json:"done"`
	Resume  json.RawMessage `json:"resume"`
	Pending bool            `json:"pending"`
	Over    bool            `json:"over"`
	Est     int             `json:"est"`
	Work    int             `json:"work"`
}

// Search runs a query: filters inside Redis (one bounded script per shard,
// all shards in one call on standalone Redis, in parallel on a Cluster),
// joins across types in Go with capped id lists, the Policy's filter applied
// inside, before paging and counting.
func (s *Store) Search(ctx context.Context, q *ww.Query) (*ww.SearchResult, error) {
	p := ww.PrincipalFrom(ctx)
	if err := s.policy.Allow(ctx, p, ww.AccessSearch, q.Type); err != nil {
		return nil, err
	}
	extra, err := s.policy.Filter(ctx, p, q.Type)
	if err != nil {
		return nil, err
	}
	clauses := append(append([]ww.Clause(nil), q.Clauses...), extra...)
	plan, err := s.planQuery(ctx, q, clauses, 0)
	if err != nil {
		return nil, err
	}
	var res *ww.SearchResult
	switch {
	case plan.empty:
		res = &ww.SearchResult{Total: -1}
		if q.Total != ww.TotalNone {
			res.Total = 0
		}
	case plan.goPath():
		res, err = s.runGo(ctx, q, plan)
	default:
		res, err = s.runLua(ctx, q, plan)
	}
	if err != nil {
		return nil, err
	}
	if q.Explain {
		res.Plan = append(plan.explain, res.Plan...)
	}
	if len(q.Includes) > 0 && len(res.Resources) > 0 {
		if err := s.includes(ctx, q, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// shardsFor returns the shards a plan must visit: only those holding the
// ids of an explicit id filter, else all.
func (s *Store) shardsFor(p *qplan) []int {
	for _, f := range p.filters {
		if f.kind == "ids" {
			seen := map[int]bool{}
			var out []int
			for _, id := range f.ids {
				if sh := s.keys.shard(id); !seen[sh] {
					seen[sh] = true
					out = append(out, sh)
				}
			}
			sort.Ints(out)
			return out
		}
	}
	out := make([]int, s.keys.shards)
	for i := range out {
		out[i] = i
	}
	return out
}

// shardJSON builds one shard's plan with its keys.
func (s *Store) shardJSON(a *argv, p *qplan, sh int, count int, after *ww.Cursor, resume json.RawMessage, total bool, luaSort bool) map[string]any {
	typ := p.typ
	fs := []any{}
	for _, f := range p.filters {
		if j := s.filterJSON(a, typ, sh, f); j != nil {
			fs = append(fs, j)
		}
	}
	m := map[string]any{"f": fs, "lu": a.keyN(s.keys.index(typ, sh, "_lastUpdated")), "count": count, "total": total, "collectmax": collectMax}
	srt := map[string]any{"t": "none"}
	if luaSort && len(p.sort) == 1 {
		k := p.sort[0]
		srt["d"] = k.desc
		switch {
		case k.code == "_id":
			srt["t"] = "id"
		case k.code == "distance":
			srt["t"] = "geo"
		case k.code == "_lastUpdated":
			srt["t"], srt["k"] = "score", a.keyN(s.keys.index(typ, sh, "_lastUpdated"))
		default:
			srt["t"], srt["k"] = "score", a.keyN(s.keys.index(typ, sh, k.param.IndexName()))
			if k.param.Type == conformance.TypeDate {
				srt["x"] = a.keyN(s.keys.index(typ, sh, k.param.IndexName(), "x"))
			}
			for i, f := range p.filters {
				if f == p.czSort {
					srt["cz"] = i + 1
				}
			}
		}
	}
	m["sort"] = srt
	if after != nil && luaSort {
		c := map[string]any{"id": after.ID, "v": nil}
		if len(after.Keys) == 1 && after.Keys[0] != "" {
			if v, err := strconv.ParseFloat(after.Keys[0], 64); err == nil {
				c["v"] = v
			} else {
				c["v"] = after.Keys[0]
			}
		}
		m["after"] = c
	}
	if len(resume) > 0 && string(resume) != "null" {
		m["resume"] = resume
	}
	return m
}

func (a *argv) keyN(k string) int {
	n, _ := strconv.Atoi(a.key(k))
	return n
}

func (s *Store) filterJSON(a *argv, typ string, sh int, f *filter) map[string]any {
	switch f.kind {
	case "set":
		ks := []int{}
		anyCodes, systems, texts := []int{}, []int{}, []int{}
		for _, v := range f.sets {
			switch {
			case strings.HasPrefix(v, "@any:"):
				anyCodes = append(anyCodes, a.str(strings.TrimPrefix(v, "@any:")))
			case strings.HasPrefix(v, "@sys:"):
				systems = append(systems, a.str(strings.TrimPrefix(v, "@sys:")))
			default:
				ks = append(ks, a.keyN(s.keys.index(typ, sh, f.index, v)))
			}
		}
		for _, t := range f.texts {
			r := prefixRange(t)
			texts = append(texts, a.str(r[0]), a.str(r[1]))
		}
		j := map[string]any{"t": "set", "k": ks}
		if len(anyCodes) > 0 || len(systems) > 0 || len(texts) > 0 {
			reg := s.keys.index(typ, sh, f.index, "~")
			a.key(reg)
			j["pfx"] = strings.TrimSuffix(reg, "~")
			j["any"], j["sys"], j["texts"] = anyCodes, systems, texts
			if len(texts) > 0 {
				j["treg"] = a.keyN(s.keys.index(typ, sh, f.index, "~text"))
			}
		}
		return j
	case "lex":
		key := s.keys.index(typ, sh, f.index)
		if f.sub != "" {
			key = s.keys.index(typ, sh, f.index, f.sub)
		}
		rs := make([][2]int, len(f.ranges))
		for i, r := range f.ranges {
			rs[i] = [2]int{a.str(r[0]), a.str(r[1])}
		}
		j := map[string]any{"t": "lex", "k": a.keyN(key), "r": rs}
		if len(f.exact) > 0 {
			xs := make([]int, len(f.exact))
			for i, x := range f.exact {
				xs[i] = a.str(x)
			}
			j["x"] = xs
		}
		return j
	case "scan":
		return map[string]any{"t": "scan", "k": a.keyN(s.keys.index(typ, sh, f.index)), "sub": a.str(f.scan)}
	case "date":
		j := map[string]any{"t": "date", "k": a.keyN(s.keys.index(typ, sh, f.index)), "w": f.width, "a": f.a, "b": f.b}
		var cs [][]any
		for _, c := range f.conds {
			cs = append(cs, []any{c[0], c[1], c[2]})
		}
		j["c"] = cs
		if f.index != "_lastUpdated" {
			j["x"] = a.keyN(s.keys.index(typ, sh, f.index, "x"))
			if f.wide {
				j["wl"] = a.keyN(s.keys.index(typ, sh, f.index, "wlo"))
				j["wh"] = a.keyN(s.keys.index(typ, sh, f.index, "whi"))
			}
		}
		return j
	case "num":
		key := s.keys.index(typ, sh, f.index)
		if f.sub != "" {
			key = s.keys.index(typ, sh, f.index, f.sub)
		}
		var cs [][]any
		for i, c := range f.conds {
			v, _ := strconv.ParseFloat(f.ids[i], 64)
			cs = append(cs, []any{c[0], c[1], c[2], v})
		}
		return map[string]any{"t": "num", "k": a.keyN(key), "c": cs}
	case "ids":
		var ids []string
		for _, id := range f.ids {
			if s.keys.shard(id) == sh {
				ids = append(ids, id)
			}
		}
		if ids == nil {
			ids = []string{}
		}
		return map[string]any{"t": "ids", "ids": ids}
	case "geo":
		return map[string]any{"t": "geo", "k": a.keyN(s.keys.index(typ, sh, f.index)), "lon": f.lon, "lat": f.lat, "r": f.km}
	case "cz":
		var parts []any
		for _, pt := range f.czParts {
			reg := s.keys.index(typ, sh, pt.index, "~")
			a.key(reg)
			ex, an := []int{}, []int{}
			for _, v := range pt.exact {
				ex = append(ex, a.str(v))
			}
			for _, v := range pt.any {
				an = append(an, a.str(v))
			}
			parts = append(parts, map[string]any{"exact": ex, "any": an, "pfx": reg[:len(reg)-1]})
		}
		cpfx := s.keys.index(typ, sh, f.index, "")
		return map[string]any{"t": "cz", "cpfx": cpfx, "parts": parts, "a": f.a, "b": f.b}
	case "not":
		return map[string]any{"t": "not", "f": s.filterJSON(a, typ, sh, f.not)}
	}
	return nil
}

// runScripts runs the search script for shards (one call on standalone; one
// per shard, in parallel, on a Cluster) and returns each shard's reply.
func (s *Store) runScripts(ctx context.Context, build func(a *argv, sh int) map[string]any, shards []int) (map[int]*shardReply, error) {
	out := make(map[int]*shardReply, len(shards))
	call := func(group []int) error {
		a := newArgv()
		var plans []any
		for _, sh := range group {
			plans = append(plans, build(a, sh))
		}
		body, err := json.Marshal(map[string]any{"budget": scriptBudget, "shards": plans})
		if err != nil {
			return err
		}
		v, err := s.runScript(ctx, "search", s.scripts.search, a.keys, append([]any{string(body)}, a.args...))
		if err != nil {
			return redisErr("redisstore.Search", err)
		}
		str, _ := v.(string)
		var replies []*shardReply
		if err := json.Unmarshal([]byte(str), &replies); err != nil {
			return ww.Wrap("redisstore.Search", ww.KindInternal, err, "unreadable search reply")
		}
		for i, sh := range group {
			if i < len(replies) {
				out[sh] = replies[i]
			}
		}
		return nil
	}
	if s.cluster == nil {
		return out, call(shards)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	for _, sh := range shards {
		wg.Add(1)
		go func(sh int) {
			defer wg.Done()
			local := map[int]*shardReply{}
			err := func() error {
				a := newArgv()
				body, err := json.Marshal(map[string]any{"budget": scriptBudget, "shards": []any{build(a, sh)}})
				if err != nil {
					return err
				}
				v, err := s.runScript(ctx, "search", s.scripts.search, a.keys, append([]any{string(body)}, a.args...))
				if err != nil {
					return redisErr("redisstore.Search", err)
				}
				str, _ := v.(string)
				var replies []*shardReply
				if err := json.Unmarshal([]byte(str), &replies); err != nil {
					return ww.Wrap("redisstore.Search", ww.KindInternal, err, "unreadable search reply")
				}
				if len(replies) > 0 {
					local[sh] = replies[0]
				}
				return nil
			}()
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			for k, v := range local {
				out[k] = v
			}
		}(sh)
	}
	wg.Wait()
	return out, firstErr
}

// rows decodes the script's match list; cjson writes an empty Lua table as
// {} rather than [].
type rows [][]any

func (r *rows) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		*r = nil
		return nil
	}
	var out [][]any
	if err := json.Unmarshal(b, &out); err != nil {
		return err
	}
	*r = out
	return nil
}

func toMatch(row []any) match {
	m := match{}
	if len(row) > 0 {
		m.id, _ = row[0].(string)
	}
	if len(row) > 1 {
		if f, ok := row[1].(float64); ok {
			m.val = &f
		}
	}
	if len(row) > 2 {
		if f, ok := row[2].(float64); ok {
			m.dist = &f
		}
	}
	return m
}

func less(a, b match, desc bool, byID bool) bool {
	if !byID {
		switch {
		case a.val == nil && b.val != nil:
			return false
		case a.val != nil && b.val == nil:
			return true
		case a.val != nil && b.val != nil && *a.val != *b.val:
			if desc {
				return *a.val > *b.val
			}
			return *a.val < *b.val
		}
	}
	if desc {
		return a.id > b.id
	}
	return a.id < b.id
}

func tooCostly() error {
	return ww.Errorf(ww.KindInvalid, "too-costly", "the search matches too many resources to evaluate in one request; add a more selective parameter (an identifier, a reference, a bounded date range) or sort by an indexed date")
}

// runLua runs a query whose filtering, sorting and paging happen in Redis.
func (s *Store) runLua(ctx context.Context, q *ww.Query, p *qplan) (*ww.SearchResult, error) {
	shards := s.shardsFor(p)
	want := p.count + 1
	state := map[int]json.RawMessage{}
	results := map[int][]match{}
	done := map[int]bool{}
	totalN, estimate := 0, 0
	allCollected := true
	pending := shards
	sk := p.sort[0]
	byID := sk.code == "_id"
	if want > 1 || q.Total == ww.TotalAccurate {
		for round := 0; len(pending) > 0; round++ {
			if round > 200 {
				return nil, tooCostly()
			}
			replies, err := s.runScripts(ctx, func(a *argv, sh int) map[string]any {
				cnt := want - len(results[sh])
				after := q.After
				if ms := results[sh]; len(ms) > 0 {
					after = nil
				}
				return s.shardJSON(a, p, sh, cnt, after, state[sh], q.Total == ww.TotalAccurate && round == 0, true)
			}, pending)
			if err != nil {
				return nil, err
			}
			var next []int
			for _, sh := range pending {
				r := replies[sh]
				if r == nil || r.Pending {
					next = append(next, sh)
					continue
				}
				if r.Over {
					return nil, tooCostly()
				}
				for _, row := range r.M {
					results[sh] = append(results[sh], toMatch(row))
				}
				if round == 0 {
					estimate += r.Est
				}
				if len(r.Resume) > 0 && string(r.Resume) != "null" && !r.Done && len(results[sh]) < want {
					state[sh] = r.Resume
					next = append(next, sh)
					allCollected = false
					continue
				}
				if len(r.Resume) > 0 && string(r.Resume) != "null" {
					allCollected = false
				}
				done[sh] = true
				totalN += r.N
			}
			pending = next
		}
	}
	var merged []match
	for _, sh := range shards {
		merged = append(merged, results[sh]...)
	}
	sort.Slice(merged, func(i, j int) bool { return less(merged[i], merged[j], sk.desc, byID) })
	res := &ww.SearchResult{Total: -1}
	switch q.Total {
	case ww.TotalAccurate:
		if allCollected {
			res.Total = totalN
		} else {
			n, ok, err := s.countAll(ctx, p)
			if err != nil {
				return nil, err
			}
			if ok {
				res.Total = n
			} else {
				res.Total = estimate
				res.Issues = append(res.Issues, ww.Issue{Severity: ww.SeverityWarning, Code: "too-costly", Diagnostics: "the total is an estimate: counting every match exactly would cost too much"})
			}
		}
	case ww.TotalEstimate:
		if allCollected {
			res.Total = totalN
		} else {
			res.Total = estimate
		}
	}
	more := len(merged) > p.count
	if more {
		merged = merged[:p.count]
	}
	if err := s.fetchPage(ctx, q, merged, res); err != nil {
		return nil, err
	}
	if more && len(merged) > 0 {
		last := merged[len(merged)-1]
		c := &ww.Cursor{ID: last.id, Keys: []string{""}}
		if last.val != nil {
			c.Keys[0] = strconv.FormatFloat(*last.val, 'g', -1, 64)
		}
		res.Next = c
	}
	return res, nil
}

// countAll counts every match with collect-mode scripts; ok is false when
// that would exceed the work budget.
func (s *Store) countAll(ctx context.Context, p *qplan) (int, bool, error) {
	shards := s.shardsFor(p)
	n := 0
	pending := shards
	for round := 0; len(pending) > 0; round++ {
		if round > 50 {
			return 0, false, nil
		}
		replies, err := s.runScripts(ctx, func(a *argv, sh int) map[string]any {
			return s.shardJSON(a, p, sh, 0, nil, nil, true, false)
		}, pending)
		if err != nil {
			return 0, false, err
		}
		var next []int
		for _, sh := range pending {
			r := replies[sh]
			switch {
			case r == nil || r.Pending:
				next = append(next, sh)
			case r.Over:
				return 0, false, nil
			default:
				n += r.N
			}
		}
		pending = next
	}
	return n, true, nil
}

// fetchPage loads the page's resources (one MGET on standalone) and the
// distance facts.
func (s *Store) fetchPage(ctx context.Context, q *ww.Query, ms []match, res *ww.SearchResult) error {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.id
	}
	recs, err := s.readRecords(ctx, q.Type, ids)
	if err != nil {
		return err
	}
	p := ww.PrincipalFrom(ctx)
	for i, rec := range recs {
		if rec == nil || rec.deleted || rec.vid == 0 {
			continue
		}
		r := rec.resource(q.Type, ids[i])
		if ok, err := s.policy.Visible(ctx, p, r); err != nil || !ok {
			continue
		}
		res.Resources = append(res.Resources, r)
		if ms[i].dist != nil {
			if res.Facts == nil {
				res.Facts = map[string]map[string]string{}
			}
			res.Facts[r.ID] = map[string]string{"distance": strconv.FormatFloat(*ms[i].dist, 'f', 3, 64)}
		}
	}
	return nil
}

// matchIDs returns up to limit ids matching clauses (for chains); more is
// an error naming the cap.
func (s *Store) matchIDs(ctx context.Context, q *ww.Query, clauses []ww.Clause, depth, limit int) ([]string, error) {
	p, err := s.planQuery(ctx, q, clauses, depth)
	if err != nil {
		return nil, err
	}
	if p.empty {
		return nil, nil
	}
	p.sort = []sortKey{{code: "_id", lua: true}}
	p.residuals = nil
	shards := s.shardsFor(p)
	var ids []string
	pending := shards
	for round := 0; len(pending) > 0; round++ {
		if round > 50 {
			return nil, tooCostly()
		}
		replies, err := s.runScripts(ctx, func(a *argv, sh int) map[string]any {
			return s.shardJSON(a, p, sh, limit+1, nil, nil, false, true)
		}, pending)
		if err != nil {
			return nil, err
		}
		var next []int
		for _, sh := range pending {
			r := replies[sh]
			switch {
			case r == nil || r.Pending:
				next = append(next, sh)
			case r.Over:
				return nil, tooCostly()
			default:
				for _, row := range r.M {
					ids = append(ids, toMatch(row).id)
				}
			}
		}
		pending = next
	}
	if len(ids) > limit {
		return nil, ww.Errorf(ww.KindInvalid, "too-costly", "a chained or _has part of the search matches more than %d %s resources; make it more selective", limit, q.Type)
	}
	return ids, nil
}

// matchResources is matchIDs with the resources loaded.
func (s *Store) matchResources(ctx context.Context, q *ww.Query, clauses []ww.Clause, depth, limit int) ([]*ww.Resource, error) {
	ids, err := s.matchIDs(ctx, q, clauses, depth, limit)
	if err != nil {
		return nil, err
	}
	recs, err := s.readRecords(ctx, q.Type, ids)
	if err != nil {
		return nil, err
	}
	var out []*ww.Resource
	for i, r := range recs {
		if r != nil && !r.deleted && r.vid > 0 {
			out = append(out, r.resource(q.Type, ids[i]))
		}
	}
	return out, nil
}

// goEntry is a match being sorted in Go.
type goEntry struct {
	res  *ww.Resource
	keys []sortValue
	dist *float64
}

// sortValue is one sort key's value: a number or a string; missing values
// sort last.
type sortValue struct {
	num     float64
	str     string
	isNum   bool
	missing bool
}

func (v sortValue) encode() string {
	switch {
	case v.missing:
		return "m:"
	case v.isNum:
		return "n:" + strconv.FormatFloat(v.num, 'g', -1, 64)
	}
	return "s:" + v.str
}

func decodeSortValue(s string) sortValue {
	switch {
	case strings.HasPrefix(s, "n:"):
		f, _ := strconv.ParseFloat(s[2:], 64)
		return sortValue{num: f, isNum: true}
	case strings.HasPrefix(s, "s:"):
		return sortValue{str: s[2:]}
	}
	return sortValue{missing: true}
}

func cmpSortValue(a, b sortValue, desc bool) int {
	switch {
	case a.missing && b.missing:
		return 0
	case a.missing:
		return 1
	case b.missing:
		return -1
	}
	c := 0
	if a.isNum && b.isNum {
		switch {
		case a.num < b.num:
			c = -1
		case a.num > b.num:
			c = 1
		}
	} else {
		c = strings.Compare(a.str, b.str)
	}
	if desc {
		c = -c
	}
	return c
}

// runGo collects every match (capped), then filters, sorts and pages in Go:
// for sort keys without a score index, several sort keys, and conditions
// only the resource can answer (:missing on value indexes).
func (s *Store) runGo(ctx context.Context, q *ww.Query, p *qplan) (*ww.SearchResult, error) {
	sorts := p.sort
	p2 := *p
	p2.sort = []sortKey{{code: "_id", lua: true}}
	if p.hasGeo {
		p2.sort = []sortKey{{code: "distance", lua: true}}
	}
	shards := s.shardsFor(&p2)
	var ms []match
	pending := shards
	for round := 0; len(pending) > 0; round++ {
		if round > 50 {
			return nil, tooCostly()
		}
		replies, err := s.runScripts(ctx, func(a *argv, sh int) map[string]any {
			m := s.shardJSON(a, &p2, sh, goSortCap+1, nil, nil, true, true)
			m["collectmax"] = goSortCap + 1
			return m
		}, pending)
		if err != nil {
			return nil, err
		}
		var next []int
		for _, sh := range pending {
			r := replies[sh]
			switch {
			case r == nil || r.Pending:
				next = append(next, sh)
			case r.Over:
				return nil, tooCostly()
			default:
				for _, row := range r.M {
					ms = append(ms, toMatch(row))
				}
			}
		}
		pending = next
	}
	if len(ms) > goSortCap {
		return nil, ww.Errorf(ww.KindInvalid, "too-costly", "the search matches more than %d resources, too many to sort by %s or to check :missing on; narrow it", goSortCap, sortNames(sorts))
	}
	ids := make([]string, len(ms))
	dist := map[string]*float64{}
	for i, m := range ms {
		ids[i] = m.id
		dist[m.id] = m.dist
	}
	recs, err := s.readRecords(ctx, q.Type, ids)
	if err != nil {
		return nil, err
	}
	pr := ww.PrincipalFrom(ctx)
	var entries []goEntry
	for i, rec := range recs {
		if rec == nil || rec.deleted || rec.vid == 0 {
			continue
		}
		r := rec.resource(q.Type, ids[i])
		if ok, err := s.policy.Visible(ctx, pr, r); err != nil || !ok {
			continue
		}
		var tree *fhirjson.Value
		if len(p.residuals) > 0 || needsTree(sorts) {
			if tree, err = parseStored(r.JSON); err != nil {
				continue
			}
		}
		if !residualsHold(p.residuals, tree) {
			continue
		}
		e := goEntry{res: r, dist: dist[r.ID]}
		for _, sk := range sorts {
			e.keys = append(e.keys, sortValueOf(sk, r, tree, e.dist))
		}
		entries = append(entries, e)
	}
	cmp := func(a, b goEntry) int {
		for i, sk := range sorts {
			if c := cmpSortValue(a.keys[i], b.keys[i], sk.desc); c != 0 {
				return c
			}
		}
		return strings.Compare(a.res.ID, b.res.ID)
	}
	sort.SliceStable(entries, func(i, j int) bool { return cmp(entries[i], entries[j]) < 0 })
	res := &ww.SearchResult{Total: -1}
	if q.Total != ww.TotalNone {
		res.Total = len(entries)
	}
	start := 0
	if q.After != nil {
		cur := goEntry{res: &ww.Resource{ID: q.After.ID}}
		for _, k := range q.After.Keys {
			cur.keys = append(cur.keys, decodeSortValue(k))
		}
		for len(cur.keys) < len(sorts) {
			cur.keys = append(cur.keys, sortValue{missing: true})
		}
		start = sort.Search(len(entries), func(i int) bool { return cmp(entries[i], cur) > 0 })
	}
	end := start + p.count
	if end > len(entries) {
		end = len(entries)
	}
	for _, e := range entries[start:end] {
		res.Resources = append(res.Resources, e.res)
		if e.dist != nil {
			if res.Facts == nil {
				res.Facts = map[string]map[string]string{}
			}
			res.Facts[e.res.ID] = map[string]string{"distance": strconv.FormatFloat(*e.dist, 'f', 3, 64)}
		}
	}
	if end < len(entries) && end > start {
		last := entries[end-1]
		c := &ww.Cursor{ID: last.res.ID}
		for _, k := range last.keys {
			c.Keys = append(c.Keys, k.encode())
		}
		res.Next = c
	}
	return res, nil
}

func sortNames(sorts []sortKey) string {
	var n []string
	for _, s := range sorts {
		n = append(n, s.code)
	}
	return strings.Join(n, ",")
}

func needsTree(sorts []sortKey) bool {
	for _, s := range sorts {
		if s.param != nil {
			return true
		}
	}
	return false
}

func residualsHold(rs []residual, tree *fhirjson.Value) bool {
	for _, r := range rs {
		vals := r.param.Extract(tree)
		if vals.Empty() != r.missing {
			return false
		}
	}
	return true
}

// sortValueOf extracts a sort key's value from a resource: the lowest value
// ascending, the highest descending; a date sorts by the start of its range
// either way (as the script does).
func sortValueOf(sk sortKey, r *ww.Resource, tree *fhirjson.Value, dist *float64) sortValue {
	switch sk.code {
	case "_id":
		return sortValue{str: r.ID}
	case "_lastUpdated":
		return sortValue{num: float64(r.LastUpdated.UnixMilli()), isNum: true}
	case "distance":
		if dist == nil {
			return sortValue{missing: true}
		}
		return sortValue{num: *dist, isNum: true}
	}
	vals := sk.param.Extract(tree)
	var cands []sortValue
	for _, rg := range vals.Ranges {
		if rg.Lo != conformance.MinRange {
			cands = append(cands, sortValue{num: float64(rg.Lo), isNum: true})
		}
	}
	for _, n := range vals.Numbers {
		cands = append(cands, sortValue{num: n, isNum: true})
	}
	for _, q := range vals.Quantities {
		cands = append(cands, sortValue{num: q.Value, isNum: true})
	}
	for _, st := range vals.Strings {
		cands = append(cands, sortValue{str: conformance.Normalize(st)})
	}
	for _, t := range vals.Tokens {
		cands = append(cands, sortValue{str: t.Code})
	}
	for _, rf := range vals.Refs {
		cands = append(cands, sortValue{str: rf.Type + "/" + rf.ID})
	}
	for _, u := range vals.URIs {
		cands = append(cands, sortValue{str: u})
	}
	if len(cands) == 0 {
		return sortValue{missing: true}
	}
	best := cands[0]
	for _, c := range cands[1:] {
		if cmpSortValue(c, best, sk.desc) < 0 {
			best = c
		}
	}
	return best
}

var _ = math.Inf
var _ = redis.Nil
