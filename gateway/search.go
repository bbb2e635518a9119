package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// Search result parameters the gateway understands.
const (
	defaultCount = 50
	maxCount     = 1000
)

// parsedSearch is a search request after parsing.
type parsedSearch struct {
	q *ww.Query
	// norm is the normalised query: only the parameters used, in a stable
	// order; it is the self link and what page tokens are bound to.
	norm    url.Values
	summary string
	explain bool
}

// resultParams are the parameters that shape the result, not the match.
var resultParams = map[string]bool{"_count": true, "_total": true, "_summary": true, "_elements": true, "_sort": true,
	"_include": true, "_revinclude": true, "_page": true, "_format": true, "_pretty": true, "__explain": true, "_contained": true, "_containedType": true}

// parseSearch parses search parameters. Unknown or unsupported parameters
// are ignored and left out of the self link, unless strict (Prefer:
// handling=strict), which makes them a 400 naming the parameter. Malformed
// values are always a 400 naming parameter and value (the store checks
// them).
func parseSearch(typ string, params url.Values, strict bool, base string) (*parsedSearch, error) {
	if err := queryCost(params); err != nil {
		return nil, err
	}
	ps := &parsedSearch{q: &ww.Query{Type: typ, Count: defaultCount, Base: base}, norm: url.Values{}}
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	unknown := func(name, why string) error {
		if strict {
			return ww.Errorf(ww.KindInvalid, "not-supported", "search parameter %q is not supported for %s%s", name, typ, why).At(name)
		}
		return nil
	}
	for _, name := range names {
		vals := params[name]
		base, mod, _ := strings.Cut(name, ":")
		if resultParams[base] {
			if err := ps.resultParam(typ, name, base, mod, vals, strict); err != nil {
				return nil, err
			}
			continue
		}
		cl, ok, why := clauseFor(typ, name)
		if !ok {
			if err := unknown(name, why); err != nil {
				return nil, err
			}
			continue
		}
		for _, v := range vals {
			if v == "" {
				continue
			}
			c := cl
			c.Values = splitOr(v)
			ps.q.Clauses = append(ps.q.Clauses, c)
			ps.norm.Add(name, v)
		}
	}
	return ps, nil
}

// clauseFor parses a parameter name: param, param:modifier, chains
// (actor:Patient.name, schedule.actor) and _has:Type:ref:param. ok is false
// for names this server does not know for typ.
func clauseFor(typ, name string) (ww.Clause, bool, string) {
	if strings.HasPrefix(name, "_has:") {
		return ww.Clause{Param: "_has", Modifier: strings.TrimPrefix(name, "_has:")}, true, ""
	}
	head, chain, chained := strings.Cut(name, ".")
	param, mod, _ := strings.Cut(head, ":")
	if param == "_id" || param == "_lastUpdated" {
		return ww.Clause{Param: param, Modifier: mod}, !chained, ""
	}
	p, ok := conformance.Params().Lookup(typ, param)
	if !ok {
		return ww.Clause{}, false, ""
	}
	if chained {
		if p.Type != conformance.TypeReference {
			return ww.Clause{}, false, " (only reference parameters can be chained)"
		}
		if why := chainKnown(p, mod, chain, 0); why != "" {
			return ww.Clause{}, false, why
		}
		return ww.Clause{Param: param, Modifier: mod, Chain: chain}, true, ""
	}
	return ww.Clause{Param: param, Modifier: mod}, true, ""
}

// chainKnown checks that a chain names parameters some target type has
// ("" when it does, else why not), so an unknown link is an unknown
// parameter: ignored by default, a 400 with handling=strict.
func chainKnown(p *conformance.SearchParam, mod, chain string, depth int) string {
	if depth > 3 {
		return " (chains deeper than 3 are not supported)"
	}
	targets := p.Targets
	if p.Restrict != "" {
		targets = []string{p.Restrict}
	}
	if mod != "" {
		targets = []string{mod}
	}
	next, rest, more := strings.Cut(chain, ".")
	name, nmod, _ := strings.Cut(next, ":")
	for _, t := range targets {
		if !conformance.Supported(t) {
			continue
		}
		if name == "_id" && !more {
			return ""
		}
		np, ok := conformance.Params().Lookup(t, name)
		if !ok {
			continue
		}
		if !more {
			return ""
		}
		if np.Type == conformance.TypeReference && chainKnown(np, nmod, rest, depth+1) == "" {
			return ""
		}
	}
	return fmt.Sprintf(" (no target type of %s has a parameter %s to chain to)", p.Code, name)
}

