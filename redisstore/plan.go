package redisstore

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
)

// Limits bound the work of one search. The zero value of each field means
// its default; tests lower them to exercise the large-result paths with
// few resources. Every cap is shown by __explain.
type Limits struct {
	// ChainCap bounds the ids a chained parameter or _has may resolve to.
	ChainCap int
	// GoSortWindow bounds the matches a search may collect when it must be
	// sorted or filtered in Go (a sort key without a score index, :missing
	// on value indexes), and the run of equal primary values a multi-key
	// sort finishes in Go.
	GoSortWindow int
	// CollectMax is the driver cardinality per shard up to which a sorted
	// search collects and sorts every match in one script call; above it
	// the script walks the sort index.
	CollectMax int
	// ScriptBudget is the work (elements read) one search script call may
	// do before it stops and is continued by cursor.
	ScriptBudget int
	// MaterialiseMax bounds the ids a non-driving lex filter may load to
	// answer membership checks.
	MaterialiseMax int
	// MaxRounds bounds the script calls of one search (each at most
	// ScriptBudget elements).
	MaxRounds int
	// IncludeCap bounds the resources _include/_revinclude add to a page
	// (the query's own IncludeCap, when set, wins).
	IncludeCap int
	// MaxIterate bounds _include:iterate rounds.
	MaxIterate int
}

// DefaultLimits are the limits of a Store opened without Options.Limits.
var DefaultLimits = Limits{ChainCap: 1000, GoSortWindow: 10000, CollectMax: 3000, ScriptBudget: 10000,
	MaterialiseMax: 20000, MaxRounds: 400, IncludeCap: DefaultIncludeCap, MaxIterate: 4}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.ChainCap, d.ChainCap)
	set(&l.GoSortWindow, d.GoSortWindow)
	set(&l.CollectMax, d.CollectMax)
	set(&l.ScriptBudget, d.ScriptBudget)
	set(&l.MaterialiseMax, d.MaterialiseMax)
	set(&l.MaxRounds, d.MaxRounds)
	set(&l.IncludeCap, d.IncludeCap)
	set(&l.MaxIterate, d.MaxIterate)
	return l
}

// filter is one condition in shard-independent form; keys are built per
// shard by the key functions.
type filter struct {
	kind string // set, lex, scan, date, num, ids, geo, not
	// index is the parameter whose keys the filter reads; suffixes select
	// sub-keys (set values, "text", "identifier", …).
	index  string
	sets   []string // set values (suffixes)
	texts  []string // :text prefixes resolved through the display registry
	sub    string   // lex sub-index suffix ("" = the main one)
	ranges [][2]string
	exact  []string
	scan   []string
	// date and number: an AND of ORs of conditions {op, lo, hi[, value]}
	width int64
	conds [][][]any
	// a, b bound the narrow (or number) index scan; wwin the wide date
	// indexes' scans by class (b<k>, oe, os, all → [a, b]).
	a, b string
	wwin map[string][2]string
	wide bool
	// ids
	ids []string
	// compound
	czParts []czPart
	czSort  string
	// geo
	lon, lat, km float64
	not          *filter
	ors          []*filter // kind "or": any of them
	// describe is for __explain.
	describe string
}

// residual is a condition evaluated in Go on the fetched resource.
type residual struct {
	param   *conformance.SearchParam
	missing bool // :missing=true keeps resources without a value
}

// sortKey is a resolved _sort key.
type sortKey struct {
	param *conformance.SearchParam
	code  string // _id, _lastUpdated, distance, or a parameter code
	desc  bool
	// score: the key has a score index the script can walk in order
	// (_lastUpdated, a date, a number).
	score bool
}

// qplan is a query ready to run.
type qplan struct {
	keys      keys // the read generation's keys
	typ       string
	filters   []*filter
	residuals []residual
	sort      []sortKey
	count     int
	total     ww.TotalMode
	explain   []string
	hasGeo    bool
	geo       *filter
	empty     bool // a clause can match nothing (an unknown chain target): no results
	// czSort is the compound filter the script streams for the sort.
	czSort *filter
}

// goPath reports whether the query must be collected and sorted in Go: a
// condition only the resource can answer, or a primary sort key without a
// score index. A search whose primary key has one is paged in Redis, further
// keys breaking its ties in Go.
func (p *qplan) goPath() bool {
	return len(p.residuals) > 0 || !p.sort[0].score
}

func invalid(format string, args ...any) error {
	return ww.Errorf(ww.KindInvalid, "value", format, args...)
}

