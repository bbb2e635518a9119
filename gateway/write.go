package gateway

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// plan is a write interaction resolved against the store: the write (nil
// when nothing is written), the guards that keep the resolution true until
// the commit, and what to answer.
type plan struct {
	write    *ww.Write
	guards   []ww.Guard
	existing *ww.Resource // a conditional create matched this one
	unlock   func()
	// noop: a conditional delete that matched nothing.
	noop bool
}

func (p *plan) release() {
	if p != nil && p.unlock != nil {
		p.unlock()
		p.unlock = nil
	}
}

// condLocker is implemented by stores that need a lock to make conditional
// creates exclusive (Redis Cluster).
type condLocker interface {
	CondLock(ctx context.Context, typ, criteria string) (func(), error)
}

// lockCriteria takes the conditional-write lock when the store needs one.
func (g *Gateway) lockCriteria(r *request, typ, criteria string) (func(), error) {
	if l, ok := g.store.(condLocker); ok {
		return l.CondLock(r.ctx, typ, criteria)
	}
	return nil, nil
}

// maxResolveAttempts bounds how often a conditional write re-resolves when
// its guard fails because of a concurrent write.
const maxResolveAttempts = 10

// create serves POST [base]/[type], with If-None-Exist for conditional
// create: no match → 201; one match → 200 with the existing resource,
// nothing written; several → 412.
func (g *Gateway) create(r *request) *response {
	if err := checkType(r.typ); err != nil {
		return errResponse(err)
	}
	tree, err := g.parseResource(r)
	if err != nil {
		return errResponse(err)
	}
	// The server assigns the id; a client id in the body is ignored.
	tree.Delete("id")
	return g.commitPlanned(r, func() (*plan, error) {
		return g.planCreate(r, tree, ww.NewID())
	})
}

// planCreate resolves a create with an optional If-None-Exist.
func (g *Gateway) planCreate(r *request, tree *fhirjson.Value, id string) (*plan, error) {
	w := &ww.Write{Op: ww.OpCreate, Type: r.typ, ID: id, JSON: tree.Bytes(), Tree: tree, Provenance: provenance(r)}
	ine := r.header.Get("If-None-Exist")
	if ine == "" {
		return &plan{write: w}, nil
	}
	crit, err := parseCriteria(r.typ, ine)
	if err != nil {
		return nil, err
	}
	p := &plan{}
	if p.unlock, err = g.lockCriteria(r, r.typ, ine); err != nil {
		return nil, err
	}
	ids, res, err := g.resolve(r, r.typ, crit)
	if err != nil {
		p.release()
		return nil, err
	}
	switch len(ids) {
	case 0:
		p.write = w
		p.guards = []ww.Guard{{Type: r.typ, Criteria: crit}}
	case 1:
		p.existing = res
	default:
		p.release()
		return nil, ww.Errorf(ww.KindPrecondition, "multiple-matches", "If-None-Exist matches %d %s resources; it must match at most one", len(ids), r.typ).At("If-None-Exist")
	}
	return p, nil
}

// update serves PUT [base]/[type]/[id]: 200 when updated, 201 when
// created with the client's id; If-Match makes it version-aware (412).
func (g *Gateway) update(r *request) *response {
	if err := checkType(r.typ); err != nil {
		return errResponse(err)
	}
	if !ww.ValidID(r.id) {
		return errResponse(ww.Errorf(ww.KindInvalid, "value", "%q is not a valid resource id (1-64 of A-Z, a-z, 0-9, '-', '.')", r.id))
	}
	tree, err := g.parseResource(r)
	if err != nil {
		return errResponse(err)
	}
	return g.commitPlanned(r, func() (*plan, error) { return g.planUpdate(r, tree, r.id) })
}

