package gateway

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// maxBundleEntries bounds a batch or transaction.
const maxBundleEntries = 10000

// txEntry is one entry of a batch or transaction request.
type txEntry struct {
	index   int
	fullURL string
	req     *request
	order   int
	target  string // "Type/id" once known
	plan    *plan
	resp    *response
	// The entry as sent, restored on every attempt (a retried transaction
	// must not see the ids a failed attempt substituted).
	origResource []byte
	origINE      string
	origQuery    string
	// err is what made the entry itself unusable (no request, a bad url, an
	// unsupported method): it fails a transaction, and only this entry of a
	// batch.
	err error
}

// bundle serves POST [base] with a batch or transaction Bundle.
func (g *Gateway) bundle(r *request) *response {
	tree, err := parseJSON(r.body, g.o.Limits)
	if err != nil {
		return errResponse(err)
	}
	if rt := tree.GetStr("resourceType"); rt != "Bundle" {
		return errResponse(ww.Errorf(ww.KindInvalid, "invalid", "POST to the base URL takes a Bundle of type batch or transaction, not %q", rt).At("resourceType"))
	}
	typ := tree.GetStr("type")
	if typ != "batch" && typ != "transaction" {
		return errResponse(ww.Errorf(ww.KindInvalid, "value", "Bundle.type %q cannot be processed; use batch or transaction", typ).At("Bundle.type"))
	}
	entries, err := g.parseEntries(r, tree)
	if err != nil {
		return errResponse(err)
	}
	for _, e := range entries {
		if e.err == nil {
			if err := g.authorize(e.req, ""); err != nil {
				e.err = entryErr(e, err)
			}
		}
	}
	if typ == "batch" {
		return g.batch(r, entries)
	}
	return g.transaction(r, entries)
}

// parseEntries turns Bundle.entry into requests.
func (g *Gateway) parseEntries(r *request, tree *fhirjson.Value) ([]*txEntry, error) {
	arr := tree.Get("entry")
	if arr == nil {
		return nil, nil
	}
	if arr.Kind != fhirjson.Array {
		return nil, ww.Errorf(ww.KindInvalid, "structure", "Bundle.entry must be an array").At("Bundle.entry")
	}
	if len(arr.Items) > maxBundleEntries {
		return nil, ww.Errorf(ww.KindTooLarge, "too-costly", "the Bundle has %d entries; at most %d are processed in one request", len(arr.Items), maxBundleEntries)
	}
	out := make([]*txEntry, 0, len(arr.Items))
	fullURLs := map[string]int{}
	for i, e := range arr.Items {
		ent := g.parseEntry(r, i, e)
		if ent.fullURL != "" {
			if j, dup := fullURLs[ent.fullURL]; dup {
				at := fmt.Sprintf("Bundle.entry[%d]", i)
				return nil, ww.Errorf(ww.KindInvalid, "invalid", "Bundle.entry[%d] and Bundle.entry[%d] share fullUrl %q (bdl-7)", j, i, ent.fullURL).At(at + ".fullUrl")
			}
			fullURLs[ent.fullURL] = i
		}
		out = append(out, ent)
	}
	return out, nil
}

