package gateway

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/fhirtime"
)

// history serves instance, type and system history: a history Bundle,
// newest first, with deletions as entries with request.method DELETE and no
// resource. Parameters: _count, _since (instant), _page.
func (g *Gateway) history(r *request) *response {
	if r.typ != "" {
		if err := checkType(r.typ); err != nil {
			return errResponse(err)
		}
	}
	q := &ww.HistoryQuery{Type: r.typ, ID: r.id}
	norm := url.Values{}
	countOnly := false // _count=0: the Bundle without entries
	for name, vals := range r.query {
		switch name {
		case "_count":
			n, err := strconv.Atoi(vals[0])
			if err != nil || n < 0 {
				return errResponse(ww.Errorf(ww.KindInvalid, "value", "_count=%s is not a non-negative number", vals[0]).At("_count"))
			}
			q.Count, countOnly = n, n == 0
			if countOnly {
				q.Count = 1
			}
			norm.Set("_count", vals[0])
		case "_since":
			v, err := fhirtime.Parse(vals[0], fhirtime.Search, nil)
			if err != nil {
				return errResponse(ww.Errorf(ww.KindInvalid, "value", "_since: %v", err).At("_since"))
			}
			q.Since = v.T
			norm.Set("_since", vals[0])
		case "_at":
			return errResponse(ww.Errorf(ww.KindInvalid, "not-supported", "_at is not supported in history; use _since").At("_at"))
		case "_page", "_format", "_pretty":
		default:
			if r.prefer.handling == "strict" {
				return errResponse(ww.Errorf(ww.KindInvalid, "not-supported", "history does not take the parameter %q", name))
			}
		}
	}
	if tok := r.query.Get("_page"); tok != "" {
		st, err := g.tokens.open(tok, "history|"+r.typ+"|"+r.id+"|"+norm.Encode())
		if err != nil {
			return errResponse(err)
		}
		q.After = &st.Cursor
	}
	page, err := g.store.History(r.ctx, q)
	if err != nil {
		return errResponse(err)
	}
	if countOnly {
		page.Versions, page.Next = nil, nil
	}
	path := r.base
	if r.typ != "" {
		path += "/" + r.typ
		if r.id != "" {
			path += "/" + r.id
		}
	}
	path += "/_history"
	bb := newBundle("history", g.o.Clock)
	if page.Total >= 0 {
		bb.total(page.Total)
	}
	self := path
	if enc := norm.Encode(); enc != "" {
		self += "?" + enc
	}
	bb.link("self", self)
	if page.Next != nil {
		tok := g.tokens.seal(pageState{Query: queryHash("history|" + r.typ + "|" + r.id + "|" + norm.Encode()), Cursor: *page.Next})
		sep := "?"
		if strings.Contains(self, "?") {
			sep = "&"
		}
		bb.link("next", self+sep+"_page="+tok)
	}
	for _, v := range page.Versions {
		full := r.base + "/" + v.Type + "/" + v.ID
		var e *fhirjson.Value
		req := fhirjson.NewObject()
		if v.Deleted {
			e = bb.entry(full, nil)
			req.Set("method", fhirjson.NewString("DELETE"))
			req.Set("url", fhirjson.NewString(v.Type+"/"+v.ID))
			e.Set("request", req)
			e.Set("response", entryResponse(http.StatusNoContent, "", etag(v.VersionID), v.LastUpdated, nil))
			continue
		}
		e = bb.entry(full, v.JSON)
		method, status := "PUT", http.StatusOK
		if v.VersionID == 1 {
			method, status = "POST", http.StatusCreated
		}
		req.Set("method", fhirjson.NewString(method))
		if method == "POST" {
			req.Set("url", fhirjson.NewString(v.Type))
		} else {
			req.Set("url", fhirjson.NewString(v.Type+"/"+v.ID))
		}
		e.Set("request", req)
		e.Set("response", entryResponse(status, full+"/_history/"+strconv.FormatInt(v.VersionID, 10), etag(v.VersionID), v.LastUpdated, nil))
	}
	return &response{status: http.StatusOK, body: bb.bytes()}
}
