package gateway

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
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
}

// parseSearch parses search parameters. Unknown or unsupported parameters
// are ignored and left out of the self link, unless Prefer: handling=strict,
// which makes them a 400 naming the parameter.
func parseSearch(typ string, params url.Values, strict bool) (*parsedSearch, error) {
	ps := &parsedSearch{q: &ww.Query{Type: typ, Count: defaultCount}, norm: url.Values{}}
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		vals := params[name]
		switch name {
		case "_count":
			n, err := strconv.Atoi(vals[0])
			if err != nil || n < 0 {
				return nil, ww.Errorf(ww.KindInvalid, "value", "_count=%s is not a non-negative number", vals[0]).At("_count")
			}
			if n > maxCount {
				n = maxCount
			}
			ps.q.Count = n
			ps.norm.Set("_count", strconv.Itoa(n))
			continue
		case "_total":
			switch vals[0] {
			case "none":
				ps.q.Total = ww.TotalNone
			case "estimate":
				ps.q.Total = ww.TotalEstimate
			case "accurate":
				ps.q.Total = ww.TotalAccurate
			default:
				return nil, ww.Errorf(ww.KindInvalid, "value", "_total=%s: use none, estimate or accurate", vals[0]).At("_total")
			}
			ps.norm.Set("_total", vals[0])
			continue
		case "_summary":
			switch vals[0] {
			case "count":
				ps.q.Total = ww.TotalAccurate
			case "true", "false", "data", "text":
			default:
				return nil, ww.Errorf(ww.KindInvalid, "value", "_summary=%s: use true, false, text, data or count", vals[0]).At("_summary")
			}
			ps.summary = vals[0]
			ps.norm.Set("_summary", vals[0])
			continue
		case "_elements":
			ps.norm["_elements"] = vals
			continue
		case "__explain":
			ps.q.Explain = vals[0] == "true"
			continue
		case "_page", "_format", "_pretty":
			continue
		}
		param, mod, _ := cutModifier(name)
		if !supportedClause(typ, param, mod) {
			if strict {
				return nil, ww.Errorf(ww.KindInvalid, "not-supported", "search parameter %q is not supported for %s", name, typ).At(name)
			}
			continue
		}
		for _, v := range vals {
			if v == "" {
				continue
			}
			ps.q.Clauses = append(ps.q.Clauses, ww.Clause{Param: param, Modifier: mod, Values: splitOr(v)})
			ps.norm.Add(name, v)
		}
	}
	return ps, nil
}

// supportedClause reports whether the store can evaluate param:mod for typ.
func supportedClause(typ, param, mod string) bool {
	if mod != "" {
		return false
	}
	if param == "_id" {
		return true
	}
	p, ok := conformance.Params().Lookup(typ, param)
	return ok && p.Type == conformance.TypeToken && p.Layout == "lex"
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
	ps, err := parseSearch(r.typ, params, r.prefer.handling == "strict")
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
	res, err := g.store.Search(r.ctx, ps.q)
	if err != nil {
		return errResponse(err)
	}
	bb := newBundle("searchset", g.o.Clock)
	if res.Total >= 0 {
		bb.total(res.Total)
	}
	self := r.base + "/" + r.typ
	if enc := ps.norm.Encode(); enc != "" {
		self += "?" + enc
	}
	bb.link("self", self)
	if res.Next != nil && ps.summary != "count" {
		tok := g.tokens.seal(pageState{Query: queryHash(bound), Cursor: *res.Next})
		sep := "?"
		if strings.Contains(self, "?") {
			sep = "&"
		}
		bb.link("next", self+sep+"_page="+url.QueryEscape(tok))
	}
	sub := subsetter(params)
	if ps.summary != "count" {
		for _, res := range res.Resources {
			body := res.JSON
			if sub != nil {
				body = sub(body)
			}
			searchMode(bb.entry(r.base+"/"+res.Type+"/"+res.ID, body), "match")
		}
	}
	return &response{status: http.StatusOK, body: bb.bytes()}
}
