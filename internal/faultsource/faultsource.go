// Package faultsource is a small FHIR server for tests of the pull
// adapter: resources in memory with versions and lastUpdated, search with
// _lastUpdated=ge…, _sort=_lastUpdated, _count, _elements=id and offset
// paging, type history with _since (deletions included), and faults
// injected on demand: 429 with Retry-After, 500, a hanging response, a
// truncated body, invalid JSON, duplicate and out-of-order pages, a next
// link that loops back, and commits behind the cursor (a version whose
// lastUpdated lies in the past).
package faultsource

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is what the next request gets instead of a good answer.
type Fault int

// The faults.
const (
	None        Fault = iota
	TooMany           // 429 with Retry-After: 1
	ServerError       // 500
	Unavailable       // 503 with Retry-After: 1
	Hang              // no answer until the client gives up (or 10 s)
	Truncated         // a Content-Length longer than the body
	InvalidJSON       // 200 with a body that is not JSON
	NotFound          // 404 (a client error: not retried)
)

// Version is one stored version.
type Version struct {
	ID          string
	VersionID   int
	LastUpdated time.Time
	Deleted     bool
	JSON        map[string]any
}

// Server is the fake source; it is an http.Handler rooted at /fhir.
type Server struct {
	mu       sync.Mutex
	versions map[string][]*Version // type → every version, in commit order
	faults   []Fault
	// Now stamps new versions (default time.Now).
	Now func() time.Time
	// Delay is slept before each page is answered (for kill tests).
	Delay time.Duration
	// DuplicatePages serves every page twice (the next link of a page
	// first points at a copy of itself).
	DuplicatePages bool
	// Reverse serves the pages of a search in reverse order (out of
	// _lastUpdated order).
	Reverse bool
	// LoopAfter, when > 0, makes the next link of that page number (1-based,
	// in serving order) point back to the first page, once.
	LoopAfter int
	// Requests counts requests per path kind ("search", "history"); read
	// it with Count.
	Requests map[string]int
	// Pages counts good pages answered.
	Pages int
	// Queries records the query of every search, in order.
	Queries []url.Values
}

// New returns an empty source.
func New() *Server {
	return &Server{versions: map[string][]*Version{}, Now: time.Now, Requests: map[string]int{}}
}

// Fail queues faults for the next requests, in order.
func (s *Server) Fail(f ...Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, f...)
	s.mu.Unlock()
}

// Put stores a new version of res (a FHIR resource with resourceType and
// id) stamped now.
func (s *Server) Put(res map[string]any) *Version { return s.PutAt(res, time.Time{}) }

// PutAt stores a new version with the given lastUpdated (zero: now), e.g. a
// late commit behind the client's cursor.
func (s *Server) PutAt(res map[string]any, at time.Time) *Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	typ, id := res["resourceType"].(string), res["id"].(string)
	if at.IsZero() {
		at = s.Now()
	}
	v := &Version{ID: id, VersionID: s.lastVersion(typ, id) + 1, LastUpdated: at.UTC(), JSON: res}
	s.versions[typ] = append(s.versions[typ], v)
	return v
}

// Delete deletes a resource (a history entry with DELETE).
func (s *Server) Delete(typ, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versions[typ] = append(s.versions[typ], &Version{ID: id, VersionID: s.lastVersion(typ, id) + 1, LastUpdated: s.Now().UTC(), Deleted: true})
}

// Vanish removes a resource without a trace in history (what
// reconciliation must notice).
func (s *Server) Vanish(typ, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep []*Version
	for _, v := range s.versions[typ] {
		if v.ID != id {
			keep = append(keep, v)
		}
	}
	s.versions[typ] = keep
}

func (s *Server) lastVersion(typ, id string) int {
	n := 0
	for _, v := range s.versions[typ] {
		if v.ID == id && v.VersionID > n {
			n = v.VersionID
		}
	}
	return n
}

// Current returns the live current versions of a type, by id.
func (s *Server) Current(typ string) map[string]*Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current(typ)
}

func (s *Server) current(typ string) map[string]*Version {
	cur := map[string]*Version{}
	for _, v := range s.versions[typ] {
		if p, ok := cur[v.ID]; !ok || v.VersionID > p.VersionID {
			cur[v.ID] = v
		}
	}
	for id, v := range cur {
		if v.Deleted {
			delete(cur, id)
		}
	}
	return cur
}

func (s *Server) body(v *Version, typ string, idOnly bool) map[string]any {
	m := map[string]any{}
	if !idOnly {
		for k, x := range v.JSON {
			m[k] = x
		}
	}
	m["resourceType"], m["id"] = typ, v.ID
	m["meta"] = map[string]any{"versionId": strconv.Itoa(v.VersionID), "lastUpdated": v.LastUpdated.Format("2006-01-02T15:04:05.000Z")}
	return m
}

