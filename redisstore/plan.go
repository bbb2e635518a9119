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

// Search limits.
const (
	// chainCap bounds the ids a chained parameter or _has may resolve to.
	chainCap = 1000
	// goSortCap bounds the matches a search may collect when it must be
	// sorted or filtered in Go (string sort keys, :missing on value
	// indexes, multi-key sorts).
	goSortCap = 10000
	// collectMax is the driver cardinality per shard above which a search
	// sorted by an indexed value streams the sort index instead of
	// collecting every match.
	collectMax = 3000
	// scriptBudget is the Redis work (calls) one search script call may
	// do before it returns and is continued by cursor.
	scriptBudget = 6000
	// maxIterate bounds _include/_revinclude :iterate rounds.
	maxIterate = 3
)

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
	scan   string
	// date
	width int64
	conds [][3]any
	a, b  string
	wide  bool
	// ids
	ids []string
	// compound
	czParts []czPart
	czSort  string
	// geo
	lon, lat, km float64
	not          *filter
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
	// lua: sortable inside the script (a score index, the id, distance)
	lua bool
}

// qplan is a query ready to run.
type qplan struct {
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

// goPath reports whether the query must be finished in Go.
func (p *qplan) goPath() bool {
	return len(p.residuals) > 0 || len(p.sort) > 1 || (len(p.sort) == 1 && !p.sort[0].lua)
}

func invalid(format string, args ...any) error {
	return ww.Errorf(ww.KindInvalid, "value", format, args...)
}

// planQuery translates clauses into filters.
func (s *Store) planQuery(ctx ctxT, q *ww.Query, clauses []ww.Clause, depth int) (*qplan, error) {
	p := &qplan{typ: q.Type, count: q.Count, total: q.Total}
	if p.count < 0 {
		p.count = 0
	}
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
	s.applyCompound(p, clauses)
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
		f = &filter{kind: "lex", index: name, describe: p.Code + " (lex index)"}
		for _, v := range cl.Values {
			system, code, hasSystem := conformance.SplitToken(v)
			switch {
			case code == "" && hasSystem:
				return nil, nil, invalid("%s=%s: searching any code of a system is not supported for %s; give system|value", cl.Param, v, cl.Param)
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
	name := p.IndexName()
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
		if len(cl.Values) != 1 {
			return nil, nil, invalid("%s:contains takes one value (repeat the parameter for AND)", cl.Param)
		}
		return &filter{kind: "scan", index: name, scan: conformance.Normalize(conformance.Unescape(cl.Values[0])), describe: p.Code + ":contains (index scan)"}, nil, nil
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
	if len(cl.Values) > 1 {
		// OR of date values: keep them as separate conditions checked
		// together — the script ANDs conditions, so OR is only supported
		// for one value per clause.
		return nil, invalid("%s: several date values in one parameter (OR) are not supported; repeat the parameter for AND", cl.Param)
	}
	dv, err := conformance.ParseDate(cl.Param, cl.Values[0], s.clock.Now())
	if err != nil {
		return nil, err
	}
	f.conds = append(f.conds, [3]any{string(dv.Prefix), dv.Lo, dv.Hi})
	return f, nil
}

// finishDate computes the scan window of the narrow index from the
// conditions (a value's lower bound lies within [a, b]).
func finishDate(f *filter) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	w := int64(maxNarrowWidth)
	for _, c := range f.conds {
		op, slo, shi := c[0].(string), c[1].(int64), c[2].(int64)
		switch op {
		case "eq", "ap":
			lo, hi = maxI(lo, slo), minI(hi, shi)
		case "gt":
			lo = maxI(lo, shi-w)
		case "ge":
			lo = maxI(lo, slo-w)
		case "lt":
			hi = minI(hi, slo-1)
		case "le":
			hi = minI(hi, shi)
		case "sa":
			lo = maxI(lo, shi+1)
		case "eb":
			hi = minI(hi, slo-1)
		}
	}
	f.a, f.b = "-inf", "+inf"
	if lo != math.MinInt64 {
		f.a = strconv.FormatInt(lo, 10)
	}
	if hi != math.MaxInt64 {
		f.b = strconv.FormatInt(hi, 10)
	}
	f.describe = fmt.Sprintf("%s in [%s, %s]", f.describe, f.a, f.b)
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
	for _, v := range cl.Values {
		raw := v
		if p.Type == conformance.TypeQuantity {
			parts := strings.SplitN(v, "|", 3)
			raw = parts[0]
			if len(parts) == 3 && (parts[1] != "" || parts[2] != "") {
				f.sub = parts[1] + "|" + parts[2]
			}
		}
		nv, err := conformance.ParseNumber(cl.Param, raw)
		if err != nil {
			return nil, err
		}
		f.conds = append(f.conds, [3]any{string(nv.Prefix), nv.Lo, nv.Hi})
		f.ids = append(f.ids, strconv.FormatFloat(nv.Value, 'g', -1, 64))
	}
	if len(cl.Values) > 1 {
		return nil, invalid("%s: several number values in one parameter (OR) are not supported", cl.Param)
	}
	return f, nil
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
		has := &filter{kind: "date", index: p.IndexName(), width: p.WidthMillis(), wide: true, conds: [][3]any{{"has", int64(0), int64(0)}}, a: "-inf", b: "+inf", describe: p.Code + " has a value"}
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
		ids, err := s.matchIDs(ctx, &ww.Query{Type: t, Base: q.Base}, []ww.Clause{sub}, depth+1, chainCap)
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
	f := &filter{kind: "lex", index: p.IndexName(), exact: prefixes, describe: fmt.Sprintf("%s.%s → %d targets (cap %d)", cl.Param, cl.Chain, len(prefixes), chainCap)}
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
	res, err := s.matchResources(ctx, &ww.Query{Type: typ, Base: q.Base}, []ww.Clause{sub}, depth+1, chainCap)
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
	f := &filter{kind: "ids", describe: fmt.Sprintf("_has:%s → %d ids (cap %d)", cl.Modifier, len(ids), chainCap)}
	for id := range ids {
		f.ids = append(f.ids, id)
	}
	return f, nil, nil
}

// planSort resolves _sort; without it the order is _lastUpdated ascending
// (then id).
func (s *Store) planSort(q *ww.Query, p *qplan) ([]sortKey, error) {
	if len(q.Sort) == 0 {
		return []sortKey{{code: "_lastUpdated", lua: true}}, nil
	}
	var out []sortKey
	for _, k := range q.Sort {
		sk := sortKey{code: k.Param, desc: k.Descending}
		switch k.Param {
		case "_id":
			sk.lua = true
		case "_lastUpdated":
			sk.lua = true
		case "distance", "_distance":
			if !p.hasGeo {
				return nil, invalid("_sort=distance needs a near parameter")
			}
			sk.code, sk.lua = "distance", true
		default:
			sp, ok := s.reg.Lookup(q.Type, k.Param)
			if !ok {
				return nil, ww.Errorf(ww.KindInvalid, "not-supported", "cannot sort %s by %q: no such search parameter", q.Type, k.Param).At("_sort")
			}
			sk.param = sp
			switch sp.Type {
			case conformance.TypeDate, conformance.TypeNumber:
				sk.lua = true
			case conformance.TypeString, conformance.TypeToken, conformance.TypeReference, conformance.TypeURI:
			default:
				return nil, ww.Errorf(ww.KindInvalid, "not-supported", "cannot sort by %s (%s)", k.Param, sp.Type).At("_sort")
			}
		}
		out = append(out, sk)
	}
	return out, nil
}