func (ps *parsedSearch) resultParam(typ, name, base, mod string, vals []string, strict bool) error {
	switch base {
	case "_count":
		n, err := strconv.Atoi(vals[0])
		if err != nil || n < 0 {
			return ww.Errorf(ww.KindInvalid, "value", "_count=%s is not a non-negative number", vals[0]).At("_count")
		}
		if n > maxCount {
			n = maxCount
		}
		ps.q.Count = n
		ps.norm.Set("_count", strconv.Itoa(n))
	case "_total":
		switch vals[0] {
		case "none":
			ps.q.Total = ww.TotalNone
		case "estimate":
			ps.q.Total = ww.TotalEstimate
		case "accurate":
			ps.q.Total = ww.TotalAccurate
		default:
			return ww.Errorf(ww.KindInvalid, "value", "_total=%s: use none, estimate or accurate", vals[0]).At("_total")
		}
		ps.norm.Set("_total", vals[0])
	case "_summary":
		switch vals[0] {
		case "count":
			ps.q.Total = ww.TotalAccurate
		case "true", "false", "data", "text":
		default:
			return ww.Errorf(ww.KindInvalid, "value", "_summary=%s: use true, false, text, data or count", vals[0]).At("_summary")
		}
		ps.summary = vals[0]
		ps.norm.Set("_summary", vals[0])
	case "_elements":
		ps.norm["_elements"] = vals
	case "_sort":
		var used []string
		for _, v := range vals {
			for _, k := range strings.Split(v, ",") {
				k = strings.TrimSpace(k)
				if k == "" {
					continue
				}
				desc := strings.HasPrefix(k, "-")
				code := strings.TrimPrefix(k, "-")
				if !sortable(typ, code) {
					if strict {
						return ww.Errorf(ww.KindInvalid, "not-supported", "cannot sort %s by %q", typ, code).At("_sort")
					}
					continue
				}
				ps.q.Sort = append(ps.q.Sort, ww.SortKey{Param: code, Descending: desc})
				used = append(used, k)
			}
		}
		if len(used) > 0 {
			ps.norm.Set("_sort", strings.Join(used, ","))
		}
	case "_include", "_revinclude":
		if mod != "" && mod != "iterate" && mod != "recurse" {
			return ww.Errorf(ww.KindInvalid, "not-supported", "%s: unknown modifier :%s (use :iterate)", name, mod).At(name)
		}
		for _, v := range vals {
			inc, err := parseInclude(typ, base == "_revinclude", mod != "", v)
			if err != nil {
				var unk *unknownInclude
				if errors.As(err, &unk) && !strict {
					continue // unknown: ignored and left out of self
				}
				if errors.As(err, &unk) {
					return unk.err
				}
				return err
			}
			ps.q.Includes = append(ps.q.Includes, inc)
			ps.norm.Add(name, v)
		}
	case "__explain":
		ps.q.Explain = vals[0] == "true"
		ps.explain = ps.q.Explain
	case "_contained", "_containedType":
		if strict && vals[0] != "false" {
			return ww.Errorf(ww.KindInvalid, "not-supported", "%s is not supported", name).At(name)
		}
	}
	return nil
}

func sortable(typ, code string) bool {
	switch code {
	case "_id", "_lastUpdated", "distance", "_distance":
		return true
	}
	_, ok := conformance.Params().Lookup(typ, code)
	return ok
}

// unknownInclude is an include naming a type or parameter this server does
// not have: ignored by default, its err with handling=strict.
type unknownInclude struct{ err error }

func (u *unknownInclude) Error() string { return u.err.Error() }

// parseInclude parses "Source:param[:Target]" or "*". A malformed value is
// an error; an unknown type or parameter an *unknownInclude.
func parseInclude(typ string, reverse, iterate bool, v string) (ww.Include, error) {
	name := "_include"
	if reverse {
		name = "_revinclude"
	}
	unknown := func(format string, args ...any) error {
		return &unknownInclude{ww.Errorf(ww.KindInvalid, "not-supported", format, args...).At(name)}
	}
	if v == "*" {
		if reverse {
			return ww.Include{}, unknown("_revinclude=* is not supported; name Type:parameter")
		}
		return ww.Include{Source: typ, Param: "*", Iterate: iterate}, nil
	}
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return ww.Include{}, ww.Errorf(ww.KindInvalid, "value", "%s=%s is not an include (use Type:parameter or Type:parameter:TargetType)", name, v).At(name)
	}
	inc := ww.Include{Source: parts[0], Param: parts[1], Reverse: reverse, Iterate: iterate}
	if len(parts) == 3 {
		inc.Target = parts[2]
		if !conformance.Supported(inc.Target) {
			return ww.Include{}, unknown("%s=%s: %s is not a supported type", name, v, inc.Target)
		}
	}
	if !conformance.Supported(inc.Source) {
		return ww.Include{}, unknown("%s=%s: %s is not a supported type", name, v, inc.Source)
	}
	if inc.Param != "*" {
		p, ok := conformance.Params().Lookup(inc.Source, inc.Param)
		if !ok || p.Type != conformance.TypeReference {
			return ww.Include{}, unknown("%s=%s: %s has no reference parameter %s", name, v, inc.Source, inc.Param)
		}
	}
	if !reverse && !iterate && inc.Source != typ {
		return ww.Include{}, unknown("_include=%s: the source type must be %s (or use _include:iterate)", v, typ)
	}
	return inc, nil
}