// planQuery translates clauses into filters.
func (s *Store) planQuery(ctx ctxT, q *ww.Query, clauses []ww.Clause, depth int) (*qplan, error) {
	p := &qplan{keys: s.kr(), typ: q.Type, count: q.Count, total: q.Total}
	if p.count < 0 {
		p.count = 0
	}
	clauses = s.impliedSystems(q.Type, clauses)
	// Date clauses on one parameter combine into one filter with one scan
	// window, so ge…&lt… is a bounded range.
	dates := map[string]*filter{}
	for _, cl := range clauses {
		f, res, err := s.planClause(ctx, q, cl, depth, dates)
		if err != nil {
			return nil, err
		}
		if res != nil {
			p.residuals = append(p.residuals, *res)
		}
		if f == nil {
			continue
		}
		if f.kind == "empty" {
			p.empty = true
			continue
		}
		if f.kind == "geo" {
			p.hasGeo, p.geo = true, f
		}
		if f.kind == "date" && dates[f.index] == f && containsFilter(p.filters, f) {
			continue
		}
		p.filters = append(p.filters, f)
	}
	for _, f := range dates {
		finishDate(f)
	}
	for _, f := range p.filters {
		p.explain = append(p.explain, f.describe)
	}
	sorts, err := s.planSort(q, p)
	if err != nil {
		return nil, err
	}
	p.sort = sorts
	s.applyCompound(p, clauses, q.Base)
	return p, nil
}

// prefixRange is the ZRANGEBYLEX range of every member starting with p:
// [p, next(p)) where next increments the last byte (no "\xff" sentinel,
// which would not cover longer UTF-8 sequences).
func prefixRange(p string) [2]string {
	b := []byte(p)
	for len(b) > 0 && b[len(b)-1] == 0xff {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return [2]string{"[" + p, "+"}
	}
	b[len(b)-1]++
	return [2]string{"[" + p, "(" + string(b)}
}

func containsFilter(fs []*filter, f *filter) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

type ctxT = interface {
	Deadline() (time.Time, bool)
	Done() <-chan struct{}
	Err() error
	Value(any) any
}

func (s *Store) planClause(ctx ctxT, q *ww.Query, cl ww.Clause, depth int, dates map[string]*filter) (*filter, *residual, error) {
	typ := q.Type
	switch cl.Param {
	case "_id":
		if cl.Modifier != "" && cl.Modifier != "not" {
			return nil, nil, invalid("modifier :%s is not supported on _id", cl.Modifier)
		}
		f := &filter{kind: "ids", describe: "_id in " + strings.Join(cl.Values, ",")}
		for _, v := range cl.Values {
			f.ids = append(f.ids, conformance.Unescape(v))
		}
		if cl.Modifier == "not" {
			return &filter{kind: "not", not: f, describe: "not " + f.describe}, nil, nil
		}
		return f, nil, nil
	case "_owner":
		f := &filter{kind: "set", index: "_owner", describe: "_owner"}
		f.sets = append(f.sets, cl.Values...)
		return f, nil, nil
	case "_has":
		return s.planHas(ctx, q, cl, depth)
	}
	p, ok := s.reg.Lookup(typ, cl.Param)
	if !ok {
		return nil, nil, ww.Errorf(ww.KindInvalid, "not-supported", "%s has no search parameter %q", typ, cl.Param).At(cl.Param)
	}
	if cl.Chain != "" {
		return s.planChain(ctx, q, p, cl, depth)
	}
	if cl.Modifier == "missing" {
		return s.planMissing(p, cl)
	}
	switch p.Type {
	case conformance.TypeToken:
		return s.planToken(p, cl)
	case conformance.TypeReference:
		return s.planReference(q, p, cl)
	case conformance.TypeString:
		return s.planString(p, cl)
	case conformance.TypeURI:
		return s.planURI(p, cl)
	case conformance.TypeDate:
		f, err := s.planDate(p, cl, dates)
		return f, nil, err
	case conformance.TypeNumber, conformance.TypeQuantity:
		f, err := s.planNumber(p, cl)
		return f, nil, err
	case conformance.TypeSpecial:
		if p.Code == "near" {
			f, err := s.planNear(p, cl)
			return f, nil, err
		}
	}
	return nil, nil, ww.Errorf(ww.KindInvalid, "not-supported", "search parameter %s (%s) is not supported", cl.Param, p.Type).At(cl.Param)
}