func (g *Gateway) planUpdate(r *request, tree *fhirjson.Value, id string) (*plan, error) {
	bodyID := tree.GetStr("id")
	if bodyID == "" {
		return nil, ww.Errorf(ww.KindInvalid, "required", "the resource has no id; an update needs id %q in the body", id).At(r.typ + ".id")
	}
	if bodyID != id {
		return nil, ww.Errorf(ww.KindInvalid, "invalid", "the resource id %q does not match the id %q in the URL", bodyID, id).At(r.typ + ".id")
	}
	w := &ww.Write{Op: ww.OpUpdate, Type: r.typ, ID: id, JSON: tree.Bytes(), Tree: tree, Provenance: provenance(r)}
	if im := r.header.Get("If-Match"); im != "" {
		v, ok := parseETag(im)
		if !ok {
			return nil, ww.Errorf(ww.KindInvalid, "value", "If-Match %q is not a version ETag such as W/\"3\"", im).At("If-Match")
		}
		w.IfMatch = v
	}
	return &plan{write: w}, nil
}

// conditionalUpdate serves PUT [base]/[type]?criteria: no match → create
// (with the body's id if it has one), one → update it, several → 412.
func (g *Gateway) conditionalUpdate(r *request) *response {
	if err := checkType(r.typ); err != nil {
		return errResponse(err)
	}
	if r.rawQuery == "" {
		return errResponse(ww.Errorf(ww.KindNotAllowed, "not-supported", "PUT needs an id (PUT %s/[id]) or search criteria (PUT %s?identifier=…)", r.typ, r.typ))
	}
	tree, err := g.parseResource(r)
	if err != nil {
		return errResponse(err)
	}
	crit, err := parseCriteria(r.typ, r.rawQuery)
	if err != nil {
		return errResponse(err)
	}
	return g.commitPlanned(r, func() (*plan, error) { return g.planConditionalUpdate(r, tree, crit, r.rawQuery) })
}

func (g *Gateway) planConditionalUpdate(r *request, tree *fhirjson.Value, crit []ww.Clause, criteria string) (*plan, error) {
	p := &plan{}
	var err error
	if p.unlock, err = g.lockCriteria(r, r.typ, criteria); err != nil {
		return nil, err
	}
	ids, _, err := g.resolve(r, r.typ, crit)
	if err != nil {
		p.release()
		return nil, err
	}
	bodyID := tree.GetStr("id")
	var id string
	switch len(ids) {
	case 0:
		id = bodyID
		if id == "" {
			id = ww.NewID()
			tree.Set("id", fhirjson.NewString(id))
		}
	case 1:
		id = ids[0]
		if bodyID != "" && bodyID != id {
			p.release()
			return nil, ww.Errorf(ww.KindInvalid, "invalid", "the resource id %q differs from %s/%s, the one resource the criteria match", bodyID, r.typ, id).At(r.typ + ".id")
		}
		tree.Set("id", fhirjson.NewString(id))
	default:
		p.release()
		return nil, ww.Errorf(ww.KindPrecondition, "multiple-matches", "the criteria match %d %s resources; a conditional update must match at most one", len(ids), r.typ)
	}
	up, err := g.planUpdate(r, tree, id)
	if err != nil {
		p.release()
		return nil, err
	}
	p.write = up.write
	if len(ids) == 0 {
		p.write.IfMissing = true
	}
	p.guards = []ww.Guard{{Type: r.typ, Criteria: crit, Expect: ids}}
	return p, nil
}

// delete serves DELETE [base]/[type]/[id]; deleting a missing or deleted
// resource succeeds (204) without writing.
func (g *Gateway) delete(r *request) *response {
	if err := checkType(r.typ); err != nil {
		return errResponse(err)
	}
	if !ww.ValidID(r.id) {
		return errResponse(ww.Errorf(ww.KindNotFound, "not-found", "%q is not a valid resource id", r.id))
	}
	return g.commitPlanned(r, func() (*plan, error) {
		w := &ww.Write{Op: ww.OpDelete, Type: r.typ, ID: r.id, Provenance: provenance(r)}
		if im := r.header.Get("If-Match"); im != "" {
			v, ok := parseETag(im)
			if !ok {
				return nil, ww.Errorf(ww.KindInvalid, "value", "If-Match %q is not a version ETag such as W/\"3\"", im).At("If-Match")
			}
			w.IfMatch = v
		}
		return &plan{write: w}, nil
	})
}

