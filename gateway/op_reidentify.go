package gateway

import (
	"context"
	"net/http"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/audit"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

func init() { RegisterOperation("ServiceRequest", "reidentify", opReidentify) }

// Consent scope and Task code that ground a re-identification.
const consentPurposeSystem = mediation.SystemTaskCode

// openTask are the Task statuses of a mediation still under way.
var openTask = map[string]bool{"draft": true, "requested": true, "received": true, "accepted": true, "ready": true, "in-progress": true, "on-hold": true}

// opReidentify answers GET|POST /fhir/ServiceRequest/{id}/$reidentify: the
// Patient resources of the wait's member (every Patient with the member's
// BSN), for an insurer that holds an active care-mediation Consent of the
// member (scope task-code|mediation, organization the insurer) or an open
// mediation Task for the member (code task-code|mediation, owner the
// insurer). The ground goes to the audit log; without one: 403.
func opReidentify(r *OperationRequest) (int, []byte, error) {
	if r.ID == "" {
		return 0, nil, ww.Errorf(ww.KindNotFound, "not-supported", "$reidentify is an instance operation: GET /fhir/ServiceRequest/{id}/$reidentify")
	}
	p := ww.PrincipalFrom(r.ctx)
	if p.Role != ww.RoleInsurer && p.Role != ww.RoleAdmin {
		return 0, nil, ww.Errorf(ww.KindForbidden, "forbidden", "$reidentify is for insurers (care mediation)")
	}
	// the wait must be one the principal may see (else: as missing)
	sr, err := r.gw.store.Read(r.ctx, "ServiceRequest", r.ID)
	if err != nil {
		return 0, nil, err
	}
	sys := ww.WithPrincipal(r.ctx, &ww.Principal{Role: ww.RoleSystem, ClientID: "reidentify"})
	tree, err := fhirjson.Parse(sr.JSON, fhirjson.Limits{})
	if err != nil {
		return 0, nil, ww.Wrap("gateway.reidentify", ww.KindInternal, err, "the stored wait cannot be read")
	}
	subject := patientIDOf(tree.Get("subject").GetStr("reference"))
	if subject == "" {
		return 0, nil, ww.Errorf(ww.KindUnprocessable, "business-rule", "ServiceRequest/%s has no Patient subject", r.ID)
	}
	patients, err := r.gw.memberPatients(sys, subject)
	if err != nil {
		return 0, nil, err
	}
	ground := "admin access"
	if p.Role == ww.RoleInsurer {
		if ground, err = r.gw.reidentifyGround(sys, p.Organization, patients); err != nil {
			return 0, nil, err
		}
	}
	ids := make([]string, len(patients))
	for i, pt := range patients {
		ids[i] = pt.ID
	}
	audit.State(r.ctx, audit.Ground{PurposeOfUse: "COVERAGE", LegalGround: "re-identification for care mediation: " + ground, Patients: ids})
	bb := newBundle("searchset", r.gw.o.Clock)
	bb.total(len(patients))
	bb.link("self", r.base+"/ServiceRequest/"+r.ID+"/$reidentify")
	for _, pt := range patients {
		searchMode(bb.entry(r.base+"/Patient/"+pt.ID, pt.JSON), "match")
	}
	return http.StatusOK, bb.bytes(), nil
}

func patientIDOf(ref string) string {
	i := strings.LastIndex(ref, "Patient/")
	if i < 0 || i > 0 && ref[i-1] != '/' {
		return ""
	}
	id, _, _ := strings.Cut(ref[i+len("Patient/"):], "/")
	return id
}

// memberPatients returns the subject and every Patient with its BSN.
func (g *Gateway) memberPatients(sys context.Context, subject string) ([]*ww.Resource, error) {
	pt, err := g.store.Read(sys, "Patient", subject)
	if err != nil {
		return nil, err
	}
	out := []*ww.Resource{pt}
	bsn := factsOf(pt.JSON).BSN
	if bsn == "" {
		return out, nil
	}
	res, err := g.store.Search(sys, &ww.Query{Type: "Patient", Clauses: []ww.Clause{{Param: "identifier", Values: []string{ww.SystemBSN + "|" + bsn}}}, Count: 100})
	if err != nil {
		return nil, err
	}
	for _, r := range res.Resources {
		if r.ID != subject {
			out = append(out, r)
		}
	}
	return out, nil
}

// reidentifyGround finds the insurer's ground for the member: an active
// care-mediation Consent or an open mediation Task; none is a 403.
func (g *Gateway) reidentifyGround(sys context.Context, uzovi string, patients []*ww.Resource) (string, error) {
	orgs := map[string]bool{}
	res, err := g.store.Search(sys, &ww.Query{Type: "Organization", Clauses: []ww.Clause{{Param: "identifier", Values: []string{ww.SystemUZOVI + "|" + uzovi}}}, Count: 100})
	if err != nil {
		return "", err
	}
	for _, o := range res.Resources {
		orgs[o.ID] = true
	}
	isInsurer := func(ref *fhirjson.Value) bool {
		if ref == nil {
			return false
		}
		if s := ref.GetStr("reference"); strings.HasPrefix(s, "Organization/") && orgs[strings.TrimPrefix(s, "Organization/")] {
			return true
		}
		id := ref.Get("identifier")
		return id != nil && id.GetStr("system") == ww.SystemUZOVI && id.GetStr("value") == uzovi
	}
	refs := make([]string, len(patients))
	for i, pt := range patients {
		refs[i] = "Patient/" + pt.ID
	}
	now := g.o.Clock.Now()
	consents, err := g.store.Search(sys, &ww.Query{Type: "Consent", Clauses: []ww.Clause{{Param: "patient", Values: refs}, {Param: "status", Values: []string{"active"}}}, Count: 100})
	if err != nil {
		return "", err
	}
	for _, c := range consents.Resources {
		t, err := fhirjson.Parse(c.JSON, fhirjson.Limits{})
		if err != nil || !hasCode(t.Get("scope"), consentPurposeSystem, mediation.TaskCodeMediation) && !anyCode(t.Get("category"), consentPurposeSystem, mediation.TaskCodeMediation) {
			continue
		}
		ok := false
		for _, o := range itemsOf(t.Get("organization")) {
			ok = ok || isInsurer(o)
		}
		if !ok {
			continue
		}
		if per := t.Get("provision").Get("period"); per != nil {
			if end := per.GetStr("end"); end != "" {
				if d, ok := mediation.DayOfFHIR(end); ok && d < mediation.DayOf(now) {
					continue
				}
			}
		}
		return "Consent/" + c.ID + " (active, care mediation)", nil
	}
	tasks, err := g.store.Search(sys, &ww.Query{Type: "Task", Clauses: []ww.Clause{{Param: "patient", Values: refs}, {Param: "code", Values: []string{mediation.SystemTaskCode + "|" + mediation.TaskCodeMediation}}}, Count: 100})
	if err != nil {
		return "", err
	}
	for _, tk := range tasks.Resources {
		t, err := fhirjson.Parse(tk.JSON, fhirjson.Limits{})
		if err != nil || !openTask[t.GetStr("status")] {
			continue
		}
		if isInsurer(t.Get("owner")) || tk.Provenance.Owner == uzovi {
			return "Task/" + tk.ID + " (open mediation)", nil
		}
	}
	return "", ww.Errorf(ww.KindForbidden, "forbidden", "no active care-mediation Consent of this member for insurer %s and no open mediation Task: the member stays pseudonymised", uzovi)
}

func hasCode(cc *fhirjson.Value, system, code string) bool {
	if cc == nil {
		return false
	}
	for _, c := range itemsOf(cc.Get("coding")) {
		if c.GetStr("system") == system && c.GetStr("code") == code {
			return true
		}
	}
	return false
}

func anyCode(arr *fhirjson.Value, system, code string) bool {
	for _, cc := range itemsOf(arr) {
		if hasCode(cc, system, code) {
			return true
		}
	}
	return false
}