// parseEntry turns one Bundle.entry into a request; what makes the entry
// unusable is kept in txEntry.err.
func (g *Gateway) parseEntry(r *request, i int, e *fhirjson.Value) *txEntry {
	at := fmt.Sprintf("Bundle.entry[%d]", i)
	ent := &txEntry{index: i, req: &request{ctx: r.ctx, base: r.base, prefer: r.prefer, inBundle: true, header: http.Header{}}}
	fail := func(err error) *txEntry {
		ent.err = err
		return ent
	}
	if e.Kind != fhirjson.Object {
		return fail(ww.Errorf(ww.KindInvalid, "structure", "%s must be an object", at).At(at))
	}
	ent.fullURL = e.GetStr("fullUrl")
	rq := e.Get("request")
	if rq == nil {
		return fail(ww.Errorf(ww.KindInvalid, "required", "%s has no request (bdl-3: batch and transaction entries need request.method and request.url)", at).At(at + ".request"))
	}
	method := strings.ToUpper(rq.GetStr("method"))
	rawURL := rq.GetStr("url")
	ent.req.method = method
	if method == "" || rawURL == "" {
		return fail(ww.Errorf(ww.KindInvalid, "required", "%s.request needs method and url", at).At(at + ".request"))
	}
	sub, err := g.entryRequest(r, method, rawURL, at)
	if err != nil {
		return fail(err)
	}
	sub.header = http.Header{}
	for _, h := range [][2]string{{"ifMatch", "If-Match"}, {"ifNoneExist", "If-None-Exist"}, {"ifNoneMatch", "If-None-Match"}, {"ifModifiedSince", "If-Modified-Since"}} {
		if v := rq.GetStr(h[0]); v != "" {
			sub.header.Set(h[1], v)
		}
	}
	ent.req, ent.origINE, ent.origQuery = sub, sub.header.Get("If-None-Exist"), sub.rawQuery
	switch method {
	case http.MethodPost, http.MethodPut:
		res := e.Get("resource")
		if res == nil || res.Kind != fhirjson.Object {
			return fail(ww.Errorf(ww.KindInvalid, "required", "%s is a %s without a resource", at, method).At(at + ".resource"))
		}
		sub.tree = res
		ent.origResource = res.Bytes()
		ent.order = 1
		if method == http.MethodPut {
			ent.order = 2
		}
	case http.MethodDelete:
		ent.order = 0
	case http.MethodGet, http.MethodHead:
		ent.order = 3
	case http.MethodPatch:
		return fail(ww.Errorf(ww.KindNotAllowed, "not-supported", "%s: PATCH is not supported", at).At(at + ".request.method"))
	default:
		return fail(ww.Errorf(ww.KindInvalid, "value", "%s: unknown method %q", at, method).At(at + ".request.method"))
	}
	return ent
}

// entryRequest parses an entry's request.url (relative, or absolute under
// this server's base).
func (g *Gateway) entryRequest(r *request, method, raw, at string) (*request, error) {
	rel := strings.TrimPrefix(raw, r.base+"/")
	if p, _, _ := strings.Cut(rel, "?"); strings.Contains(p, "://") {
		return nil, ww.Errorf(ww.KindInvalid, "value", "%s.request.url %q is not on this server", at, raw).At(at + ".request.url")
	}
	rel = strings.TrimPrefix(rel, "/")
	path, query, _ := strings.Cut(rel, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, ww.Errorf(ww.KindInvalid, "value", "%s.request.url has a malformed query: %v", at, err).At(at + ".request.url")
	}
	sub := &request{ctx: r.ctx, method: method, query: q, rawQuery: query, base: r.base, prefer: r.prefer, inBundle: true}
	parts := strings.Split(path, "/")
	switch {
	case len(parts) >= 1 && parts[0] != "":
		sub.typ = parts[0]
		if len(parts) >= 2 {
			sub.id = parts[1]
		}
		if len(parts) == 4 && parts[2] == "_history" {
			sub.vid = parts[3]
		} else if len(parts) == 3 {
			sub.op = parts[2]
		} else if len(parts) > 2 {
			return nil, ww.Errorf(ww.KindInvalid, "value", "%s.request.url %q is not a FHIR request URL", at, raw).At(at + ".request.url")
		}
	default:
		return nil, ww.Errorf(ww.KindInvalid, "value", "%s.request.url %q names no resource type", at, raw).At(at + ".request.url")
	}
	return sub, nil
}

// batch runs each entry on its own; each gets its own response status.
func (g *Gateway) batch(r *request, entries []*txEntry) *response {
	bb := newBundle("batch-response", g.o.Clock)
	for _, e := range entries {
		var resp *response
		if e.err != nil {
			resp = errResponse(e.err)
		} else {
			resp = g.dispatch(e.req)
		}
		addResponseEntry(bb, e, resp)
	}
	return &response{status: http.StatusOK, body: bb.bytes()}
}

