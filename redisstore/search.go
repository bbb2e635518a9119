package redisstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// SplitToken splits a token search value (see conformance.SplitToken).
func SplitToken(v string) (system, code string, hasSystem bool) { return conformance.SplitToken(v) }

func parseStored(b []byte) (*fhirjson.Value, error) {
	return fhirjson.Parse(b, fhirjson.Limits{MaxDepth: 200})
}

// match is one search hit from a shard: id, sort value (nil: none),
// distance and, for hits without a sort value, lastUpdated.
type match struct {
	id   string
	val  *float64
	dist *float64
	lu   *float64
}

// shardReply is one shard's part of a search script reply.
type shardReply struct {
	M       rows            `json:"m"`
	N       int             `json:"n"`
	Done    bool            `json:"done"`
	Resume  json.RawMessage `json:"resume"`
	Pending bool            `json:"pending"`
	Over    string          `json:"over"`
	Est     int             `json:"est"`
	Drv     int             `json:"drv"`
	How     string          `json:"how"`
	Work    int             `json:"work"`
}

type searchReply struct {
	Stale  bool          `json:"stale"`
	Shards []*shardReply `json:"shards"`
}

// errStale reports that a shard's read-generation fence no longer holds
// the generation a plan was built for (a reindex switched generations).
var errStale = errors.New("redisstore: the index generation changed during the search")