// search serves GET [base]/[type]?… and POST [base]/[type]/_search.
func (g *Gateway) search(r *request) *response {
	if err := checkType(r.typ); err != nil {
		return errResponse(err)
	}
	params := r.query
	if r.method == http.MethodPost && len(r.body) > 0 {
		form, err := url.ParseQuery(string(r.body))
		if err != nil {
			return errResponse(ww.Errorf(ww.KindInvalid, "invalid", "the _search body must be application/x-www-form-urlencoded parameters: %v", err))
		}
		params = url.Values{}
		for k, v := range r.query {
			params[k] = append(params[k], v...)
		}
		for k, v := range form {
			params[k] = append(params[k], v...)
		}
	}
	ps, err := parseSearch(r.typ, params, r.prefer.handling == "strict", r.base)
	if err != nil {
		return errResponse(err)
	}
	bound := "search|" + r.typ + "|" + ps.norm.Encode()
	if tok := params.Get("_page"); tok != "" {
		st, err := g.tokens.open(tok, bound)
		if err != nil {
			return errResponse(err)
		}
		ps.q.After = &st.Cursor
	}
	if ps.summary == "count" {
		ps.q.Count = 0
	}
	if ps.q.Count == 0 && ps.q.Total == ww.TotalNone {
		ps.q.Total = ww.TotalAccurate
	}
	res, err := g.store.Search(r.ctx, ps.q)
	if err != nil {
		return errResponse(err)
	}
	return &response{status: http.StatusOK, body: g.searchBundle(r, ps, res, params, bound)}
}

// searchBundle assembles the searchset around the stored bytes.
func (g *Gateway) searchBundle(r *request, ps *parsedSearch, res *ww.SearchResult, params url.Values, bound string) []byte {
	bb := newBundle("searchset", g.o.Clock)
	if res.Total >= 0 {
		bb.total(res.Total)
	}
	self := r.base + "/" + r.typ
	if enc := ps.norm.Encode(); enc != "" {
		self += "?" + enc
	}
	bb.link("self", self)
	if res.Next != nil && ps.q.Count > 0 {
		tok := g.tokens.seal(pageState{Query: queryHash(bound), Cursor: *res.Next})
		sep := "?"
		if strings.Contains(self, "?") {
			sep = "&"
		}
		bb.link("next", self+sep+"_page="+url.QueryEscape(tok))
	}
	sub := subsetter(params)
	for _, x := range res.Resources {
		body := g.annotate(r.ctx, x, x.JSON)
		if sub != nil {
			body = sub(body)
		}
		s := searchMode(bb.entry(r.base+"/"+x.Type+"/"+x.ID, body), "match")
		if d, ok := res.Facts[x.ID]["distance"]; ok {
			s.Set("extension", distanceExtension(d))
		}
	}
	for _, x := range res.Included {
		body := g.annotate(r.ctx, x, x.JSON)
		if sub != nil {
			body = sub(body)
		}
		searchMode(bb.entry(r.base+"/"+x.Type+"/"+x.ID, body), "include")
	}
	issues := append([]ww.Issue(nil), res.Issues...)
	if ps.explain {
		issues = append(issues, ww.Issue{Severity: ww.SeverityInformation, Code: "informational", Diagnostics: "plan: " + strings.Join(res.Plan, "; ")})
	}
	if len(issues) > 0 {
		searchMode(bb.entry("urn:uuid:"+uuidLike(), operationOutcome(issues)), "outcome")
	}
	return bb.bytes()
}

// distanceExtension is the core location-distance search extension.
func distanceExtension(km string) *fhirjson.Value {
	ext := fhirjson.NewObject()
	ext.Set("url", fhirjson.NewString("http://hl7.org/fhir/StructureDefinition/location-distance"))
	d := fhirjson.NewObject()
	d.Set("value", &fhirjson.Value{Kind: fhirjson.Number, Raw: []byte(km), Off: -1})
	d.Set("unit", fhirjson.NewString("km"))
	d.Set("system", fhirjson.NewString("http://unitsofmeasure.org"))
	d.Set("code", fhirjson.NewString("km"))
	ext.Set("valueDistance", d)
	return fhirjson.NewArray(ext)
}

// uuidLike returns a random (version 4) UUID for outcome entries.
func uuidLike() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("gateway: crypto/rand: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