// dispatch runs one entry as the matching single interaction.
func (g *Gateway) dispatch(sub *request) *response {
	switch sub.method {
	case http.MethodGet, http.MethodHead:
		switch {
		case sub.typ == "metadata":
			return g.metadata(sub)
		case sub.vid != "":
			return g.vread(sub)
		case sub.op == "_history" || sub.id == "_history":
			if sub.id == "_history" {
				sub.id = ""
			}
			return g.history(sub)
		case sub.op != "":
			return g.instanceOperation(sub)
		case sub.id != "":
			return g.instanceLevel(sub)
		default:
			return g.typeLevel(sub)
		}
	case http.MethodPost:
		if sub.id != "" {
			return errResponse(ww.Errorf(ww.KindInvalid, "value", "POST entries take a type URL (%s), not an instance", sub.typ))
		}
		return g.create(sub)
	case http.MethodPut:
		if sub.id == "" {
			return g.conditionalUpdate(sub)
		}
		return g.update(sub)
	case http.MethodDelete:
		if sub.id == "" {
			return g.conditionalDelete(sub)
		}
		return g.delete(sub)
	}
	return errResponse(ww.Errorf(ww.KindNotAllowed, "not-supported", "method %s is not supported in a Bundle", sub.method))
}

func addResponseEntry(bb *bundleBuilder, e *txEntry, resp *response) {
	var body []byte
	if resp.err == nil && len(resp.body) > 0 && (e.req.method == http.MethodGet || e.req.prefer.ret == "representation") {
		body = resp.body
	}
	full := ""
	if resp.resource != nil && resp.err == nil {
		full = e.req.base + "/" + resp.resource.Type + "/" + resp.resource.ID
	}
	ent := bb.entry(full, body)
	var outcome []byte
	if resp.err != nil {
		outcome = resp.body
	} else if e.req.prefer.ret == "OperationOutcome" && len(resp.body) > 0 {
		outcome = resp.body
	}
	ent.Set("response", entryResponse(resp.status, resp.location, resp.etag, resp.lastModified, outcome))
}

// transaction runs every entry atomically: all writes land in one commit,
// or the whole Bundle fails with the first error.
func (g *Gateway) transaction(r *request, entries []*txEntry) *response {
	for _, e := range entries {
		if e.err != nil {
			return errResponse(e.err)
		}
	}
	order := append([]*txEntry(nil), entries...)
	sort.SliceStable(order, func(i, j int) bool { return order[i].order < order[j].order })
	for attempt := 0; ; attempt++ {
		resp, retry := g.tryTransaction(r, entries, order)
		if !retry || attempt >= maxResolveAttempts {
			return resp
		}
	}
}

func entryErr(e *txEntry, err error) error {
	var we *ww.Error
	if !asErr(err, &we) {
		return err
	}
	out := &ww.Error{Op: we.Op, Kind: we.Kind, Err: we.Err}
	prefix := fmt.Sprintf("Bundle.entry[%d] (%s %s)", e.index, e.req.method, entryURL(e.req))
	for _, is := range we.Issues {
		is.Diagnostics = prefix + ": " + is.Diagnostics
		var ex []string
		for _, x := range is.Expression {
			if i := strings.IndexByte(x, '.'); i > 0 && x[:i] == e.req.typ {
				x = fmt.Sprintf("Bundle.entry[%d].resource%s", e.index, x[i:])
			}
			ex = append(ex, x)
		}
		if len(ex) == 0 {
			ex = []string{fmt.Sprintf("Bundle.entry[%d]", e.index)}
		}
		is.Expression = ex
		out.Issues = append(out.Issues, is)
	}
	return out
}

func entryURL(r *request) string {
	u := r.typ
	if r.id != "" {
		u += "/" + r.id
	}
	if r.rawQuery != "" {
		u += "?" + r.rawQuery
	}
	return u
}

