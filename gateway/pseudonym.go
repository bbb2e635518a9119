package gateway

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/audit"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mediation"
	"github.com/wachtwijzer/wachtwijzer/pseudonym"
)

// pseudonymise rewrites the responses insurers get when waits are
// pseudonymised (Options.Pseudonyms): every Patient reference becomes the
// member's pseudonym and ServiceRequests carry the member's PC4
// (pseudonym.Keys.Transform). $reidentify answers with identity by design
// and is left alone. The Patients replaced go to the audit event.
func (g *Gateway) pseudonymise(c *gin.Context) {
	p := ww.PrincipalFrom(c.Request.Context())
	if g.o.Pseudonyms == nil || p.Role != ww.RoleInsurer || strings.Contains(c.Request.URL.Path, "$reidentify") {
		c.Next()
		return
	}
	orig := c.Writer
	w := &auditWriter{ResponseWriter: orig, status: http.StatusOK}
	c.Writer = w
	c.Next()
	c.Writer = orig
	body := w.buf.Bytes()
	if w.status < 300 && len(body) > 0 && strings.Contains(orig.Header().Get("Content-Type"), "json") {
		out, err := g.pseudonymBody(c.Request.Context(), p.Organization, body)
		if err != nil {
			g.log.Error("pseudonymisation failed; the response is withheld", "route", c.FullPath(), "err", err)
			orig.Header().Del("ETag")
			orig.Header().Del("Location")
			orig.Header().Del("Content-Length")
			orig.Header().Set("Content-Type", ctFHIR+"; charset=utf-8")
			orig.WriteHeader(StatusOf(err))
			_, _ = orig.Write(outcomeOf(err))
			return
		}
		body = out
		// the handler's length was the original body's
		orig.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	orig.WriteHeader(w.status)
	if len(body) > 0 {
		_, _ = orig.Write(body)
	} else {
		orig.WriteHeaderNow()
	}
}

// pseudonymBody looks up the BSN and PC4 of the Patients body refers to (as
// the system: the insurer itself cannot read Patients) and transforms it.
func (g *Gateway) pseudonymBody(ctx context.Context, uzovi string, body []byte) ([]byte, error) {
	ids := pseudonym.PatientRefs(body)
	if len(ids) == 0 {
		return body, nil
	}
	facts, err := g.patientFacts(ctx, ids)
	if err != nil {
		return nil, err
	}
	out, replaced, err := g.o.Pseudonyms.Transform(uzovi, body, facts)
	if err != nil {
		return nil, err
	}
	audit.AddPatients(ctx, replaced)
	return out, nil
}

// liveReader reads current resources by id in one round trip
// (redisstore.Store.ReadLive).
type liveReader interface {
	ReadLive(ctx context.Context, typ string, ids []string) ([]*ww.Resource, error)
}

// requestMemo gives each request a wachtwijzer.Memo (the Policy resolves an
// insurer's members once per request).
func requestMemo(c *gin.Context) {
	c.Request = c.Request.WithContext(ww.WithMemo(c.Request.Context()))
	c.Next()
}

// patientFacts reads the BSN and PC4 of Patients by id.
func (g *Gateway) patientFacts(ctx context.Context, ids []string) (map[string]pseudonym.Facts, error) {
	sys := ww.WithPrincipal(ctx, &ww.Principal{Role: ww.RoleSystem, ClientID: "pseudonym"})
	out := map[string]pseudonym.Facts{}
	if lr, ok := g.store.(liveReader); ok {
		rs, err := lr.ReadLive(sys, "Patient", ids)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if r != nil {
				out[r.ID] = factsOf(r.JSON)
			}
		}
		return out, nil
	}
	for len(ids) > 0 {
		n := min(len(ids), 500)
		res, err := g.store.Search(sys, &ww.Query{Type: "Patient", Clauses: []ww.Clause{{Param: "_id", Values: ids[:n]}}, Count: n})
		if err != nil {
			return nil, err
		}
		ids = ids[n:]
		for _, r := range res.Resources {
			out[r.ID] = factsOf(r.JSON)
		}
	}
	return out, nil
}

func factsOf(body []byte) pseudonym.Facts {
	var f pseudonym.Facts
	tree, err := fhirjson.Parse(body, fhirjson.Limits{})
	if err != nil {
		return f
	}
	for _, id := range itemsOf(tree.Get("identifier")) {
		if id.GetStr("system") == ww.SystemBSN && f.BSN == "" {
			f.BSN = strings.TrimSpace(id.GetStr("value"))
		}
	}
	for _, a := range itemsOf(tree.Get("address")) {
		if use := a.GetStr("use"); use != "" && use != "home" {
			continue
		}
		if pc := mediation.PC4(a.GetStr("postalCode")); pc != "" {
			f.PC4 = pc
			break
		}
	}
	return f
}