// impliedSystems rewrites token values that name the implied system of a
// code element's parameter (conformance.SearchParam.ImpliedSystem) to the
// bare code the index holds: "S|c" → "|c", "S|" → "|". Every path that
// reads a clause's values (the plain filters, the compound indexes) sees
// the rewritten clauses; the caller's slice is left as it is.
func (s *Store) impliedSystems(typ string, clauses []ww.Clause) []ww.Clause {
	var out []ww.Clause
	for i, cl := range clauses {
		if cl.Chain != "" || cl.Modifier != "" && cl.Modifier != "not" {
			continue
		}
		p, ok := s.reg.Lookup(typ, cl.Param)
		if !ok {
			continue
		}
		imp := p.ImpliedSystem()
		if imp == "" {
			continue
		}
		var vals []string
		for j, v := range cl.Values {
			if strings.HasPrefix(v, imp+"|") {
				if vals == nil {
					vals = append([]string(nil), cl.Values...)
				}
				vals[j] = v[len(imp):]
			}
		}
		if vals == nil {
			continue
		}
		if out == nil {
			out = append([]ww.Clause(nil), clauses...)
		}
		out[i].Values = vals
	}
	if out == nil {
		return clauses
	}
	return out
}

func notSupportedModifier(cl ww.Clause, p *conformance.SearchParam) error {
	return ww.Errorf(ww.KindInvalid, "not-supported", "modifier :%s is not supported on %s (%s)", cl.Modifier, cl.Param, p.Type).At(cl.Param + ":" + cl.Modifier)
}

func (s *Store) planToken(p *conformance.SearchParam, cl ww.Clause) (*filter, *residual, error) {
	name := p.IndexName()
	switch cl.Modifier {
	case "", "not":
	case "text":
		if p.Layout == "lex" {
			f := &filter{kind: "lex", index: name, sub: "text", describe: p.Code + ":text"}
			for _, v := range cl.Values {
				f.ranges = append(f.ranges, prefixRange(conformance.Normalize(conformance.Unescape(v))))
			}
			return f, nil, nil
		}
		f := &filter{kind: "set", index: name, describe: p.Code + ":text (through the display registry)"}
		for _, v := range cl.Values {
			f.texts = append(f.texts, conformance.Normalize(conformance.Unescape(v)))
		}
		return f, nil, nil
	case "of-type":
		f := &filter{kind: "lex", index: name, sub: "of-type", describe: p.Code + ":of-type"}
		for _, v := range cl.Values {
			parts := strings.SplitN(v, "|", 3)
			if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
				return nil, nil, invalid("%s:of-type=%q must be type-system|type-code|value", cl.Param, v)
			}
			pre := parts[0] + "|" + parts[1] + "|" + parts[2] + "\x00"
			f.ranges = append(f.ranges, prefixRange(pre))
			f.exact = append(f.exact, pre)
		}
		return f, nil, nil
	default:
		return nil, nil, notSupportedModifier(cl, p)
	}
	var f *filter
	if p.Layout == "lex" {
		var anySys []string
		f = &filter{kind: "lex", index: name, describe: p.Code + " (lex index)"}
		for _, v := range cl.Values {
			system, code, hasSystem := conformance.SplitToken(v)
			switch {
			case code == "" && hasSystem:
				// system|: any value in the system, from the by-system index
				anySys = append(anySys, systemTag(system)+"\x00")
			case code == "":
				return nil, nil, invalid("%s has an empty value", cl.Param)
			case hasSystem:
				pre := code + "\x00" + systemTag(system) + "\x00"
				f.ranges = append(f.ranges, prefixRange(pre))
				f.exact = append(f.exact, pre)
			default:
				f.ranges = append(f.ranges, prefixRange(code+"\x00"))
				f.exact = nil
			}
		}
		if len(f.exact) != len(f.ranges) {
			f.exact = nil
		}
		if len(anySys) > 0 {
			// by-system entries are sets in a lean generation, a lex index in
			// one an older release built (see layoutScheme): either holds them
			legacy := &filter{kind: "lex", index: name, sub: "sys", describe: p.Code + " system| (by-system lex index)"}
			sets := &filter{kind: "set", index: name, describe: p.Code + " system| (by-system sets)"}
			for _, pre := range anySys {
				legacy.ranges = append(legacy.ranges, prefixRange(pre))
				legacy.exact = append(legacy.exact, pre)
				sets.sets = append(sets.sets, "sys:"+strings.TrimSuffix(pre, "\x00"))
			}
			bySys := &filter{kind: "or", ors: []*filter{sets, legacy}, describe: sets.describe + " or " + legacy.describe}
			switch {
			case len(f.ranges) == 0:
				f = bySys
			default:
				// OR across the two indexes: system| and code values mixed
				f = &filter{kind: "or", ors: []*filter{f, bySys}, describe: f.describe + " or " + bySys.describe}
			}
		}
	} else {
		f = &filter{kind: "set", index: name, describe: p.Code + " (set index)"}
		for _, v := range cl.Values {
			system, code, hasSystem := conformance.SplitToken(v)
			switch {
			case hasSystem && code == "":
				f.sets = append(f.sets, "@sys:"+system)
			case hasSystem:
				f.sets = append(f.sets, system+"|"+code)
			default:
				f.sets = append(f.sets, "@any:"+code)
			}
		}
	}
	if cl.Modifier == "not" {
		return &filter{kind: "not", not: f, describe: "not " + f.describe}, nil, nil
	}
	return f, nil, nil
}