// tryTransaction resolves and commits once; retry reports a guard conflict
// worth resolving again.
func (g *Gateway) tryTransaction(r *request, entries, order []*txEntry) (*response, bool) {
	var releases []func()
	defer func() {
		for _, f := range releases {
			f()
		}
	}()
	fail := func(e *txEntry, err error) (*response, bool) { return errResponse(entryErr(e, err)), false }
	// 1. Identities: every write entry gets its target, and placeholders
	// map fullUrl → Type/id.
	placeholders := map[string]string{}
	for _, e := range order {
		e.plan, e.target, e.resp = nil, "", nil
		sub := e.req
		sub.rawQuery = e.origQuery
		if e.origINE != "" {
			sub.header.Set("If-None-Exist", e.origINE)
		}
		if e.origResource != nil {
			tree, err := fhirjson.Parse(e.origResource, g.o.Limits)
			if err != nil {
				return fail(e, err)
			}
			sub.tree = tree
		}
		if sub.method == http.MethodGet || sub.method == http.MethodHead {
			continue
		}
		if err := checkType(sub.typ); err != nil {
			return fail(e, err)
		}
		switch sub.method {
		case http.MethodPost:
			if sub.tree.GetStr("resourceType") != sub.typ {
				return fail(e, ww.Errorf(ww.KindInvalid, "invalid", "the resource is a %q, the url names %q", sub.tree.GetStr("resourceType"), sub.typ).At(sub.typ+".resourceType"))
			}
			e.target = sub.typ + "/" + ww.NewID()
		case http.MethodPut:
			if sub.id != "" {
				if !ww.ValidID(sub.id) {
					return fail(e, ww.Errorf(ww.KindInvalid, "value", "%q is not a valid id", sub.id))
				}
				e.target = sub.typ + "/" + sub.id
			}
		case http.MethodDelete:
			if sub.id != "" {
				e.target = sub.typ + "/" + sub.id
			}
		}
		if e.fullURL != "" && e.target != "" {
			placeholders[e.fullURL] = e.target
		}
	}
	// 2. Conditional entries resolve against the store (placeholders in
	// their criteria substituted first).
	for _, e := range order {
		sub := e.req
		crit := ""
		switch {
		case sub.method == http.MethodPost && sub.header.Get("If-None-Exist") != "":
			crit = substitute(sub.header.Get("If-None-Exist"), placeholders)
			sub.header.Set("If-None-Exist", crit)
		case (sub.method == http.MethodPut || sub.method == http.MethodDelete) && sub.id == "":
			crit = substitute(sub.rawQuery, placeholders)
			if crit == "" {
				return fail(e, ww.Errorf(ww.KindInvalid, "required", "a %s without an id needs search criteria", sub.method))
			}
			sub.rawQuery = crit
		default:
			continue
		}
		clauses, err := parseCriteria(sub.typ, crit)
		if err != nil {
			return fail(e, err)
		}
		unlock, err := g.lockCriteria(sub, sub.typ, crit)
		if err != nil {
			return fail(e, err)
		}
		if unlock != nil {
			releases = append(releases, unlock)
		}
		ids, existing, err := g.resolve(sub, sub.typ, clauses)
		if err != nil {
			return fail(e, err)
		}
		if len(ids) > 1 {
			return fail(e, ww.Errorf(ww.KindPrecondition, "multiple-matches", "the criteria %q match %d resources; they must match at most one", crit, len(ids)))
		}
		p := &plan{guards: []ww.Guard{{Type: sub.typ, Criteria: clauses, Expect: ids}}}
		switch {
		case sub.method == http.MethodPost && len(ids) == 1:
			p.existing = existing
			e.target = sub.typ + "/" + ids[0]
		case sub.method == http.MethodDelete && len(ids) == 0:
			p.noop = true
		case len(ids) == 1:
			e.target = sub.typ + "/" + ids[0]
		case sub.method == http.MethodPut:
			id := sub.tree.GetStr("id")
			if id == "" {
				id = ww.NewID()
			}
			e.target = sub.typ + "/" + id
		}
		e.plan = p
		if e.fullURL != "" && e.target != "" {
			placeholders[e.fullURL] = e.target
		}
	}
	// 3. Rewrite references, resolve conditional references, validate and
	// build the writes.
	seen := map[string]int{}
	var writes []ww.Write
	var guards []ww.Guard
	var owners []*txEntry
	for _, e := range order {
		sub := e.req
		if sub.method == http.MethodGet || sub.method == http.MethodHead {
			continue
		}
		if e.target != "" && (e.plan == nil || e.plan.existing == nil) {
			if j, dup := seen[e.target]; dup {
				return fail(e, ww.Errorf(ww.KindInvalid, "invalid", "%s is the target of Bundle.entry[%d] too; a resource may appear only once in a transaction", e.target, j))
			}
			seen[e.target] = e.index
		}
		if e.plan != nil {
			guards = append(guards, e.plan.guards...)
			if e.plan.existing != nil || e.plan.noop {
				continue
			}
		}
		typ, id, _ := strings.Cut(e.target, "/")
		w := ww.Write{Type: typ, ID: id, Provenance: provenance(sub)}
		if im := sub.header.Get("If-Match"); im != "" {
			v, ok := parseETag(im)
			if !ok {
				return fail(e, ww.Errorf(ww.KindInvalid, "value", "ifMatch %q is not a version ETag", im))
			}
			w.IfMatch = v
		}
		switch sub.method {
		case http.MethodDelete:
			w.Op = ww.OpDelete
		default:
			res := sub.tree
			if n, err := rewriteRefs(res, placeholders, func(ref string) (string, error) {
				return g.resolveConditionalRef(sub, ref, &guards)
			}); err != nil {
				return fail(e, err)
			} else if n < 0 {
				return fail(e, ww.Errorf(ww.KindInvalid, "invalid", "reference rewrite failed"))
			}
			if sub.method == http.MethodPost {
				res.Delete("id")
				w.Op = ww.OpCreate
			} else {
				bodyID := res.GetStr("id")
				if sub.id != "" && bodyID != sub.id {
					if bodyID == "" {
						return fail(e, ww.Errorf(ww.KindInvalid, "required", "the resource has no id; it must be %q as in the url", sub.id).At(sub.typ+".id"))
					}
					return fail(e, ww.Errorf(ww.KindInvalid, "invalid", "the resource id %q does not match the id %q in the url", bodyID, sub.id).At(sub.typ+".id"))
				}
				res.Set("id", fhirjson.NewString(id))
				w.Op = ww.OpUpdate
				if e.plan != nil && len(e.plan.guards) > 0 && len(e.plan.guards[0].Expect) == 0 {
					w.IfMissing = true
				}
			}
			if err := g.validateEntry(sub, res); err != nil {
				return fail(e, err)
			}
			w.JSON, w.Tree = res.Bytes(), res
		}
		writes = append(writes, w)
		owners = append(owners, e)
	}
	results, err := g.store.Commit(r.ctx, &ww.Commit{Writes: writes, Guards: guards})
	if err != nil {
		if ww.IsKind(err, ww.KindConflict) && len(guards) > 0 {
			return errResponse(err), true
		}
		if len(owners) > 0 {
			return errResponse(commitErr(err, owners, writes)), false
		}
		return errResponse(err), false
	}
	for i, e := range owners {
		e.resp = g.resultResponse(e.req, results[i])
	}
	for _, e := range order {
		if e.resp != nil {
			continue
		}
		switch {
		case e.plan != nil && e.plan.existing != nil:
			e.resp = g.writeResponse(e.req, http.StatusOK, e.plan.existing, false)
		case e.plan != nil && e.plan.noop:
			e.resp = g.deleteResponse(e.req, nil)
		default: // GET and HEAD run after the writes
			e.resp = g.dispatch(e.req)
		}
	}
	bb := newBundle("transaction-response", g.o.Clock)
	for _, e := range entries {
		addResponseEntry(bb, e, e.resp)
	}
	return &response{status: http.StatusOK, body: bb.bytes()}, false
}