// conditionalDelete serves DELETE [base]/[type]?criteria: no match →
// success without writing, one → delete it, several → 412.
func (g *Gateway) conditionalDelete(r *request) *response {
	if err := checkType(r.typ); err != nil {
		return errResponse(err)
	}
	if r.rawQuery == "" {
		return errResponse(ww.Errorf(ww.KindNotAllowed, "not-supported", "DELETE needs an id or search criteria; deleting a whole type is not allowed"))
	}
	crit, err := parseCriteria(r.typ, r.rawQuery)
	if err != nil {
		return errResponse(err)
	}
	return g.commitPlanned(r, func() (*plan, error) { return g.planConditionalDelete(r, crit) })
}

func (g *Gateway) planConditionalDelete(r *request, crit []ww.Clause) (*plan, error) {
	ids, _, err := g.resolve(r, r.typ, crit)
	if err != nil {
		return nil, err
	}
	switch len(ids) {
	case 0:
		return &plan{noop: true}, nil
	case 1:
		return &plan{write: &ww.Write{Op: ww.OpDelete, Type: r.typ, ID: ids[0], Provenance: provenance(r)},
			guards: []ww.Guard{{Type: r.typ, Criteria: crit, Expect: ids}}}, nil
	}
	return nil, ww.Errorf(ww.KindPrecondition, "multiple-matches", "the criteria match %d %s resources; a conditional delete must match at most one", len(ids), r.typ)
}

// commitPlanned resolves, commits and answers one write interaction,
// resolving again when a guard reports a concurrent change.
func (g *Gateway) commitPlanned(r *request, resolve func() (*plan, error)) *response {
	for attempt := 0; ; attempt++ {
		p, err := resolve()
		if err != nil {
			return errResponse(err)
		}
		if p.existing != nil {
			p.release()
			return g.writeResponse(r, http.StatusOK, p.existing, false)
		}
		if p.noop {
			return g.deleteResponse(r, nil)
		}
		results, err := g.store.Commit(r.ctx, &ww.Commit{Writes: []ww.Write{*p.write}, Guards: p.guards})
		p.release()
		if err != nil {
			if ww.IsKind(err, ww.KindConflict) && len(p.guards) > 0 && attempt < maxResolveAttempts {
				continue
			}
			return errResponse(err)
		}
		return g.resultResponse(r, results[0])
	}
}

// resultResponse answers a committed write.
func (g *Gateway) resultResponse(r *request, res ww.WriteResult) *response {
	switch res.Outcome {
	case ww.Created:
		return g.writeResponse(r, http.StatusCreated, res.Resource, true)
	case ww.Updated:
		return g.writeResponse(r, http.StatusOK, res.Resource, true)
	case ww.Unchanged:
		if r.method != http.MethodDelete && res.Resource != nil {
			// An update that changes nothing: the stored version stands.
			return g.writeResponse(r, http.StatusOK, res.Resource, false)
		}
		return g.deleteResponse(r, res.Resource)
	default:
		return g.deleteResponse(r, res.Resource)
	}
}

// writeResponse answers a create or update per Prefer: return=minimal (no
// body), representation (the default) or OperationOutcome.
func (g *Gateway) writeResponse(r *request, status int, res *ww.Resource, written bool) *response {
	resp := &response{status: status, etag: etag(res.VersionID), lastModified: res.LastUpdated, resource: res,
		location: r.base + "/" + res.Type + "/" + res.ID + "/_history/" + strconv.FormatInt(res.VersionID, 10)}
	switch r.prefer.ret {
	case "minimal":
	case "OperationOutcome":
		msg := res.Type + "/" + res.ID + " version " + strconv.FormatInt(res.VersionID, 10)
		switch {
		case written:
			msg += " was written"
		case r.method == http.MethodPut:
			msg += " already has this content; nothing was written"
		default:
			msg += " already matches the If-None-Exist criteria; nothing was written"
		}
		resp.body = info(msg)
	default:
		resp.body = res.JSON
	}
	return resp
}