// Search runs a query: filters inside Redis (one bounded script per shard,
// all shards in one call on standalone Redis, in parallel on a Cluster),
// joins across types in Go with capped id lists, the Policy's filter applied
// inside the index query, before paging and counting.
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
	for attempt := 0; ; attempt++ {
		res, err := s.search(ctx, q, clauses)
		if errors.Is(err, errStale) && attempt < 5 {
			if err := s.refreshGen(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if errors.Is(err, errStale) {
			return nil, ww.Wrap("redisstore.Search", ww.KindUnavailable, err, "the indexes are switching generations; try again")
		}
		return res, err
	}
}

func (s *Store) search(ctx context.Context, q *ww.Query, clauses []ww.Clause) (*ww.SearchResult, error) {
	plan, err := s.planQuery(ctx, q, clauses, 0)
	if err != nil {
		return nil, err
	}
	st := newRunStats()
	var res *ww.SearchResult
	switch {
	case plan.empty:
		res = &ww.SearchResult{Total: -1}
		if q.Total != ww.TotalNone {
			res.Total = 0
		}
		st.method = "none (a clause can match nothing)"
	case plan.goPath():
		res, err = s.runGo(ctx, q, plan, st)
	default:
		res, err = s.runPaged(ctx, q, plan, st)
	}
	if err != nil {
		return nil, err
	}
	if q.Explain {
		res.Plan = append(append(append([]string(nil), plan.explain...), st.describe(plan, s.lim)...), res.Plan...)
	}
	if len(q.Includes) > 0 && len(res.Resources) > 0 {
		if err := s.includes(ctx, q, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// runStats records what the scripts did, for __explain.
type runStats struct {
	mu      sync.Mutex
	rounds  int
	work    int
	drivers map[int]int
	est     map[int]int
	how     map[string]int
	method  string
}

func newRunStats() *runStats {
	return &runStats{drivers: map[int]int{}, est: map[int]int{}, how: map[string]int{}}
}

func (st *runStats) note(sh int, r *shardReply) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.drivers[sh]; !ok {
		st.drivers[sh] = r.Drv
		st.est[sh] = r.Est
	}
	if r.How != "" {
		st.how[r.How]++
	}
}

func (st *runStats) describe(p *qplan, l Limits) []string {
	var out []string
	if st.method != "" {
		out = append(out, "method: "+st.method)
	}
	byDriver := map[string][]int{}
	est := map[string]int{}
	for sh, d := range st.drivers {
		name := "_lastUpdated (every resource)"
		if d >= 1 && d <= len(p.filters) {
			name = p.filters[d-1].describe
		}
		byDriver[name] = append(byDriver[name], sh)
		est[name] += st.est[sh]
	}
	names := make([]string, 0, len(byDriver))
	for n := range byDriver {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, fmt.Sprintf("driving index: %s (about %d candidates over %d shards)", n, est[n], len(byDriver[n])))
	}
	if len(st.how) > 0 {
		var hs []string
		for h, n := range st.how {
			hs = append(hs, fmt.Sprintf("%s×%d", h, n))
		}
		sort.Strings(hs)
		out = append(out, "script steps: "+strings.Join(hs, ", "))
	}
	out = append(out, fmt.Sprintf("script calls: %d, %d elements read; budget %d elements per call, at most %d calls", st.rounds, st.work, l.ScriptBudget, l.MaxRounds))
	out = append(out, fmt.Sprintf("caps: collect-and-sort up to %d candidates per shard, Go sort window %d, chain/_has %d ids, materialised lex filter %d ids, includes %d per page, %d :iterate rounds",
		l.CollectMax, l.GoSortWindow, l.ChainCap, l.MaterialiseMax, l.IncludeCap, l.MaxIterate))
	return out
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

// shardOpts selects what one shard's script run does.
type shardOpts struct {
	mode   string // page, collect, count
	count  int
	after  jobj
	resume json.RawMessage
	// sharedCount: every shard of the call has this count, written once
	sharedCount bool
}

// planPart says which fields a plan builder writes: all (a call of one
// shard), a shard's own (its keys, ids, count and resume state), or what
// every shard of a call has alike (written once in common and cf).
type planPart int

const (
	wholePart planPart = iota
	shardPart
	commonPart
)

// shardJSON builds one shard's plan with its keys; with commonPart (sh
// unused) the part every shard of the call shares.
func (s *Store) shardJSON(a *argv, p *qplan, sh int, o shardOpts, part planPart) jobj {
	typ := p.typ
	k := p.keys
	own, shared := part != commonPart, part != shardPart
	m := make(jobj, 0, 14)
	if own {
		fs := make([]any, 0, len(p.filters))
		for _, f := range p.filters {
			fs = append(fs, s.filterJSON(a, p, sh, f, part))
		}
		m.set("f", fs)
		m.set("lu", a.keyIndex(k.index(typ, sh, "_lastUpdated")))
		if !o.sharedCount {
			m.set("count", o.count)
		}
		m.set("fence", a.keyIndex(k.readFence(typ, sh)))
		m.set("sort", s.sortJSON(a, p, sh, o))
		if len(o.resume) > 0 && string(o.resume) != "null" {
			m.set("resume", o.resume)
		}
	}
	if shared {
		m.set("mode", o.mode)
		m.set("collectmax", s.lim.CollectMax)
		m.set("matmax", s.lim.MaterialiseMax)
		m.set("window", s.lim.GoSortWindow)
		m.set("multi", len(p.sort) > 1)
		m.set("gen", genMember('r', k.gen))
		if o.sharedCount {
			m.set("count", o.count)
		}
		if o.after != nil {
			m.set("after", o.after)
		}
	}
	return m
}

// sortJSON is a shard's sort: the score indexes it walks in order.
func (s *Store) sortJSON(a *argv, p *qplan, sh int, o shardOpts) jobj {
	typ, k := p.typ, p.keys
	srt := jobj{{"t", "none"}}
	if sk := p.sort[0]; sk.score && o.mode == "page" {
		srt.set("t", "score")
		srt.set("d", sk.desc)
		switch {
		case sk.code == "_lastUpdated":
			srt.set("keys", []int{a.keyIndex(k.index(typ, sh, "_lastUpdated"))})
			srt.set("lu", true)
		case sk.param.Type == conformance.TypeDate:
			name := sk.param.IndexName()
			srt.set("keys", []int{a.keyIndex(k.index(typ, sh, name))})
			srt.set("x", a.keyIndex(k.index(typ, sh, name, "x")))
			srt.set("wk", a.keyIndex(k.index(typ, sh, name, "wk")))
			srt.set("wpfx", k.index(typ, sh, name, "w"))
			for i, f := range p.filters {
				if f == p.czSort {
					srt.set("czi", i+1)
				}
				if f.kind == "date" && f.index == name && f.wide {
					srt.set("dfi", i+1) // the sort parameter's own date filter bounds its walk
				}
			}
		default:
			nk := a.keyIndex(k.index(typ, sh, sk.param.IndexName()))
			srt.set("keys", []int{nk})
			srt.set("nk", nk)
		}
	}
	return srt
}

// filterJSON builds one filter of a shard's plan: part says whether its
// keys (and the shard's ids), the fields alike in every shard, or both.
// The filters inside not and or are whole in the shard's part.
func (s *Store) filterJSON(a *argv, p *qplan, sh int, f *filter, part planPart) jobj {
	typ, k := p.typ, p.keys
	own, shared := part != commonPart, part != shardPart
	j := make(jobj, 0, 10)
	if shared {
		j.set("t", f.kind)
		j.set("d", f.describe)
	}
	switch f.kind {
	case "set":
		// literal: a set named by value (its key is the shard's); resolve:
		// codes the script finds through the registries (alike in every shard)
		var ks, anyCodes, systems, texts []int
		literal, resolve := false, len(f.texts) > 0
		for _, v := range f.sets {
			switch {
			case strings.HasPrefix(v, "@any:"):
				resolve = true
				if shared {
					anyCodes = append(anyCodes, a.str(strings.TrimPrefix(v, "@any:")))
				}
			case strings.HasPrefix(v, "@sys:"):
				resolve = true
				if shared {
					systems = append(systems, a.str(strings.TrimPrefix(v, "@sys:")))
				}
			default:
				literal = true
				if own {
					ks = append(ks, a.keyIndex(k.index(typ, sh, f.index, v)))
				}
			}
		}
		if shared {
			for _, t := range f.texts {
				r := prefixRange(t)
				texts = append(texts, a.str(r[0]), a.str(r[1]))
			}
		}
		if own && literal || shared && !literal {
			j.set("k", orEmpty(ks))
		}
		if own {
			if resolve {
				reg := k.index(typ, sh, f.index, "~")
				a.key(reg)
				j.set("pfx", strings.TrimSuffix(reg, "~"))
				if len(f.texts) > 0 {
					j.set("treg", a.keyIndex(k.index(typ, sh, f.index, "~text")))
				}
			}
		}
		if shared && resolve {
			j.set("any", orEmpty(anyCodes))
			j.set("sys", orEmpty(systems))
			j.set("texts", orEmpty(texts))
		}
	case "lex":
		if own {
			j.set("k", a.keyIndex(f.key(k, typ, sh)))
		}
		if shared {
			rs := make([][2]int, len(f.ranges))
			for i, r := range f.ranges {
				rs[i] = [2]int{a.str(r[0]), a.str(r[1])}
			}
			j.set("r", rs)
			if len(f.exact) > 0 {
				xs := make([]int, len(f.exact))
				for i, x := range f.exact {
					xs[i] = a.str(x)
				}
				j.set("x", xs)
			}
		}
	case "scan":
		if own {
			j.set("k", a.keyIndex(k.index(typ, sh, f.index)))
		}
		if shared {
			subs := make([]int, len(f.scan))
			for i, x := range f.scan {
				subs[i] = a.str(x)
			}
			j.set("subs", subs)
		}
	case "date":
		if own {
			j.set("k", a.keyIndex(k.index(typ, sh, f.index)))
			if f.index != "_lastUpdated" {
				j.set("x", a.keyIndex(k.index(typ, sh, f.index, "x")))
				if f.wide {
					j.set("wk", a.keyIndex(k.index(typ, sh, f.index, "wk")))
					j.set("wpfx", k.index(typ, sh, f.index, "w"))
				}
			}
		}
		if shared {
			j.set("w", f.width)
			j.set("a", f.a)
			j.set("b", f.b)
			j.set("c", f.conds)
			if f.index != "_lastUpdated" && f.wide {
				j.set("win", f.wwin)
			}
		}
	case "num":
		if own {
			j.set("k", a.keyIndex(f.key(k, typ, sh)))
		}
		if shared {
			j.set("c", f.conds)
			j.set("a", f.a)
			j.set("b", f.b)
		}
	case "ids":
		if own {
			ids := []string{}
			for _, id := range f.ids {
				if s.keys.shard(id) == sh {
					ids = append(ids, id)
				}
			}
			j.set("ids", ids)
		}
	case "geo":
		if own {
			j.set("k", a.keyIndex(k.index(typ, sh, f.index)))
		}
		if shared {
			j.set("lon", f.lon)
			j.set("lat", f.lat)
			j.set("r", f.km)
		}
	case "cz":
		if own {
			var parts []any
			for _, pt := range f.czParts {
				reg := k.index(typ, sh, pt.index, "~")
				a.key(reg)
				ex, an := []int{}, []int{}
				for _, v := range pt.exact {
					ex = append(ex, a.str(v))
				}
				for _, v := range pt.any {
					an = append(an, a.str(v))
				}
				parts = append(parts, jobj{{"exact", ex}, {"any", an}, {"pfx", reg[:len(reg)-1]}})
			}
			j.set("cpfx", k.index(typ, sh, f.index, ""))
			j.set("parts", parts)
		}
		if shared {
			j.set("a", f.a)
			j.set("b", f.b)
		}
	case "not":
		if own {
			j.set("f", s.filterJSON(a, p, sh, f.not, wholePart))
		}
	case "or":
		if own {
			var fs []any
			for _, x := range f.ors {
				fs = append(fs, s.filterJSON(a, p, sh, x, wholePart))
			}
			j.set("fs", fs)
		}
	default:
		panic("redisstore: filter kind " + f.kind)
	}
	return j
}

// key is the index key of a lex or number filter in shard sh (its sub-index
// when it has one).
func (f *filter) key(k keys, typ string, sh int) string {
	if f.sub != "" {
		return k.index(typ, sh, f.index, f.sub)
	}
	return k.index(typ, sh, f.index)
}

// orEmpty is xs, or an empty list for none (the script reads [] and {}
// alike, but the plan keeps its shape).
func orEmpty(xs []int) []int {
	if xs == nil {
		return []int{}
	}
	return xs
}

// runScripts runs the search script for shards (one call on standalone; one
// per shard, in parallel, on a Cluster) and returns each shard's reply.
func (s *Store) runScripts(ctx context.Context, st *runStats, p *qplan, opts func(sh int) shardOpts, shards []int, top jobj) (map[int]*shardReply, error) {
	out := make(map[int]*shardReply, len(shards))
	var mu sync.Mutex
	call := func(group []int) error {
		a := newArgv()
		plan := s.callPlan(a, p, opts, group, top)
		body, err := appendPlan(make([]byte, 0, 8192), plan)
		if err != nil {
			return ww.Wrap("redisstore.Search", ww.KindInternal, err, "search plan")
		}
		if verifyScriptJSON {
			if want, _ := json.Marshal(plan); !bytes.Equal(want, body) {
				return ww.Errorf(ww.KindInternal, "exception", "search plan: appendPlan wrote %s, encoding/json %s", body, want)
			}
		}
		v, err := s.runScript(ctx, "search", s.scripts.search, a.keys, append([]any{string(body)}, a.args...))
		if err != nil {
			return redisErr("redisstore.Search", err)
		}
		str, _ := v.(string)
		reply, err := decodeSearchReply([]byte(str))
		if err != nil {
			return ww.Wrap("redisstore.Search", ww.KindInternal, err, "unreadable search reply")
		}
		if verifyScriptJSON {
			var want searchReply
			if json.Unmarshal([]byte(str), &want) == nil && !reflect.DeepEqual(want, reply) {
				return ww.Errorf(ww.KindInternal, "exception", "search reply %s: decodeSearchReply read %+v, encoding/json %+v", str, reply, want)
			}
		}
		if reply.Stale {
			return errStale
		}
		mu.Lock()
		defer mu.Unlock()
		st.rounds++
		work := 0
		for i, sh := range group {
			if i < len(reply.Shards) && reply.Shards[i] != nil {
				out[sh] = reply.Shards[i]
				st.note(sh, reply.Shards[i])
				if w := reply.Shards[i].Work; w > work {
					work = w
				}
			}
		}
		st.work += work
		return nil
	}
	if s.cluster == nil {
		return out, call(shards)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(shards))
	for i, sh := range shards {
		wg.Add(1)
		go func(i, sh int) {
			defer wg.Done()
			errs[i] = call([]int{sh})
		}(i, sh)
	}
	wg.Wait()
	for _, err := range errs {
		if errors.Is(err, errStale) {
			return out, err
		}
	}
	return out, errors.Join(errs...)
}

// callPlan is the JSON plan of one script call over shards: the budget,
// the shards' plans and, for a call of several, the top-level options
// (merge, est) and what the shards' plans have alike, once (common for the
// shard fields, cf[i] for filter i; the script reads a field a shard's
// plan lacks from there).
func (s *Store) callPlan(a *argv, p *qplan, opts func(sh int) shardOpts, shards []int, top jobj) jobj {
	so := make([]shardOpts, len(shards))
	sameCount := true
	for i, sh := range shards {
		so[i] = opts(sh)
		sameCount = sameCount && so[i].count == so[0].count
	}
	out := jobj{{"budget", s.lim.ScriptBudget}}
	part := wholePart
	if len(shards) > 1 {
		part = shardPart
		for i := range so {
			so[i].sharedCount = sameCount
		}
		for _, kv := range top {
			out.set(kv.k, kv.v)
		}
		out.set("common", s.shardJSON(a, p, -1, so[0], commonPart))
		cf := make([]jobj, len(p.filters))
		for i, f := range p.filters {
			cf[i] = s.filterJSON(a, p, -1, f, commonPart)
		}
		out.set("cf", cf)
	}
	plans := make([]any, 0, len(shards))
	for i, sh := range shards {
		plans = append(plans, s.shardJSON(a, p, sh, so[i], part))
	}
	out.set("shards", plans)
	return out
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

func numOf(v any) *float64 {
	switch x := v.(type) {
	case string:
		if f, err := strconv.ParseFloat(strings.TrimPrefix(x, "+"), 64); err == nil {
			return &f
		}
	case float64:
		return &x
	}
	return nil
}

func toMatch(row []any) match {
	m := match{}
	if len(row) > 0 {
		m.id, _ = row[0].(string)
	}
	if len(row) > 1 {
		m.val = numOf(row[1])
	}
	if len(row) > 2 {
		m.dist = numOf(row[2])
	}
	if len(row) > 3 {
		m.lu = numOf(row[3])
	}
	return m
}

// cmpMatch orders hits as the script does: by sort value (missing last),
// then id; hits without a value by lastUpdated, then id.
func cmpMatch(a, b match, desc bool) int {
	switch {
	case a.val == nil && b.val == nil:
		if c := cmpPtr(a.lu, b.lu); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	case a.val == nil:
		return 1
	case b.val == nil:
		return -1
	case *a.val != *b.val:
		c := -1
		if *a.val > *b.val {
			c = 1
		}
		if desc {
			c = -c
		}
		return c
	}
	return strings.Compare(a.id, b.id)
}

func cmpPtr(a, b *float64) int {
	x, y := 0.0, 0.0
	if a != nil {
		x = *a
	}
	if b != nil {
		y = *b
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func tooCostly(l Limits) error {
	return ww.Errorf(ww.KindInvalid, "too-costly", "the search needs more than %d script calls of %d elements each; add a more selective parameter (an identifier, a reference, a bounded date range)", l.MaxRounds, l.ScriptBudget)
}

func overErr(what string, l Limits) error {
	return ww.Errorf(ww.KindInvalid, "too-costly", "%s matches more than %d index entries, too many to check beside a more selective parameter; make it more specific", what, l.MaterialiseMax)
}

// cursorFor turns a page cursor into the script's: the primary sort value
// (nil: the part without values, then lastUpdated) and the id; multi-key
// sorts resume at the start of the cursor's run (whole).
func cursorFor(c *ww.Cursor, multi bool) jobj {
	if c == nil {
		return nil
	}
	out := jobj{}
	var v sortValue
	if len(c.Keys) > 0 {
		v = decodeSortValue(c.Keys[0])
	} else {
		v.missing = true
	}
	if !v.missing && v.isNum {
		out.set("vs", strconv.FormatFloat(v.num, 'g', -1, 64))
	}
	if !multi {
		out.set("id", c.ID)
		if v.missing {
			if lu, ok := cursorLU(c); ok {
				out.set("lu", strconv.FormatInt(lu, 10))
			}
		}
	}
	return out
}

func cursorLU(c *ww.Cursor) (int64, bool) {
	for _, k := range c.Keys {
		if strings.HasPrefix(k, "lu:") {
			n, err := strconv.ParseInt(k[3:], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// runPaged runs a query whose primary sort key has a score index: the
// script pages it per shard in sort order (from the cursor), Go merges the
// shards; further sort keys order each run of equal primary values in Go.
func (s *Store) runPaged(ctx context.Context, q *ww.Query, p *qplan, st *runStats) (*ww.SearchResult, error) {
	multi := len(p.sort) > 1
	st.method = "paged in Redis by " + p.sort[0].code
	if multi {
		st.method += fmt.Sprintf(", runs of equal values ordered by %s in Go (window %d)", sortNames(p.sort[1:]), s.lim.GoSortWindow)
	}
	shards := s.shardsFor(p)
	res := &ww.SearchResult{Total: -1}
	results := map[int][]match{}
	exact := map[int]bool{}
	nsum, estimate := 0, 0
	partial := false
	desc := p.sort[0].desc
	var primary *sortValue
	if q.After != nil && len(q.After.Keys) > 0 {
		v := decodeSortValue(q.After.Keys[0])
		primary = &v
	}
	// strictly after the cursor's primary value (multi-key sorts fetch the
	// cursor's whole run and count only what lies beyond it)
	beyond := func(m match) bool {
		if primary == nil {
			return true
		}
		if primary.missing {
			return false
		}
		if m.val == nil {
			return true
		}
		if desc {
			return *m.val < primary.num
		}
		return *m.val > primary.num
	}
	got := func(sh int) int {
		if !multi {
			return len(results[sh])
		}
		n := 0
		for _, m := range results[sh] {
			if beyond(m) {
				n++
			}
		}
		return n
	}
	if p.count > 0 {
		want := p.count + 1
		state := map[int]json.RawMessage{}
		seen := map[string]bool{}
		after := cursorFor(q.After, multi)
		pending := shards
		// A search sorted by a compound index's date pages all shards
		// in one merged walk (standalone Redis; see mergedpage in
		// search.lua).
		var top jobj
		if s.cluster == nil && p.czSort != nil && !multi && !desc && !p.hasGeo {
			top = jobj{{"merge", true}, {"est", q.Total != ww.TotalNone || q.Explain}}
		}
		for round := 0; len(pending) > 0; round++ {
			if st.rounds >= s.lim.MaxRounds {
				return nil, tooCostly(s.lim)
			}
			if round > 0 {
				top = nil // only a page's first call, over every shard, merges
			}
			replies, err := s.runScripts(ctx, st, p, func(sh int) shardOpts {
				return shardOpts{mode: "page", count: want - got(sh), after: after, resume: state[sh]}
			}, pending, top)
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
				if r.Over != "" {
					return nil, overErr(r.Over, s.lim)
				}
				if _, ok := state[sh]; !ok {
					estimate += r.Est
				}
				for _, row := range r.M {
					m := toMatch(row)
					if !seen[m.id] {
						seen[m.id] = true
						results[sh] = append(results[sh], m)
					}
				}
				switch {
				case r.Done:
					if r.How == "collect" && q.After == nil {
						exact[sh] = true
						nsum += r.N
					}
				case got(sh) < want:
					if multi && primary != nil && primary.missing && len(results[sh]) > s.lim.GoSortWindow {
						return nil, windowErr(p, s.lim)
					}
					state[sh] = r.Resume
					if len(state[sh]) == 0 {
						state[sh] = json.RawMessage("null")
					}
					next = append(next, sh)
				default:
					partial = true
				}
			}
			pending = next
		}
	}
	allExact := len(exact) == len(shards) && p.count > 0
	switch q.Total {
	case ww.TotalAccurate:
		if allExact {
			res.Total = nsum
		} else {
			n, ok, est, err := s.countAll(ctx, p, st)
			if err != nil {
				return nil, err
			}
			if ok {
				res.Total = n
			} else {
				res.Total = est
				res.Issues = append(res.Issues, ww.Issue{Severity: ww.SeverityWarning, Code: "too-costly", Diagnostics: "the total is an estimate: counting every match exactly would cost too much"})
			}
		}
	case ww.TotalEstimate:
		if allExact {
			res.Total = nsum
		} else {
			res.Total = estimate
		}
	}
	if p.count == 0 {
		return res, nil
	}
	var merged []match
	for _, sh := range shards {
		merged = append(merged, results[sh]...)
	}
	sort.SliceStable(merged, func(i, j int) bool { return cmpMatch(merged[i], merged[j], desc) < 0 })
	if !multi {
		more := len(merged) > p.count
		if more {
			merged = merged[:p.count]
		}
		if err := s.fetchPage(ctx, q, merged, res); err != nil {
			return nil, err
		}
		if more && len(merged) > 0 {
			last := merged[len(merged)-1]
			c := &ww.Cursor{ID: last.id}
			if last.val != nil {
				c.Keys = []string{sortValue{num: *last.val, isNum: true}.encode()}
			} else {
				c.Keys = []string{sortValue{missing: true}.encode()}
				if last.lu != nil {
					c.Keys = append(c.Keys, "lu:"+strconv.FormatInt(int64(*last.lu), 10))
				}
			}
			res.Next = c
		}
		return res, nil
	}
	// Multi-key: keep the cursor's run and the runs up to the one holding
	// the want-th entry beyond it; order them fully in Go.
	keep := merged[:0:0]
	n := 0
	var horizon *match
	for i, m := range merged {
		if !beyond(m) {
			keep = append(keep, m)
			continue
		}
		if horizon != nil && cmpPrimary(m, *horizon, desc) != 0 {
			partial = partial || i < len(merged)
			break
		}
		keep = append(keep, m)
		n++
		if n == p.count+1 {
			h := m
			horizon = &h
		}
	}
	if len(keep) > s.lim.GoSortWindow {
		return nil, windowErr(p, s.lim)
	}
	entries, err := s.loadEntries(ctx, q, p, keep)
	if err != nil {
		return nil, err
	}
	return s.pageEntries(q, p, entries, res, partial)
}

func cmpPrimary(a, b match, desc bool) int {
	switch {
	case a.val == nil && b.val == nil:
		return 0
	case a.val == nil:
		return 1
	case b.val == nil:
		return -1
	case *a.val == *b.val:
		return 0
	case (*a.val < *b.val) != desc:
		return -1
	}
	return 1
}

func windowErr(p *qplan, l Limits) error {
	return ww.Errorf(ww.KindInvalid, "too-costly", "more than %d matches share one value of %s, too many to order by %s; narrow the search", l.GoSortWindow, p.sort[0].code, sortNames(p.sort[1:])).At("_sort")
}

// countAll counts every match with count-mode scripts (continued by
// cursor); ok is false when that would exceed MaxRounds calls, and est is
// then the drivers' estimate.
func (s *Store) countAll(ctx context.Context, p *qplan, st *runStats) (int, bool, int, error) {
	shards := s.shardsFor(p)
	n, est := 0, 0
	state := map[int]json.RawMessage{}
	pending := shards
	start := st.rounds
	for len(pending) > 0 {
		if st.rounds-start >= s.lim.MaxRounds {
			return 0, false, est, nil
		}
		replies, err := s.runScripts(ctx, st, p, func(sh int) shardOpts {
			return shardOpts{mode: "count", resume: state[sh]}
		}, pending, nil)
		if err != nil {
			return 0, false, 0, err
		}
		var next []int
		for _, sh := range pending {
			r := replies[sh]
			switch {
			case r == nil || r.Pending:
				next = append(next, sh)
			case r.Over != "":
				return 0, false, est, nil
			default:
				if _, ok := state[sh]; !ok {
					est += r.Est
				}
				n += r.N
				if !r.Done {
					state[sh] = r.Resume
					next = append(next, sh)
				}
			}
		}
		pending = next
	}
	return n, true, est, nil
}

// collectAll runs collect-mode scripts until every shard is exhausted and
// returns the distinct matches; more than limit is an error from tooMany.
func (s *Store) collectAll(ctx context.Context, p *qplan, st *runStats, limit int, tooMany func() error) ([]match, error) {
	shards := s.shardsFor(p)
	state := map[int]json.RawMessage{}
	seen := map[string]bool{}
	var out []match
	pending := shards
	for len(pending) > 0 {
		if st.rounds >= s.lim.MaxRounds {
			return nil, tooCostly(s.lim)
		}
		replies, err := s.runScripts(ctx, st, p, func(sh int) shardOpts {
			return shardOpts{mode: "collect", resume: state[sh]}
		}, pending, nil)
		if err != nil {
			return nil, err
		}
		var next []int
		for _, sh := range pending {
			r := replies[sh]
			switch {
			case r == nil || r.Pending:
				next = append(next, sh)
			case r.Over != "":
				return nil, overErr(r.Over, s.lim)
			default:
				for _, row := range r.M {
					m := toMatch(row)
					if !seen[m.id] {
						seen[m.id] = true
						out = append(out, m)
					}
				}
				if len(out) > limit {
					return nil, tooMany()
				}
				if !r.Done {
					state[sh] = r.Resume
					next = append(next, sh)
				}
			}
		}
		pending = next
	}
	return out, nil
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
		if !s.visible(ctx, p, r) {
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

// visible is the Policy's per-resource check on a search hit. The Policy's
// Filter already restricted the index query (so pages and totals are
// right); a hit Visible still rejects means the two disagree — it is
// withheld and logged (type only, never values).
func (s *Store) visible(ctx context.Context, p *ww.Principal, r *ww.Resource) bool {
	ok, err := s.policy.Visible(ctx, p, r)
	if err != nil || !ok {
		s.log.Warn("policy: Visible rejects a search hit its Filter admitted; pages and totals may be short", "type", r.Type)
		return false
	}
	return true
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
	p.sort = []sortKey{{code: "_id"}}
	p.residuals = nil
	ms, err := s.collectAll(ctx, p, newRunStats(), limit, func() error {
		return ww.Errorf(ww.KindInvalid, "too-costly", "a chained or _has part of the search matches more than %d %s resources; make it more selective", limit, q.Type)
	})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.id
	}
	sort.Strings(ids)
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
	lu   int64
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

// cmpEntries is the total order of a search: the sort keys (missing values
// last), then the id; entries missing every key by lastUpdated, then id.
func cmpEntries(a, b goEntry, sorts []sortKey) int {
	all := true
	for i, sk := range sorts {
		if c := cmpSortValue(a.keys[i], b.keys[i], sk.desc); c != 0 {
			return c
		}
		if !a.keys[i].missing {
			all = false
		}
	}
	if all {
		switch {
		case a.lu < b.lu:
			return -1
		case a.lu > b.lu:
			return 1
		}
	}
	return strings.Compare(a.res.ID, b.res.ID)
}

// runGo collects every match (within GoSortWindow), then filters, sorts and
// pages in Go: for primary sort keys without a score index (_id, distance,
// tokens, strings, references) and conditions only the resource can answer
// (:missing on value indexes).
func (s *Store) runGo(ctx context.Context, q *ww.Query, p *qplan, st *runStats) (*ww.SearchResult, error) {
	st.method = fmt.Sprintf("collected by the scripts, sorted by %s in Go (window %d)", sortNames(p.sort), s.lim.GoSortWindow)
	ms, err := s.collectAll(ctx, p, st, s.lim.GoSortWindow, func() error {
		return ww.Errorf(ww.KindInvalid, "too-costly", "the search matches more than %d resources, too many to sort by %s or to check :missing on in one request; narrow it, or sort by a date or _lastUpdated", s.lim.GoSortWindow, sortNames(p.sort))
	})
	if err != nil {
		return nil, err
	}
	entries, err := s.loadEntries(ctx, q, p, ms)
	if err != nil {
		return nil, err
	}
	res := &ww.SearchResult{Total: -1}
	if q.Total != ww.TotalNone {
		res.Total = len(entries)
	}
	if p.count == 0 {
		return res, nil
	}
	return s.pageEntries(q, p, entries, res, false)
}

// loadEntries loads the resources of ms, applies the residual conditions
// and computes every sort key.
func (s *Store) loadEntries(ctx context.Context, q *ww.Query, p *qplan, ms []match) ([]goEntry, error) {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.id
	}
	recs, err := s.readRecords(ctx, q.Type, ids)
	if err != nil {
		return nil, err
	}
	pr := ww.PrincipalFrom(ctx)
	entries := make([]goEntry, 0, len(ms))
	for i, rec := range recs {
		if rec == nil || rec.deleted || rec.vid == 0 {
			continue
		}
		r := rec.resource(q.Type, ids[i])
		if !s.visible(ctx, pr, r) {
			continue
		}
		var tree *fhirjson.Value
		if len(p.residuals) > 0 || needsTree(p.sort) {
			if tree, err = parseStored(r.JSON); err != nil {
				continue
			}
		}
		if !residualsHold(p.residuals, tree) {
			continue
		}
		e := goEntry{res: r, dist: ms[i].dist, lu: r.LastUpdated.UnixMilli()}
		for ki, sk := range p.sort {
			if ki == 0 && sk.score && !p.goPath() {
				// the paged primary key: the value the index holds
				if ms[i].val != nil {
					e.keys = append(e.keys, sortValue{num: *ms[i].val, isNum: true})
				} else {
					e.keys = append(e.keys, sortValue{missing: true})
				}
				continue
			}
			e.keys = append(e.keys, sortValueOf(sk, r, tree, e.dist))
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// pageEntries sorts entries, takes the page after the cursor and sets the
// next cursor; more forces a next link (matches beyond the entries given).
func (s *Store) pageEntries(q *ww.Query, p *qplan, entries []goEntry, res *ww.SearchResult, more bool) (*ww.SearchResult, error) {
	sorts := p.sort
	sort.SliceStable(entries, func(i, j int) bool { return cmpEntries(entries[i], entries[j], sorts) < 0 })
	start := 0
	if q.After != nil {
		cur := goEntry{res: &ww.Resource{ID: q.After.ID}}
		for _, k := range q.After.Keys {
			if strings.HasPrefix(k, "lu:") {
				cur.lu, _ = strconv.ParseInt(k[3:], 10, 64)
				continue
			}
			cur.keys = append(cur.keys, decodeSortValue(k))
		}
		for len(cur.keys) < len(sorts) {
			cur.keys = append(cur.keys, sortValue{missing: true})
		}
		start = sort.Search(len(entries), func(i int) bool { return cmpEntries(entries[i], cur, sorts) > 0 })
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
	if (end < len(entries) || more) && end > start {
		last := entries[end-1]
		c := &ww.Cursor{ID: last.res.ID}
		for _, k := range last.keys {
			c.Keys = append(c.Keys, k.encode())
		}
		c.Keys = append(c.Keys, "lu:"+strconv.FormatInt(last.lu, 10))
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
// either way (as the script does), an open start is no value.
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