// commitErr names the entry a store error is about when it says which
// resource failed.
func commitErr(err error, owners []*txEntry, writes []ww.Write) error {
	msg := err.Error()
	for i, w := range writes {
		if strings.Contains(msg, w.Type+"/"+w.ID) {
			return entryErr(owners[i], err)
		}
	}
	return err
}

func (g *Gateway) validateEntry(sub *request, res *fhirjson.Value) error {
	r := *sub
	r.tree = res
	_, err := g.parseResource(&r)
	return err
}

// substitute replaces placeholder fullUrls inside conditional criteria.
func substitute(s string, placeholders map[string]string) string {
	for k, v := range placeholders {
		if strings.Contains(s, k) {
			_, id, _ := strings.Cut(v, "/")
			s = strings.ReplaceAll(s, k, id)
		}
	}
	return s
}

// isPlaceholder reports whether a reference is a Bundle-local identifier
// (urn:uuid: or urn:oid:) rather than a resource URL.
func isPlaceholder(ref string) bool {
	return strings.HasPrefix(ref, "urn:uuid:") || strings.HasPrefix(ref, "urn:oid:")
}

// substituteAll replaces every placeholder fullUrl inside s (the narrative's
// links) with its Type/id.
func substituteAll(s string, placeholders map[string]string) string {
	for k, v := range placeholders {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// rewriteRefs replaces every string equal to a placeholder fullUrl (in
// references and uri fields alike) with its Type/id, and resolves
// conditional references ("Patient?identifier=…") through resolveCond.
func rewriteRefs(v *fhirjson.Value, placeholders map[string]string, resolveCond func(string) (string, error)) (int, error) {
	n := 0
	var err error
	var walk func(v *fhirjson.Value, key string)
	walk = func(v *fhirjson.Value, key string) {
		if err != nil {
			return
		}
		switch v.Kind {
		case fhirjson.String:
			s, _ := v.Str()
			if to, ok := placeholders[s]; ok {
				*v = *fhirjson.NewString(to)
				n++
				return
			}
			if key == "reference" && isPlaceholder(s) {
				err = ww.Errorf(ww.KindInvalid, "not-found", "reference %q names no fullUrl of this Bundle; a urn:uuid or urn:oid reference must point at one of its entries", s)
				return
			}
			if key == "div" && strings.Contains(s, "urn:") {
				if out := substituteAll(s, placeholders); out != s {
					*v = *fhirjson.NewString(out)
					n++
				}
				return
			}
			if typ, _, cond := strings.Cut(s, "?"); key == "reference" && cond && typ != "" && !strings.ContainsAny(typ, "/:") {
				var to string
				if to, err = resolveCond(s); err == nil {
					*v = *fhirjson.NewString(to)
					n++
				}
			}
		case fhirjson.Object:
			for _, m := range v.Members {
				walk(m.Value, m.Key)
			}
		case fhirjson.Array:
			for _, it := range v.Items {
				walk(it, key)
			}
		}
	}
	walk(v, "")
	return n, err
}

// resolveConditionalRef resolves "Type?criteria" to exactly one resource;
// anything else fails the transaction (412).
func (g *Gateway) resolveConditionalRef(sub *request, ref string, guards *[]ww.Guard) (string, error) {
	typ, crit, _ := strings.Cut(ref, "?")
	if err := checkType(typ); err != nil {
		return "", ww.Errorf(ww.KindInvalid, "invalid", "conditional reference %q: %s", ref, err.Error())
	}
	clauses, err := parseCriteria(typ, crit)
	if err != nil {
		return "", err
	}
	ids, _, err := g.resolve(sub, typ, clauses)
	if err != nil {
		return "", err
	}
	switch len(ids) {
	case 1:
		*guards = append(*guards, ww.Guard{Type: typ, Criteria: clauses, Expect: ids})
		return typ + "/" + ids[0], nil
	case 0:
		return "", ww.Errorf(ww.KindPrecondition, "not-found", "conditional reference %q matches no resource; it must match exactly one", ref)
	}
	return "", ww.Errorf(ww.KindPrecondition, "multiple-matches", "conditional reference %q matches %d resources; it must match exactly one", ref, len(ids))
}