// deleteResponse answers a delete: 204 by default, 200 with an
// OperationOutcome when Prefer: return=OperationOutcome.
func (g *Gateway) deleteResponse(r *request, res *ww.Resource) *response {
	resp := &response{status: http.StatusNoContent}
	if res != nil {
		resp.etag = etag(res.VersionID)
		resp.resource = res
	}
	if r.prefer.ret == "OperationOutcome" {
		resp.status = http.StatusOK
		if res != nil {
			resp.body = info(res.Type + "/" + res.ID + " was deleted (version " + strconv.FormatInt(res.VersionID, 10) + ")")
		} else {
			resp.body = info("nothing to delete")
		}
	}
	return resp
}

// parseResource parses and validates the request body as a resource of
// r.typ.
func (g *Gateway) parseResource(r *request) (*fhirjson.Value, error) {
	tree := r.tree
	if tree == nil {
		var err error
		if tree, err = parseJSON(r.body, g.o.Limits); err != nil {
			return nil, err
		}
	}
	if err := conformance.Validate(r.ctx, r.typ, tree); err != nil {
		return nil, err
	}
	return tree, nil
}

// provenance records who wrote a version through REST.
func provenance(r *request) ww.Provenance {
	p := ww.PrincipalFrom(r.ctx)
	return ww.Provenance{Owner: p.Organization, Channel: ww.ChannelREST}
}

// resolve finds the resources of typ matching criteria (at most two are
// needed to tell 0, 1 and many apart).
func (g *Gateway) resolve(r *request, typ string, crit []ww.Clause) ([]string, *ww.Resource, error) {
	res, err := g.store.Search(r.ctx, &ww.Query{Type: typ, Clauses: crit, Count: 2})
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(res.Resources))
	for i, x := range res.Resources {
		ids[i] = x.ID
	}
	var first *ww.Resource
	if len(res.Resources) > 0 {
		first = res.Resources[0]
	}
	return ids, first, nil
}

// parseCriteria parses conditional criteria strictly: every parameter must
// be one the store can match inside its atomic write; anything else is a 400
// (never a match-everything).
func parseCriteria(typ, raw string) ([]ww.Clause, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, ww.Errorf(ww.KindInvalid, "invalid", "the criteria %q cannot be parsed: %v", raw, err)
	}
	if len(q) == 0 {
		return nil, ww.Errorf(ww.KindInvalid, "invalid", "the criteria are empty")
	}
	var out []ww.Clause
	for name, vals := range q {
		param, mod, _ := cutModifier(name)
		if mod != "" {
			return nil, ww.Errorf(ww.KindInvalid, "not-supported", "modifier :%s is not supported in conditional criteria (%s)", mod, name)
		}
		if param != "_id" {
			sp, ok := conformance.Params().Lookup(typ, param)
			if !ok {
				return nil, ww.Errorf(ww.KindInvalid, "not-supported", "unknown search parameter %q in the conditional criteria for %s", param, typ)
			}
			if sp.Layout != "lex" || (sp.Type != conformance.TypeToken && sp.Type != conformance.TypeReference) {
				return nil, ww.Errorf(ww.KindInvalid, "not-supported", "search parameter %q cannot be used in conditional criteria; use identifier, a reference or _id", param)
			}
		}
		for _, v := range vals {
			if v == "" {
				return nil, ww.Errorf(ww.KindInvalid, "invalid", "conditional criterion %s has no value", name)
			}
			out = append(out, ww.Clause{Param: param, Values: splitOr(v)})
		}
	}
	return out, nil
}

func cutModifier(name string) (param, mod string, ok bool) {
	param, mod, ok = cutByte(name, ':')
	return
}

func cutByte(s string, c byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// splitOr splits a search value on unescaped commas.
func splitOr(v string) []string {
	var out []string
	start := 0
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' {
			i++
			continue
		}
		if v[i] == ',' {
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}
