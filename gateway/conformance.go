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

// conformanceRequest serves the read-only conformance types
// (StructureDefinition, OperationDefinition, SearchParameter, CodeSystem,
// ValueSet, NamingSystem, Measure) from conformance.ConformanceResources:
// read, vread and search; every write is 405.
func (g *Gateway) conformanceRequest(r *request, route string) *response {
	ro := func() *response {
		return errResponse(ww.Errorf(ww.KindNotAllowed, "not-supported",
			"%s resources are served read-only from the gateway's conformance registry; %s is not allowed", r.typ, r.method))
	}
	switch r.method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		if strings.HasSuffix(route, "/_search") {
			return g.conformanceSearch(r, true)
		}
		return ro()
	default:
		return ro()
	}
	switch {
	case strings.HasSuffix(route, "/_history/:vid"):
		return g.conformanceRead(r, r.vid)
	case strings.HasSuffix(route, "/_history"):
		return errResponse(ww.Errorf(ww.KindNotAllowed, "not-supported", "%s resources have one version each and no history; read them instead", r.typ))
	case strings.HasSuffix(route, "/:op") || strings.HasPrefix(r.id, "$"):
		return errResponse(ww.Errorf(ww.KindNotFound, "not-supported", "no operations are served on %s; see /fhir/metadata", r.typ))
	case strings.HasSuffix(route, "/:id"):
		return g.conformanceRead(r, "")
	}
	return g.conformanceSearch(r, false)
}

func (g *Gateway) conformanceRead(r *request, vid string) *response {
	c, ok := conformance.ConformanceResources().Get(r.typ, r.id)
	if !ok {
		return errResponse(ww.Errorf(ww.KindNotFound, "not-found", "%s/%s is not known; GET /fhir/%s lists them", r.typ, r.id, r.typ))
	}
	if vid != "" && vid != "1" {
		return errResponse(ww.Errorf(ww.KindNotFound, "not-found", "%s/%s has only version 1", r.typ, r.id))
	}
	if inm := r.header.Get("If-None-Match"); inm != "" {
		if v, ok := parseETag(inm); ok && v == 1 {
			return &response{status: http.StatusNotModified, etag: etag(1), lastModified: c.LastUpdated}
		}
	}
	body := c.JSON
	if sub := subsetter(r.query); sub != nil {
		body = sub(body)
	}
	return &response{status: http.StatusOK, body: body, etag: etag(1), lastModified: c.LastUpdated}
}

// conformanceSearch matches the registry's resources by the parameters of
// conformance.ConformanceSearchParams, in memory (a few hundred resources).
func (g *Gateway) conformanceSearch(r *request, form bool) *response {
	q := url.Values{}
	for k, v := range r.query {
		q[k] = append(q[k], v...)
	}
	if form && len(r.body) > 0 {
		fq, err := url.ParseQuery(string(r.body))
		if err != nil {
			return errResponse(ww.Errorf(ww.KindInvalid, "invalid", "the form body cannot be parsed: %v", err))
		}
		for k, v := range fq {
			q[k] = append(q[k], v...)
		}
	}
	count, offset := 50, 0
	type clause struct {
		p     conformance.ConfSearchParam
		exact bool
		vals  []string
	}
	var clauses []clause
	self := url.Values{}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vals := q[k]
		switch k {
		case "_count", "_offset":
			n, err := strconv.Atoi(vals[0])
			if err != nil || n < 0 {
				return errResponse(ww.Errorf(ww.KindInvalid, "value", "%s=%s must be a whole number of 0 or more", k, vals[0]).At(k))
			}
			if k == "_count" {
				count = min(n, 1000)
			} else {
				offset = n
			}
			continue
		case "_format", "_pretty", "_elements", "_summary":
			continue
		}
		name, mod, _ := strings.Cut(k, ":")
		p, ok := conformance.ConformanceSearchParam(r.typ, name)
		if !ok || (mod != "" && !(mod == "exact" && p.Type == conformance.TypeString)) {
			if r.prefer.handling == "strict" {
				return errResponse(ww.Errorf(ww.KindInvalid, "not-supported", "search parameter %q is not supported on %s; supported: %s", k, r.typ, strings.Join(conformance.ConformanceSearchCodes(r.typ), ", ")).At(k))
			}
			continue
		}
		for _, v := range vals {
			clauses = append(clauses, clause{p: p, exact: mod == "exact", vals: splitOr(v)})
			self.Add(k, v)
		}
	}
	var hits []*conformance.ConfResource
	for _, c := range conformance.ConformanceResources().List(r.typ) {
		ok := true
		for _, cl := range clauses {
			if !cl.p.Match(c.Tree, cl.vals, cl.exact) {
				ok = false
				break
			}
		}
		if ok {
			hits = append(hits, c)
		}
	}
	bb := newBundle("searchset", g.o.Clock)
	bb.total(len(hits))
	selfURL := r.base + "/" + r.typ
	if s := self.Encode(); s != "" {
		selfURL += "?" + s
	}
	page := func(off int) string {
		u := url.Values{}
		for k, v := range self {
			u[k] = v
		}
		u.Set("_count", strconv.Itoa(count))
		u.Set("_offset", strconv.Itoa(off))
		return r.base + "/" + r.typ + "?" + u.Encode()
	}
	if offset > 0 {
		bb.link("self", page(offset))
	} else {
		bb.link("self", selfURL)
	}
	end := min(offset+count, len(hits))
	if end < len(hits) {
		bb.link("next", page(end))
	}
	if offset > 0 {
		bb.link("previous", page(max(offset-count, 0)))
	}
	sub := subsetter(r.query)
	for i := offset; i < end; i++ {
		body := hits[i].JSON
		if sub != nil {
			body = sub(body)
		}
		e := bb.entry(r.base+"/"+r.typ+"/"+hits[i].ID, body)
		searchMode(e, "match")
	}
	return &response{status: http.StatusOK, body: bb.bytes()}
}