// ServeHTTP answers /fhir/{type}, /fhir/{type}/_history.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var f Fault
	if len(s.faults) > 0 {
		f, s.faults = s.faults[0], s.faults[1:]
	}
	delay := s.Delay
	kind := "search"
	if strings.HasSuffix(r.URL.Path, "/_history") {
		kind = "history"
	}
	s.Requests[kind]++
	s.mu.Unlock()
	switch f {
	case TooMany:
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"resourceType":"OperationOutcome"}`, http.StatusTooManyRequests)
		return
	case ServerError:
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	case Unavailable:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	case NotFound:
		http.Error(w, `{"resourceType":"OperationOutcome"}`, http.StatusNotFound)
		return
	case Hang:
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/fhir"), "/"), "/")
	var page map[string]any
	switch {
	case len(parts) == 1:
		page = s.search(r, parts[0])
	case len(parts) == 2 && parts[1] == "_history":
		page = s.history(r, parts[0])
	default:
		http.Error(w, "no such path", http.StatusNotFound)
		return
	}
	b, _ := json.Marshal(page)
	w.Header().Set("Content-Type", "application/fhir+json")
	switch f {
	case Truncated:
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b[:len(b)/2])
		return
	case InvalidJSON:
		w.Write(b[:len(b)/2])
		return
	}
	s.mu.Lock()
	s.Pages++
	s.mu.Unlock()
	w.Write(b)
}

func (s *Server) base(r *http.Request) string { return "http://" + r.Host + "/fhir" }

func (s *Server) search(r *http.Request, typ string) map[string]any {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Queries = append(s.Queries, q)
	var ge time.Time
	if v := q.Get("_lastUpdated"); strings.HasPrefix(v, "ge") {
		ge, _ = time.Parse(time.RFC3339Nano, v[2:])
	}
	var matches []*Version
	for _, v := range s.current(typ) {
		if !ge.IsZero() && v.LastUpdated.Before(ge) {
			continue
		}
		if st := q.Get("status"); st != "" && fmt.Sprint(v.JSON["status"]) != st {
			continue
		}
		matches = append(matches, v)
	}
	sort.Slice(matches, func(i, j int) bool {
		if !matches[i].LastUpdated.Equal(matches[j].LastUpdated) {
			return matches[i].LastUpdated.Before(matches[j].LastUpdated)
		}
		return matches[i].ID < matches[j].ID
	})
	count, _ := strconv.Atoi(q.Get("_count"))
	if count <= 0 {
		count = 50
	}
	pages := (len(matches) + count - 1) / count
	if pages == 0 {
		pages = 1
	}
	// Page numbers 1..pages; Reverse serves them last first.
	pageNo, _ := strconv.Atoi(q.Get("_page"))
	if pageNo == 0 {
		pageNo = 1
		if s.Reverse {
			pageNo = pages
		}
	}
	from := (pageNo - 1) * count
	to := min(from+count, len(matches))
	idOnly := q.Get("_elements") == "id"
	entries := []any{}
	for _, v := range matches[min(from, len(matches)):max(to, min(from, len(matches)))] {
		entries = append(entries, map[string]any{"fullUrl": s.base(r) + "/" + typ + "/" + v.ID, "resource": s.body(v, typ, idOnly), "search": map[string]any{"mode": "match"}})
	}
	bundle := map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(matches), "entry": entries}
	link := func(n int, dup bool) string {
		nq := url.Values{}
		for k, vs := range q {
			nq[k] = vs
		}
		nq.Set("_page", strconv.Itoa(n))
		nq.Del("_dup")
		if dup {
			nq.Set("_dup", "1")
		}
		return s.base(r) + "/" + typ + "?" + nq.Encode()
	}
	next := 0
	if s.Reverse {
		next = pageNo - 1
	} else if pageNo < pages {
		next = pageNo + 1
	}
	var links []any
	links = append(links, map[string]any{"relation": "self", "url": link(pageNo, q.Get("_dup") != "")})
	seq := pageNo
	if s.Reverse {
		seq = pages - pageNo + 1
	}
	switch {
	case s.DuplicatePages && q.Get("_dup") == "":
		links = append(links, map[string]any{"relation": "next", "url": link(pageNo, true)})
	case s.LoopAfter > 0 && seq == s.LoopAfter && pages > 1:
		s.LoopAfter = 0
		first := 1
		if s.Reverse {
			first = pages
		}
		links = append(links, map[string]any{"relation": "next", "url": link(first, false)})
	case next > 0:
		links = append(links, map[string]any{"relation": "next", "url": link(next, false)})
	}
	bundle["link"] = links
	return bundle
}

func (s *Server) history(r *http.Request, typ string) map[string]any {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	var since time.Time
	if v := q.Get("_since"); v != "" {
		since, _ = time.Parse(time.RFC3339Nano, v)
	}
	var vs []*Version
	for _, v := range s.versions[typ] {
		if since.IsZero() || !v.LastUpdated.Before(since) {
			vs = append(vs, v)
		}
	}
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].LastUpdated.After(vs[j].LastUpdated) })
	count, _ := strconv.Atoi(q.Get("_count"))
	if count <= 0 {
		count = 50
	}
	off, _ := strconv.Atoi(q.Get("_offset"))
	to := min(off+count, len(vs))
	entries := []any{}
	for _, v := range vs[min(off, len(vs)):to] {
		u := typ + "/" + v.ID + "/_history/" + strconv.Itoa(v.VersionID)
		e := map[string]any{"fullUrl": s.base(r) + "/" + typ + "/" + v.ID}
		if v.Deleted {
			e["request"] = map[string]any{"method": "DELETE", "url": u}
			e["response"] = map[string]any{"status": "204", "lastModified": v.LastUpdated.Format("2006-01-02T15:04:05.000Z")}
		} else {
			e["resource"] = s.body(v, typ, false)
			e["request"] = map[string]any{"method": "PUT", "url": u}
		}
		entries = append(entries, e)
	}
	bundle := map[string]any{"resourceType": "Bundle", "type": "history", "entry": entries}
	if to < len(vs) {
		nq := url.Values{}
		for k, x := range q {
			nq[k] = x
		}
		nq.Set("_offset", strconv.Itoa(to))
		bundle["link"] = []any{map[string]any{"relation": "next", "url": s.base(r) + "/" + typ + "/_history?" + nq.Encode()}}
	}
	return bundle
}

// Count returns the requests of a kind ("search", "history") so far.
func (s *Server) Count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Requests[kind]
}

// SearchQueries returns the queries of the searches so far.
func (s *Server) SearchQueries() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.Queries...)
}

// PagesServed returns the good pages answered so far.
func (s *Server) PagesServed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Pages
}