func (s *Store) planReference(q *ww.Query, p *conformance.SearchParam, cl ww.Clause) (*filter, *residual, error) {
	name := p.IndexName()
	if cl.Modifier == "identifier" {
		f := &filter{kind: "lex", index: name, sub: "identifier", describe: p.Code + ":identifier"}
		for _, v := range cl.Values {
			system, code, hasSystem := conformance.SplitToken(v)
			if code == "" {
				return nil, nil, invalid("%s:identifier needs a value", cl.Param)
			}
			pre := code + "\x00"
			if hasSystem {
				pre += systemTag(system) + "\x00"
			}
			f.ranges = append(f.ranges, prefixRange(pre))
		}
		return f, nil, nil
	}
	typeMod := cl.Modifier
	if typeMod != "" && !(typeMod[0] >= 'A' && typeMod[0] <= 'Z') {
		return nil, nil, notSupportedModifier(cl, p)
	}
	if p.Restrict != "" {
		if typeMod != "" && typeMod != p.Restrict {
			return nil, nil, invalid("%s refers to %s only, not :%s", cl.Param, p.Restrict, typeMod)
		}
		typeMod = p.Restrict
	}
	if typeMod != "" && len(p.Targets) > 0 && !contains(p.Targets, typeMod) && p.Restrict == "" {
		return nil, nil, invalid("%s cannot refer to %s (targets: %s)", cl.Param, typeMod, strings.Join(p.Targets, ", "))
	}
	f := &filter{kind: "lex", index: name, describe: p.Code + " (reference index)"}
	allExact := true
	for _, v := range cl.Values {
		rv, err := conformance.ParseReference(cl.Param, v, typeMod, q.Base)
		if err != nil {
			return nil, nil, err
		}
		var pre string
		switch {
		case rv.URL != "":
			pre = rv.URL + "\x00\x00"
		case rv.Type != "":
			pre = rv.ID + "\x00" + rv.Type + "\x00"
		default:
			pre = rv.ID + "\x00"
			allExact = false
		}
		f.ranges = append(f.ranges, prefixRange(pre))
		f.exact = append(f.exact, pre)
	}
	if !allExact {
		f.exact = nil
	}
	return f, nil, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (s *Store) planString(p *conformance.SearchParam, cl ww.Clause) (*filter, *residual, error) {
	f, res, err := s.planStringIndex(p, p.IndexName(), cl)
	if err != nil || len(p.Parts()) == 0 {
		return f, res, err
	}
	// the parameter's values are spread over its index and its parts'
	// (conformance.SearchParam.Parts): any of them
	or := &filter{kind: "or", ors: []*filter{f}, describe: f.describe}
	for _, part := range p.Parts() {
		pf, _, err := s.planStringIndex(p, part.IndexName(), cl)
		if err != nil {
			return nil, nil, err
		}
		pf.describe += " in the " + part.Code + " index"
		or.ors = append(or.ors, pf)
		or.describe += " or " + pf.describe
	}
	return or, nil, nil
}

// planStringIndex plans a string clause of p over the lex index name.
func (s *Store) planStringIndex(p *conformance.SearchParam, name string, cl ww.Clause) (*filter, *residual, error) {
	switch cl.Modifier {
	case "", "exact":
		f := &filter{kind: "lex", index: name, describe: p.Code + " (string index)"}
		for _, v := range cl.Values {
			v = conformance.Unescape(v)
			n := conformance.Normalize(v)
			if cl.Modifier == "exact" {
				f.ranges = append(f.ranges, prefixRange(n+"\x00"+v+"\x00"))
				f.describe = p.Code + ":exact"
			} else {
				f.ranges = append(f.ranges, prefixRange(n))
			}
		}
		return f, nil, nil
	case "contains":
		f := &filter{kind: "scan", index: name, describe: p.Code + ":contains (index scan)"}
		for _, v := range cl.Values {
			n := conformance.Normalize(conformance.Unescape(v))
			if n == "" {
				return nil, nil, invalid("%s:contains has an empty value", cl.Param)
			}
			f.scan = append(f.scan, n)
		}
		return f, nil, nil
	}
	return nil, nil, notSupportedModifier(cl, p)
}

func (s *Store) planURI(p *conformance.SearchParam, cl ww.Clause) (*filter, *residual, error) {
	name := p.IndexName()
	f := &filter{kind: "lex", index: name, describe: p.Code + " (uri index)"}
	for _, v := range cl.Values {
		v = conformance.Unescape(v)
		switch cl.Modifier {
		case "":
			f.ranges = append(f.ranges, prefixRange(v+"\x00"))
		case "below":
			f.ranges = append(f.ranges, prefixRange(v))
		case "above":
			// Every prefix of v at a path boundary.
			for i := len(v); i > 0; i-- {
				if i == len(v) || v[i] == '/' {
					f.ranges = append(f.ranges, prefixRange(v[:i]+"\x00"))
				}
			}
		default:
			return nil, nil, notSupportedModifier(cl, p)
		}
	}
	return f, nil, nil
}

func (s *Store) planDate(p *conformance.SearchParam, cl ww.Clause, dates map[string]*filter) (*filter, error) {
	if cl.Modifier != "" {
		return nil, notSupportedModifier(cl, p)
	}
	f := dates[p.IndexName()]
	if f == nil {
		f = &filter{kind: "date", index: p.IndexName(), width: p.WidthMillis(), wide: p.Code != "_lastUpdated", describe: p.Code + " (date index)"}
		dates[p.IndexName()] = f
	}
	// One clause is an OR of its values; repeated clauses AND.
	var alts []any
	for _, v := range cl.Values {
		dv, err := conformance.ParseDate(cl.Param, v, s.clock.Now())
		if err != nil {
			return nil, err
		}
		alts = append(alts, []any{string(dv.Prefix), dv.Lo, dv.Hi})
	}
	f.conds = append(f.conds, toAlts(alts))
	return f, nil
}

func toAlts(xs []any) [][]any {
	out := make([][]any, len(xs))
	for i, x := range xs {
		out[i] = x.([]any)
	}
	return out
}

// window is a closed score interval; unbounded ends are ±inf.
type window struct{ lo, hi int64 }

var fullWindow = window{math.MinInt64, math.MaxInt64}

func (w window) and(o window) window { return window{maxI(w.lo, o.lo), minI(w.hi, o.hi)} }
func (w window) or(o window) window  { return window{minI(w.lo, o.lo), maxI(w.hi, o.hi)} }

func (w window) bounds() (string, string) {
	a, b := "-inf", "+inf"
	if w.lo != math.MinInt64 {
		a = strconv.FormatInt(w.lo, 10)
	}
	if w.hi != math.MaxInt64 {
		b = strconv.FormatInt(w.hi, 10)
	}
	if w.lo > w.hi {
		return "1", "0" // empty
	}
	return a, b
}

// dateWindows returns, for one condition, the window the lower bound of a
// matching finite value at most w wide lies in (score = lower bound).
func dateWindows(op string, slo, shi, w int64) window {
	lt := func(v int64) window { return window{math.MinInt64, v} }
	gt := func(v int64) window { return window{v, math.MaxInt64} }
	switch op {
	case "eq", "ap": // inside [slo, shi]
		return window{slo, shi}
	case "gt": // hi > shi
		return gt(shi - w)
	case "lt": // lo < slo
		return lt(slo - 1)
	case "ge": // hi > shi (so lo > shi - w), or inside (lo >= slo)
		return gt(minI(slo, shi-w+1))
	case "le": // lo < slo, or inside: lo <= shi
		return lt(shi)
	case "sa": // lo > shi
		return gt(shi + 1)
	case "eb": // hi < slo
		return lt(slo - 1)
	}
	return fullWindow // ne, has
}

var emptyWindow = window{1, 0}

// openWindows returns a condition's windows over the open-ended values:
// open end (scored by the lower bound), open start (by the upper bound) and
// open on both sides (all or nothing).
func openWindows(op string, slo, shi int64) (oe, os, all window) {
	lt := func(v int64) window { return window{math.MinInt64, v} }
	gt := func(v int64) window { return window{v, math.MaxInt64} }
	switch op {
	case "eq", "ap":
		return emptyWindow, emptyWindow, emptyWindow
	case "gt", "ge": // hi = +inf > shi always
		return fullWindow, gt(slo), fullWindow
	case "lt", "le": // lo = -inf < slo always
		w := lt(slo - 1)
		if op == "le" {
			w = lt(shi)
		}
		return w, fullWindow, fullWindow
	case "sa":
		return gt(shi + 1), emptyWindow, emptyWindow
	case "eb":
		return emptyWindow, lt(slo - 1), emptyWindow
	}
	return fullWindow, fullWindow, fullWindow
}

// dateKinds are the windows of a date filter: narrow values, open end,
// open start, both open, then the wide width classes b1…; dateKindWidths
// their widths (narrow and wide kinds only).
var dateKinds, dateKindWidths = func() ([]string, []int64) {
	ks := []string{"n", "oe", "os", "all"}
	ws := []int64{maxNarrowWidth, 0, 0, 0}
	for b := 1; b <= wideKinds; b++ {
		k := "b" + strconv.Itoa(b)
		ks = append(ks, k)
		ws = append(ws, wideWidth(k))
	}
	return ks, ws
}()

// The positions in dateKinds: narrow, open end, open start, both open, and
// the first wide class.
const (
	kindNarrow = iota
	kindOpenEnd
	kindOpenStart
	kindAll
	kindWide
)

// finishDate computes the scan windows of a date filter from its
// conditions: each clause's alternatives widen (OR), clauses narrow (AND).
// Narrow values and every width class of wide ones are bounded by their
// lower bound (both ends, for a bounded search); open-ended values by the
// bound they have.
func finishDate(f *filter) {
	kinds := dateKinds[:kindWide]
	if f.wide {
		kinds = dateKinds
	}
	// acc and clause are indexed like kinds: n, oe, os, all, b1…
	var accBuf, clauseBuf [kindWide + wideKinds]window
	acc, clause := accBuf[:len(kinds)], clauseBuf[:len(kinds)]
	for i := range acc {
		acc[i] = fullWindow
	}
	for _, alts := range f.conds {
		for j, c := range alts {
			op, slo, shi := c[0].(string), c[1].(int64), c[2].(int64)
			oe, os, all := openWindows(op, slo, shi)
			for i := range kinds {
				var w window
				switch i {
				case kindOpenEnd:
					w = oe
				case kindOpenStart:
					w = os
				case kindAll:
					w = all
				default:
					w = dateWindows(op, slo, shi, dateKindWidths[i])
				}
				if j == 0 {
					clause[i] = w
				} else {
					clause[i] = clause[i].or(w)
				}
			}
		}
		if len(alts) == 0 {
			continue
		}
		for i := range acc {
			acc[i] = acc[i].and(clause[i])
		}
	}
	f.a, f.b = acc[kindNarrow].bounds()
	f.describe = fmt.Sprintf("%s in [%s, %s]", f.describe, f.a, f.b)
	if f.wide {
		f.wwin = map[string][2]string{}
		lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
		for i, k := range kinds[1:] {
			w := acc[i+1]
			a, b := w.bounds()
			f.wwin[k] = [2]string{a, b}
			if i+1 >= kindWide && w.lo <= w.hi {
				lo, hi = minI(lo, w.lo), maxI(hi, w.hi)
			}
		}
		if lo <= hi {
			a, b := window{lo, hi}.bounds()
			f.describe += fmt.Sprintf("; wider values by width class, lower bounds within [%s, %s]", a, b)
		}
		oa, ob := f.wwin["oe"][0], f.wwin["oe"][1]
		sa, sb := f.wwin["os"][0], f.wwin["os"][1]
		f.describe += fmt.Sprintf("; open-ended values by the bound they have: start in [%s, %s], end in [%s, %s]", oa, ob, sa, sb)
	}
}

func maxI(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func minI(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

func (s *Store) planNumber(p *conformance.SearchParam, cl ww.Clause) (*filter, error) {
	if cl.Modifier != "" {
		return nil, notSupportedModifier(cl, p)
	}
	f := &filter{kind: "num", index: p.IndexName(), describe: p.Code + " (number index)"}
	var alts [][]any
	lo, hi := math.Inf(1), math.Inf(-1)
	unit := ""
	for i, v := range cl.Values {
		raw, u := v, ""
		if p.Type == conformance.TypeQuantity {
			parts := strings.SplitN(v, "|", 3)
			raw = parts[0]
			if len(parts) == 3 && (parts[1] != "" || parts[2] != "") {
				if parts[2] == "" {
					return nil, invalid("%s=%s: give the unit code (value|system|code or value||code)", cl.Param, v)
				}
				u = parts[1] + "|" + parts[2]
			}
		}
		if i > 0 && u != unit {
			return nil, invalid("%s=%s: the values of one parameter (OR) must share a unit", cl.Param, strings.Join(cl.Values, ","))
		}
		unit = u
		nv, err := conformance.ParseNumber(cl.Param, raw)
		if err != nil {
			return nil, err
		}
		slo, shi := nv.Lo, nv.Hi
		if nv.Prefix == conformance.Ap {
			d := math.Abs(nv.Value) / 10
			slo, shi = nv.Value-d, nv.Value+d
		}
		alts = append(alts, []any{string(nv.Prefix), slo, shi, nv.Value})
		wl, wh := numWindow(string(nv.Prefix), slo, shi, nv.Value)
		lo, hi = math.Min(lo, wl), math.Max(hi, wh)
	}
	f.conds = [][][]any{alts}
	if unit != "" {
		f.sub = unit
		f.describe = p.Code + " (number index of unit " + unit + ")"
	}
	f.a, f.b = fmtScore(lo, true), fmtScore(hi, false)
	f.describe += " in [" + f.a + ", " + f.b + "]"
	return f, nil
}

// numWindow is the score window of a number condition.
func numWindow(op string, slo, shi, v float64) (float64, float64) {
	switch op {
	case "eq", "ap":
		return slo, shi
	case "gt", "sa", "ge":
		return v, math.Inf(1)
	case "lt", "eb", "le":
		return math.Inf(-1), v
	}
	return math.Inf(-1), math.Inf(1)
}

func fmtScore(v float64, low bool) string {
	switch {
	case math.IsInf(v, -1):
		return "-inf"
	case math.IsInf(v, 1):
		return "+inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func (s *Store) planNear(p *conformance.SearchParam, cl ww.Clause) (*filter, error) {
	if cl.Modifier != "" {
		return nil, notSupportedModifier(cl, p)
	}
	if len(cl.Values) != 1 {
		return nil, invalid("near takes one value")
	}
	nv, err := conformance.ParseNear(cl.Param, cl.Values[0])
	if err != nil {
		return nil, err
	}
	return &filter{kind: "geo", index: p.IndexName(), lat: nv.Lat, lon: nv.Lon, km: nv.Km,
		describe: fmt.Sprintf("near %.5f,%.5f within %g km (GEO index)", nv.Lat, nv.Lon, nv.Km)}, nil
}

// planMissing handles :missing. Date and number parameters are checked in
// the index; other kinds are checked on the fetched resource.
func (s *Store) planMissing(p *conformance.SearchParam, cl ww.Clause) (*filter, *residual, error) {
	if len(cl.Values) != 1 || (cl.Values[0] != "true" && cl.Values[0] != "false") {
		return nil, nil, invalid("%s:missing takes true or false", cl.Param)
	}
	missing := cl.Values[0] == "true"
	if p.Type == conformance.TypeDate {
		has := &filter{kind: "date", index: p.IndexName(), width: p.WidthMillis(), wide: true, conds: [][][]any{{{"has", int64(0), int64(0)}}}, describe: p.Code}
		finishDate(has)
		has.describe = p.Code + " has a value"
		if missing {
			return &filter{kind: "not", not: has, describe: p.Code + ":missing=true"}, nil, nil
		}
		return has, nil, nil
	}
	return nil, &residual{param: p, missing: missing}, nil
}

// planChain resolves a chained parameter: the resources of the target type
// matching the rest of the chain become an id list (capped).
func (s *Store) planChain(ctx ctxT, q *ww.Query, p *conformance.SearchParam, cl ww.Clause, depth int) (*filter, *residual, error) {
	if p.Type != conformance.TypeReference {
		return nil, nil, invalid("%s is not a reference, so it cannot be chained", cl.Param)
	}
	if depth >= 3 {
		return nil, nil, invalid("chains deeper than 3 are not supported")
	}
	targets := p.Targets
	if p.Restrict != "" {
		targets = []string{p.Restrict}
	}
	if cl.Modifier != "" {
		targets = []string{cl.Modifier}
	}
	next, rest, _ := strings.Cut(cl.Chain, ".")
	nparam, nmod, _ := strings.Cut(next, ":")
	var prefixes []string
	searched := 0
	for _, t := range targets {
		if !conformance.Supported(t) {
			continue
		}
		if _, ok := s.reg.Lookup(t, nparam); !ok && nparam != "_id" && nparam != "_has" {
			continue
		}
		searched++
		sub := ww.Clause{Param: nparam, Modifier: nmod, Chain: rest, Values: cl.Values}
		subs, err := s.policyClauses(ctx, t, sub)
		if err != nil {
			return nil, nil, err
		}
		ids, err := s.matchIDs(ctx, &ww.Query{Type: t, Base: q.Base}, subs, depth+1, s.lim.ChainCap)
		if err != nil {
			return nil, nil, err
		}
		for _, id := range ids {
			prefixes = append(prefixes, id+"\x00"+t+"\x00")
		}
	}
	if searched == 0 {
		return nil, nil, invalid("chain %s.%s: no target type of %s has the parameter %s", cl.Param, cl.Chain, cl.Param, nparam)
	}
	if len(prefixes) == 0 {
		return &filter{kind: "empty"}, nil, nil
	}
	f := &filter{kind: "lex", index: p.IndexName(), exact: prefixes, describe: fmt.Sprintf("%s.%s → %d targets (chain cap %d)", cl.Param, cl.Chain, len(prefixes), s.lim.ChainCap)}
	for _, pre := range prefixes {
		f.ranges = append(f.ranges, prefixRange(pre))
	}
	return f, nil, nil
}

// planHas resolves _has:Type:refParam:param=value: the resources of Type
// matching param=value are fetched and the targets of their refParam
// references become an id list (capped).
func (s *Store) planHas(ctx ctxT, q *ww.Query, cl ww.Clause, depth int) (*filter, *residual, error) {
	parts := strings.SplitN(cl.Modifier, ":", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return nil, nil, invalid("_has must be _has:Type:reference-parameter:parameter=value")
	}
	if depth >= 3 {
		return nil, nil, invalid("_has nested deeper than 3 is not supported")
	}
	typ, refName, rest := parts[0], parts[1], parts[2]
	if !conformance.Supported(typ) {
		return nil, nil, invalid("_has: %s is not a supported type", typ)
	}
	rp, ok := s.reg.Lookup(typ, refName)
	if !ok || rp.Type != conformance.TypeReference {
		return nil, nil, invalid("_has: %s has no reference parameter %s", typ, refName)
	}
	var sub ww.Clause
	if strings.HasPrefix(rest, "_has:") {
		sub = ww.Clause{Param: "_has", Modifier: strings.TrimPrefix(rest, "_has:"), Values: cl.Values}
	} else {
		name, chain, _ := strings.Cut(rest, ".")
		param, mod, _ := strings.Cut(name, ":")
		sub = ww.Clause{Param: param, Modifier: mod, Chain: chain, Values: cl.Values}
	}
	subs, err := s.policyClauses(ctx, typ, sub)
	if err != nil {
		return nil, nil, err
	}
	res, err := s.matchResources(ctx, &ww.Query{Type: typ, Base: q.Base}, subs, depth+1, s.lim.ChainCap)
	if err != nil {
		return nil, nil, err
	}
	ids := map[string]bool{}
	for _, r := range res {
		tree, err := parseStored(r.JSON)
		if err != nil {
			continue
		}
		vals := rp.Extract(tree)
		for _, ref := range vals.Refs {
			if ref.Type == q.Type && ref.ID != "" {
				ids[ref.ID] = true
			}
		}
	}
	if len(ids) == 0 {
		return &filter{kind: "empty"}, nil, nil
	}
	f := &filter{kind: "ids", describe: fmt.Sprintf("_has:%s → %d ids (chain cap %d)", cl.Modifier, len(ids), s.lim.ChainCap)}
	for id := range ids {
		f.ids = append(f.ids, id)
	}
	return f, nil, nil
}

// planSort resolves _sort; without it the order is _lastUpdated ascending
// (then id). A primary key with a score index (_lastUpdated, a date, a
// number) is paged in Redis; the others are sorted in Go within
// GoSortWindow matches.
func (s *Store) planSort(q *ww.Query, p *qplan) ([]sortKey, error) {
	if len(q.Sort) == 0 {
		return []sortKey{{code: "_lastUpdated", score: true}}, nil
	}
	var out []sortKey
	seen := map[string]bool{}
	for _, k := range q.Sort {
		sk := sortKey{code: k.Param, desc: k.Descending}
		if k.Param == "_distance" {
			sk.code = "distance"
		}
		if seen[sk.code] {
			continue
		}
		seen[sk.code] = true
		switch sk.code {
		case "_id":
		case "_lastUpdated":
			sk.score = true
		case "distance":
			if !p.hasGeo {
				return nil, invalid("_sort=distance needs a near parameter")
			}
		default:
			sp, ok := s.reg.Lookup(q.Type, k.Param)
			if !ok {
				return nil, ww.Errorf(ww.KindInvalid, "not-supported", "cannot sort %s by %q: no such search parameter", q.Type, k.Param).At("_sort")
			}
			sk.param = sp
			switch sp.Type {
			case conformance.TypeDate, conformance.TypeNumber, conformance.TypeQuantity:
				sk.score = true
			case conformance.TypeString, conformance.TypeToken, conformance.TypeReference, conformance.TypeURI:
			default:
				return nil, ww.Errorf(ww.KindInvalid, "not-supported", "cannot sort by %s (%s)", k.Param, sp.Type).At("_sort")
			}
		}
		out = append(out, sk)
	}
	return out, nil
}

// policyClauses are the clauses of a chained or _has sub-search of typ: the
// principal's Policy filter is ANDed in, so a join never matches (or counts)
// resources the principal cannot see.
func (s *Store) policyClauses(ctx ctxT, typ string, sub ww.Clause) ([]ww.Clause, error) {
	p := ww.PrincipalFrom(ctx)
	if err := s.policy.Allow(ctx, p, ww.AccessSearch, typ); err != nil {
		return nil, err
	}
	extra, err := s.policy.Filter(ctx, p, typ)
	if err != nil {
		return nil, err
	}
	return append([]ww.Clause{sub}, extra...), nil
}
