package tests

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// The tenancy matrix over the real binary with real tokens: every role ×
// every route and operation × every leak vector. The data design is the one
// of tenancy/matrix_test.go (two hospitals, two insurers, one person known
// at both hospitals and insured by the first insurer, one person known at
// the first hospital and insured by the second), written over HTTP by the
// clients that own it. The gateway runs with its defaults, so insurers get
// pseudonymised waits: no Patient resource and no BSN, except through
// $reidentify with a ground.

const (
	tnAGB1  = "06020502"
	tnAGB2  = "06010101"
	tnUZA   = "7119"
	tnUZB   = "3332"
	tnBSNA  = "999911120"
	tnBSNB  = "123456782"
	tnBSN   = "http://fhir.nl/fhir/NamingSystem/bsn"
	tnUZOVI = "http://fhir.nl/fhir/NamingSystem/uzovi"
	tnAGB   = "http://fhir.nl/fhir/NamingSystem/agb-z"
)

// tnPatientLevel are the fixtures with personal data; every other fixture is
// capacity data that everyone may read.
var tnPatientLevel = []string{"patAone", "patAtwo", "patBone", "covAone", "covBone", "srAone", "srAtwo", "srBone", "apptBone", "taskB"}

// tnGone is a wait hospital 1 wrote for patBone and deleted: it and admins
// see it gone (410); insurer B, whose member patBone is, sees its live
// version in the history but not the deletion; to everyone else it was
// never there.
const tnGone = "srGone"

// tnByType are the patient-level fixtures by type.
var tnByType = []struct {
	typ string
	ids []string
}{
	{"Patient", []string{"patAone", "patAtwo", "patBone"}},
	{"Coverage", []string{"covAone", "covBone"}},
	{"ServiceRequest", []string{"srAone", "srAtwo", "srBone"}},
	{"Appointment", []string{"apptBone"}},
	{"Task", []string{"taskB"}},
}

// tnSubject is the Patient each patient-level fixture is about.
var tnSubject = map[string]string{
	"srAone": "patAone", "srAtwo": "patAtwo", "srBone": "patBone",
	"covAone": "patAone", "covBone": "patBone", "apptBone": "patBone", "taskB": "patBone",
}

// tnPerformer is the performing Organization of each wait.
var tnPerformer = map[string]string{"srAone": "orgHospOne", "srAtwo": "orgHospTwo", "srBone": "orgHospOne"}

func tnSet(ids ...string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// tnRole is a principal of the matrix: its client and what it may see.
type tnRole struct {
	name    string
	visible map[string]bool // patient-level fixtures it sees
	bsns    map[string]bool // BSNs it may see
	insurer bool
	uzovi   string
}

func tnRoles() []tnRole { return tnRolesOf(true) }

// tnRolesOf are the roles with pseudonymised waits (the default: an insurer
// sees its members' waits, never their Patients or BSNs) or without
// (--pseudonymise=false: it sees its members' Patients too).
func tnRolesOf(pseudonymised bool) []tnRole {
	insA, insB := tnSet("covAone", "srAone", "srAtwo"), tnSet("covBone", "srBone", "apptBone", "taskB", tnGone)
	bsnA, bsnB := tnSet(), tnSet()
	if !pseudonymised {
		insA["patAone"], insA["patAtwo"], insB["patBone"] = true, true, true
		bsnA, bsnB = tnSet(tnBSNA), tnSet(tnBSNB)
	}
	return []tnRole{
		{name: "admin", visible: tnSet(append([]string{tnGone}, tnPatientLevel...)...), bsns: tnSet(tnBSNA, tnBSNB)},
		{name: "hospital-1", visible: tnSet("patAone", "patBone", "srAone", "srBone", "apptBone", tnGone), bsns: tnSet(tnBSNA, tnBSNB)},
		{name: "hospital-2", visible: tnSet("patAtwo", "srAtwo"), bsns: tnSet(tnBSNA)},
		{name: "insurer-A", visible: insA, bsns: bsnA, insurer: true, uzovi: tnUZA},
		{name: "insurer-B", visible: insB, bsns: bsnB, insurer: true, uzovi: tnUZB},
	}
}

func tnRoleOf(name string) tnRole {
	for _, r := range tnRoles() {
		if r.name == name {
			return r
		}
	}
	panic(name)
}

// tnEnv is the running gateway, its fixtures and a token per role.
type tnEnv struct {
	g      *Gateway
	tokens map[string]string
}

func tnOrg(id, system, value, name string) string {
	return fmt.Sprintf(`{"resourceType":"Organization","id":%q,"identifier":[{"system":%q,"value":%q}],"name":%q}`, id, system, value, name)
}

func tnPat(id, bsn, family string) string {
	return fmt.Sprintf(`{"resourceType":"Patient","id":%q,"identifier":[{"system":%q,"value":%q}],"name":[{"family":%q}],"address":[{"postalCode":"1012 AB"}]}`, id, tnBSN, bsn, family)
}

func tnSR(id, patient, performer string) string {
	return fmt.Sprintf(`{"resourceType":"ServiceRequest","id":%q,"status":"active","intent":"order","category":[{"coding":[{"system":"https://wachtwijzer.nl/fhir/CodeSystem/wait-kind","code":"outpatient"}]}],"code":{"text":"consult"},"subject":{"reference":"Patient/%s"},"authoredOn":"2026-09-01","performer":[{"reference":"Organization/%s"}],"performerType":{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"0305"}]}}`, id, patient, performer)
}

func tnCov(id, patient, payor string) string {
	now := time.Now().UTC()
	return fmt.Sprintf(`{"resourceType":"Coverage","id":%q,"status":"active","beneficiary":{"reference":"Patient/%s"},"payor":[%s],"period":{"start":%q,"end":%q}}`,
		id, patient, payor, now.AddDate(-1, 0, 0).Format("2006-01-02"), now.AddDate(1, 0, 0).Format("2006-01-02"))
}

// startTenancy starts the gateway (with extra flags args) with one client
// per role and writes the fixtures, each by the client that owns it.
func startTenancy(t *testing.T, args ...string) *tnEnv {
	t.Helper()
	cruds := []string{"system/*.cruds"}
	g := StartGateway(t, GatewayOptions{Args: args, Auth: &AuthOptions{
		Config: map[string]any{"rate_limit": map[string]any{"requests": 0, "window": "1m"}},
		Clients: []TestClient{
			{ID: "admin", Role: "admin", Scopes: []string{"system/*.*"}},
			{ID: "hospital-1", Role: "hospital", Org: tnAGB1, Scopes: cruds},
			{ID: "hospital-2", Role: "hospital", Org: tnAGB2, Scopes: cruds},
			{ID: "insurer-A", Role: "insurer", Org: tnUZA, Scopes: cruds},
			{ID: "insurer-B", Role: "insurer", Org: tnUZB, Scopes: cruds},
		}}})
	e := &tnEnv{g: g, tokens: map[string]string{}}
	for _, r := range tnRoles() {
		scopes := cruds
		if r.name == "admin" {
			scopes = []string{"system/*.*"}
		}
		e.tokens[r.name] = g.Token(t, r.name, scopes...)
	}
	for _, f := range []struct{ as, typ, id, body string }{
		{"admin", "Organization", "orgInsA", tnOrg("orgInsA", tnUZOVI, tnUZA, "Zorgverzekeraar A")},
		{"admin", "Organization", "orgInsB", tnOrg("orgInsB", tnUZOVI, tnUZB, "Zorgverzekeraar B")},
		{"hospital-1", "Organization", "orgHospOne", tnOrg("orgHospOne", tnAGB, tnAGB1, "Ziekenhuis Een")},
		{"hospital-2", "Organization", "orgHospTwo", tnOrg("orgHospTwo", tnAGB, tnAGB2, "Ziekenhuis Twee")},
		{"hospital-1", "Patient", "patAone", tnPat("patAone", tnBSNA, "Jansen")},
		{"hospital-2", "Patient", "patAtwo", tnPat("patAtwo", tnBSNA, "Jansen")},
		{"hospital-1", "Patient", "patBone", tnPat("patBone", tnBSNB, "Bakker")},
		{"insurer-A", "Coverage", "covAone", tnCov("covAone", "patAone", `{"reference":"Organization/orgInsA"}`)},
		{"insurer-B", "Coverage", "covBone", tnCov("covBone", "patBone", `{"identifier":{"system":"`+tnUZOVI+`","value":"`+tnUZB+`"}}`)},
		{"hospital-1", "ServiceRequest", "srAone", tnSR("srAone", "patAone", "orgHospOne")},
		{"hospital-2", "ServiceRequest", "srAtwo", tnSR("srAtwo", "patAtwo", "orgHospTwo")},
		{"hospital-1", "ServiceRequest", "srBone", tnSR("srBone", "patBone", "orgHospOne")},
		{"hospital-1", "Appointment", "apptBone", `{"resourceType":"Appointment","id":"apptBone","status":"booked","basedOn":[{"reference":"ServiceRequest/srBone"}],"start":"2026-12-20T09:00:00Z","end":"2026-12-20T09:15:00Z","participant":[{"actor":{"reference":"Patient/patBone"},"status":"accepted"}]}`},
		{"hospital-1", "Schedule", "schedOne", `{"resourceType":"Schedule","id":"schedOne","actor":[{"reference":"HealthcareService/hcsOne"}]}`},
		// an open mediation Task: insurer B's ground to re-identify patBone
		{"insurer-B", "Task", "taskB", `{"resourceType":"Task","id":"taskB","status":"requested","intent":"order","code":{"coding":[{"system":"https://wachtwijzer.nl/fhir/CodeSystem/task-code","code":"mediation"}]},"for":{"reference":"Patient/patBone"},"focus":{"reference":"ServiceRequest/srBone"},"owner":{"identifier":{"system":"` + tnUZOVI + `","value":"` + tnUZB + `"}}}`},
	} {
		r := e.do(t, f.as, "PUT", "/fhir/"+f.typ+"/"+f.id, f.body)
		if r.Status != 201 && r.Status != 200 {
			t.Fatalf("fixture %s/%s by %s: %d %s", f.typ, f.id, f.as, r.Status, r.Body)
		}
	}
	expect(t, e.do(t, "hospital-1", "PUT", "/fhir/ServiceRequest/"+tnGone, tnSR(tnGone, "patBone", "orgHospOne")), 201)
	expect(t, e.do(t, "hospital-1", "DELETE", "/fhir/ServiceRequest/"+tnGone, ""), 204)
	return e
}

func (e *tnEnv) do(t testing.TB, as, method, path, body string, headers ...string) *Resp {
	t.Helper()
	var b any
	if body != "" {
		b = body
	}
	return e.g.Do(t, method, path, b, append([]string{bearer(e.tokens[as])}, headers...)...)
}

// tnReport collects what a matrix run finds wrong, so that the negative
// control can run the same checks and count what they catch.
type tnReport struct {
	leaks, wrong []string
}

func (p *tnReport) leak(format string, args ...any) {
	p.leaks = append(p.leaks, fmt.Sprintf(format, args...))
}

func (p *tnReport) errorf(format string, args ...any) {
	p.wrong = append(p.wrong, fmt.Sprintf(format, args...))
}

// noForeign reports every patient-level id the role may not see, and every
// BSN it may not see, that appears in the body or the headers, unless the
// request itself named it (named: echoed in self links and in the
// not-found text, as for a truly missing id).
func (p *tnReport) noForeign(w tnRole, what string, r *Resp, named ...string) {
	hdr := fmt.Sprint(r.Header)
	skip := tnSet(named...)
	for _, id := range append([]string{tnGone}, tnPatientLevel...) {
		if skip[id] || strings.Contains(what, id) || w.visible[id] {
			continue
		}
		if strings.Contains(string(r.Body), id) || strings.Contains(hdr, id) {
			p.leak("%s: %s leaks %s: %d %.300s", w.name, what, id, r.Status, r.Body)
		}
	}
	for _, bsn := range []string{tnBSNA, tnBSNB} {
		if skip[bsn] || w.bsns[bsn] || strings.Contains(what, bsn) {
			continue
		}
		if strings.Contains(string(r.Body), bsn) || strings.Contains(hdr, bsn) {
			p.leak("%s: %s leaks BSN %s: %.300s", w.name, what, bsn, r.Body)
		}
	}
}

// tnBundle is the part of a Bundle the matrix looks at.
type tnBundle struct {
	ResourceType string `json:"resourceType"`
	Total        *int   `json:"total"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		Resource json.RawMessage `json:"resource"`
		Search   *struct {
			Mode string `json:"mode"`
		} `json:"search"`
		Response *struct {
			Status string `json:"status"`
		} `json:"response"`
	} `json:"entry"`
}

type tnHead struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Total        *int   `json:"total"`
}

func (p *tnReport) bundle(what string, r *Resp) tnBundle {
	var b tnBundle
	if r.Status != 200 || json.Unmarshal(r.Body, &b) != nil || b.ResourceType != "Bundle" {
		p.errorf("%s: want a Bundle, got %d %.300s", what, r.Status, r.Body)
	}
	return b
}

// ids are the entries' resource ids in mode ("" every entry).
func (b tnBundle) ids(mode string) []string {
	out := []string{}
	for _, e := range b.Entry {
		var h tnHead
		json.Unmarshal(e.Resource, &h)
		if h.ID != "" && (mode == "" || e.Search != nil && e.Search.Mode == mode) {
			out = append(out, h.ID)
		}
	}
	sort.Strings(out)
	return out
}

// total is the Bundle's total, -1 without one.
func (b tnBundle) total() int {
	if b.Total == nil {
		return -1
	}
	return *b.Total
}

func (b tnBundle) next() string {
	for _, l := range b.Link {
		if l.Relation == "next" {
			return l.URL
		}
	}
	return ""
}

// tnOf are the ids of which keep is true, sorted.
func tnOf(ids []string, keep func(string) bool) []string {
	out := []string{}
	for _, id := range ids {
		if keep(id) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func tnEq(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func tnUniq(ids []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// matrix drives every route as the client as and checks the answers against
// what view may see (as == view, except in the negative control).
func (e *tnEnv) matrix(t *testing.T, as string, w tnRole) *tnReport {
	t.Helper()
	p := &tnReport{}
	do := func(method, path, body string, headers ...string) *Resp {
		return e.do(t, as, method, path, body, headers...)
	}
	for _, bt := range tnByType {
		typ := bt.typ
		absent := do("GET", "/fhir/"+typ+"/neverWritten", "")
		if absent.Status != 404 {
			p.errorf("%s: absent %s = %d", w.name, typ, absent.Status)
		}
		for _, id := range bt.ids {
			base := "/fhir/" + typ + "/" + id
			for _, route := range []string{base, base + "/_history/1", base + "/_history", base + "/_history?_since=2020-01-01", base + "?_summary=true", base + "?_elements=id"} {
				r := do("GET", route, "")
				p.noForeign(w, "GET "+route, r)
				if want := map[bool]int{true: 200, false: 404}[w.visible[id]]; r.Status != want {
					p.errorf("%s: GET %s = %d, want %d: %.300s", w.name, route, r.Status, want, r.Body)
				}
			}
			// hidden answers as missing: the same status and text as an absent id
			if r := do("GET", base, ""); !w.visible[id] && strings.ReplaceAll(string(r.Body), id, "X") != strings.ReplaceAll(string(absent.Body), "neverWritten", "X") {
				p.errorf("%s: hidden %s/%s answers %s, an absent one %s", w.name, typ, id, r.Body, absent.Body)
			}
			// HEAD (not served) answers alike for seen, hidden and absent ids
			if r, a := do("HEAD", base, ""), do("HEAD", "/fhir/"+typ+"/neverWritten", ""); r.Status != a.Status || len(r.Body) != 0 {
				p.errorf("%s: HEAD %s = %d, of an absent id %d", w.name, base, r.Status, a.Status)
			}
		}
		want := tnOf(bt.ids, func(id string) bool { return w.visible[id] })
		// search with _total, _summary=count, POST _search
		for _, q := range []string{"/fhir/" + typ + "?_total=accurate", "/fhir/" + typ + "?_id=" + strings.Join(bt.ids, ",") + "&_total=accurate"} {
			r := do("GET", q, "")
			p.noForeign(w, "search "+q, r)
			b := p.bundle(w.name+" "+q, r)
			if !tnEq(b.ids("match"), want) || b.total() != len(want) {
				p.errorf("%s: %s = %v (total %d), want %v", w.name, q, b.ids("match"), b.total(), want)
			}
		}
		r := do("POST", "/fhir/"+typ+"/_search", "_total=accurate", "Content-Type: application/x-www-form-urlencoded")
		p.noForeign(w, "POST search "+typ, r)
		if b := p.bundle(w.name+" _search "+typ, r); !tnEq(b.ids("match"), want) || b.total() != len(want) {
			p.errorf("%s: POST %s/_search = %v (total %d), want %v", w.name, typ, b.ids("match"), b.total(), want)
		}
		r = do("GET", "/fhir/"+typ+"?_summary=count", "")
		p.noForeign(w, "count "+typ, r)
		if b := p.bundle(w.name+" count "+typ, r); b.total() != len(want) || len(b.Entry) != 0 {
			p.errorf("%s: %s?_summary=count = %s, want %d", w.name, typ, r.Body, len(want))
		}
		// paging: next links carry no foreign id and page only what it sees
		var paged []string
		next := "/fhir/" + typ + "?_count=1&_total=accurate"
		for i := 0; next != "" && i < 12; i++ {
			r := do("GET", next, "")
			p.noForeign(w, "page of "+typ, r)
			b := p.bundle(w.name+" page of "+typ, r)
			if b.Total != nil && *b.Total != len(want) {
				p.errorf("%s: page of %s says total %d, want %d", w.name, typ, *b.Total, len(want))
			}
			paged = append(paged, b.ids("match")...)
			next = b.next()
		}
		sort.Strings(paged)
		if !tnEq(paged, want) {
			p.errorf("%s: paging %s = %v, want %v", w.name, typ, paged, want)
		}
		// type history
		r = do("GET", "/fhir/"+typ+"/_history", "")
		p.noForeign(w, typ+" history", r)
		got := tnUniq(p.bundle(w.name+" "+typ+" history", r).ids(""))
		if gone := tnOf(got, func(id string) bool { return id == tnGone }); len(gone) > 0 != (typ == "ServiceRequest" && w.visible[tnGone]) {
			p.errorf("%s: %s/_history has %v", w.name, typ, gone)
		}
		if got = tnOf(got, func(id string) bool { return id != tnGone }); !tnEq(got, want) {
			p.errorf("%s: %s/_history = %v, want %v", w.name, typ, got, want)
		}
	}
	// a deleted wait: gone to its owner (and admins), to anyone else as
	// missing as an id never written, in every route
	gone := "/fhir/ServiceRequest/" + tnGone
	absentSR := do("GET", "/fhir/ServiceRequest/neverWritten", "")
	tomb := w.name == "admin" || w.name == "hospital-1" // sees the deletion
	pick := func(ok bool, yes int) int {
		if ok {
			return yes
		}
		return 404
	}
	for _, c := range []struct {
		route  string
		status int
	}{{gone, pick(tomb, 410)}, {gone + "/_history", pick(w.visible[tnGone], 200)}, {gone + "/_history/1", pick(w.visible[tnGone], 200)}, {gone + "/_history/2", pick(tomb, 410)}} {
		r := do("GET", c.route, "")
		p.noForeign(w, c.route, r)
		if r.Status != c.status {
			p.errorf("%s: GET %s = %d, want %d: %.300s", w.name, c.route, r.Status, c.status, r.Body)
		}
	}
	if r := do("GET", gone, ""); !tomb && strings.ReplaceAll(string(r.Body), tnGone, "X") != strings.ReplaceAll(string(absentSR.Body), "neverWritten", "X") {
		p.errorf("%s: the deleted %s answers %s, an absent one %s", w.name, tnGone, r.Body, absentSR.Body)
	}
	// system history: only what it sees among the patient-level fixtures
	r := do("GET", "/fhir/_history?_count=100", "")
	p.noForeign(w, "system history", r)
	if got := tnOf(p.bundle(w.name+" /_history", r).ids(""), func(id string) bool { return tnSet(tnPatientLevel...)[id] }); !tnEq(tnUniq(got), tnOf(tnPatientLevel, func(id string) bool { return w.visible[id] })) {
		p.errorf("%s: /_history = %v", w.name, got)
	}
	// _include: the matches are the waits it sees, the included Patients
	// the visible subjects of those
	waits := []string{"srAone", "srAtwo", "srBone"}
	vis := func(id string) bool { return w.visible[id] }
	r = do("GET", "/fhir/ServiceRequest?_include=ServiceRequest:subject&_include=ServiceRequest:performer", "")
	p.noForeign(w, "_include", r)
	{
		b := p.bundle(w.name+" _include", r)
		var wantInc []string
		for _, s := range tnOf(waits, vis) {
			wantInc = append(wantInc, tnPerformer[s])
			if w.visible[tnSubject[s]] {
				wantInc = append(wantInc, tnSubject[s])
			}
		}
		if got := b.ids("match"); !tnEq(got, tnOf(waits, vis)) {
			p.errorf("%s: _include matches %v", w.name, got)
		}
		if got := b.ids("include"); !tnEq(got, tnUniq(wantInc)) {
			p.errorf("%s: _include includes %v, want %v", w.name, got, tnUniq(wantInc))
		}
	}
	// _revinclude: of the Patients it sees, the visible resources about them
	r = do("GET", "/fhir/Patient?_revinclude=ServiceRequest:subject&_revinclude=Coverage:beneficiary&_revinclude=Appointment:patient&_revinclude=Task:patient", "")
	p.noForeign(w, "_revinclude", r)
	{
		b := p.bundle(w.name+" _revinclude", r)
		wantInc := tnOf(tnPatientLevel, func(id string) bool { return vis(id) && tnSubject[id] != "" && vis(tnSubject[id]) })
		if got := b.ids("include"); !tnEq(got, wantInc) {
			p.errorf("%s: Patient _revinclude includes %v, want %v", w.name, got, wantInc)
		}
	}
	r = do("GET", "/fhir/Organization?_revinclude=ServiceRequest:performer", "")
	p.noForeign(w, "_revinclude on a shared type", r)
	if got := p.bundle(w.name+" Organization _revinclude", r).ids("include"); !tnEq(got, tnOf(waits, vis)) {
		p.errorf("%s: Organization _revinclude = %v", w.name, got)
	}
	// chaining and _has, also from a shared type: a chain through a hidden
	// Patient finds nothing
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"/fhir/ServiceRequest?subject:Patient.identifier=" + tnBSN + "|" + tnBSNB + "&_total=accurate",
			tnOf(waits, func(s string) bool { return vis(s) && vis(tnSubject[s]) && tnSubject[s] == "patBone" })},
		{"/fhir/ServiceRequest?subject:Patient.identifier=" + tnBSN + "|" + tnBSNA + "&_total=accurate",
			tnOf(waits, func(s string) bool { return vis(s) && vis(tnSubject[s]) && tnSubject[s] != "patBone" })},
		{"/fhir/ServiceRequest?subject:Patient.family=Bakker&_total=accurate",
			tnOf(waits, func(s string) bool { return vis(s) && vis(tnSubject[s]) && tnSubject[s] == "patBone" })},
		{"/fhir/Organization?_has:ServiceRequest:performer:patient=Patient/patAone&_total=accurate",
			tnOf([]string{"orgHospOne"}, func(string) bool { return vis("srAone") })},
		{"/fhir/Organization?_has:ServiceRequest:performer:patient.identifier=" + tnBSN + "|" + tnBSNB + "&_total=accurate",
			tnOf([]string{"orgHospOne"}, func(string) bool { return vis("srBone") && vis("patBone") })},
		{"/fhir/Organization?_has:ServiceRequest:performer:_has:Appointment:based-on:status=booked&_total=accurate",
			tnOf([]string{"orgHospOne"}, func(string) bool { return vis("srBone") && vis("apptBone") })},
		{"/fhir/Patient?_has:Coverage:beneficiary:status=active&_total=accurate",
			tnOf([]string{"patAone", "patBone"}, func(pt string) bool {
				return vis(pt) && vis(map[string]string{"patAone": "covAone", "patBone": "covBone"}[pt])
			})},
		{"/fhir/Patient?_has:ServiceRequest:subject:performer=Organization/orgHospOne&_total=accurate",
			tnOf([]string{"patAone", "patBone"}, func(pt string) bool {
				return vis(pt) && vis(map[string]string{"patAone": "srAone", "patBone": "srBone"}[pt])
			})},
	} {
		r := do("GET", c.q, "")
		p.noForeign(w, c.q, r)
		b := p.bundle(w.name+" "+c.q, r)
		if got := b.ids("match"); !tnEq(got, c.want) || b.total() != len(c.want) {
			p.errorf("%s: %s = %v (total %d), want %v", w.name, c.q, got, b.total(), c.want)
		}
	}
	// batch: each entry as its own request, with its own exact status; the
	// hidden ids it names are echoed only in their not-found texts
	batch := `{"resourceType":"Bundle","type":"batch","entry":[` +
		`{"request":{"method":"GET","url":"Patient/patBone"}},` +
		`{"request":{"method":"GET","url":"Coverage/covBone/_history"}},` +
		`{"request":{"method":"GET","url":"ServiceRequest?_total=accurate"}},` +
		`{"request":{"method":"GET","url":"Appointment?_summary=count"}},` +
		`{"request":{"method":"GET","url":"Task?_total=accurate"}}]}`
	r = do("POST", "/fhir", batch)
	p.noForeign(w, "batch", r, "patBone", "covBone")
	{
		b := p.bundle(w.name+" batch", r)
		code := func(id string) string { return map[bool]string{true: "200", false: "404"}[vis(id)] }
		wantStatus := []string{code("patBone"), code("covBone"), "200", "200", "200"}
		wantTotal := []int{-1, -1, len(tnOf(waits, vis)), len(tnOf([]string{"apptBone"}, vis)), len(tnOf([]string{"taskB"}, vis))}
		if len(b.Entry) != len(wantStatus) {
			p.errorf("%s: batch has %d entries: %.300s", w.name, len(b.Entry), r.Body)
		}
		for i := 0; i < len(b.Entry) && i < len(wantStatus); i++ {
			en := b.Entry[i]
			if en.Response == nil || !strings.HasPrefix(en.Response.Status, wantStatus[i]) {
				p.errorf("%s: batch entry %d: %+v, want %s", w.name, i, en.Response, wantStatus[i])
			}
			var h tnHead
			json.Unmarshal(en.Resource, &h)
			if wantTotal[i] >= 0 && (h.Total == nil || *h.Total != wantTotal[i]) {
				p.errorf("%s: batch entry %d total %s, want %d", w.name, i, en.Resource, wantTotal[i])
			}
		}
	}
	// a next link another client was given pages only what this one sees
	// (the page token carries no access)
	if b := p.bundle("admin page", e.do(t, "admin", "GET", "/fhir/ServiceRequest?_count=1", "")); b.next() != "" {
		r := do("GET", b.next(), "")
		p.noForeign(w, "admin's next link", r)
		for _, id := range p.bundle(w.name+" admin's next link", r).ids("") {
			if tnSet(tnPatientLevel...)[id] && !vis(id) {
				p.leak("%s: admin's next link leaks %s", w.name, id)
			}
		}
	}
	// a transaction's conditional reference to a hidden Patient answers as
	// one to a BSN nobody has
	txRef := func(bsn string) *Resp {
		return do("POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:7b0c7e4e-1111-4c1e-9a51-000000000009",`+
			`"resource":{"resourceType":"ServiceRequest","id":"srTxRef","status":"active","intent":"order","subject":{"reference":"Patient?identifier=`+tnBSN+`|`+bsn+`"}},`+
			`"request":{"method":"PUT","url":"ServiceRequest/srTxRef"}}]}`)
	}
	if !vis("patBone") {
		hidden, nobody := txRef(tnBSNB), txRef("999999990")
		p.noForeign(w, "conditional reference", hidden, tnBSNB)
		if hidden.Status != nobody.Status || strings.ReplaceAll(string(hidden.Body), tnBSNB, "X") != strings.ReplaceAll(string(nobody.Body), "999999990", "X") {
			p.errorf("%s: a conditional reference to a hidden Patient: %d %s; to nobody: %d %s", w.name, hidden.Status, hidden.Body, nobody.Status, nobody.Body)
		}
	}
	// the audit log and the admin surface are for admins
	for _, path := range []string{"/fhir/AuditEvent?_total=accurate", "/status", "/metrics", "/admin/hl7/dead-letters"} {
		r := do("GET", path, "")
		if want := map[bool]int{true: 200, false: 403}[w.name == "admin"]; r.Status != want {
			p.errorf("%s: GET %s = %d, want %d", w.name, path, r.Status, want)
		}
		if w.name != "admin" {
			p.noForeign(w, path, r)
		}
	}
	// operations
	e.operations(t, as, w, p)
	return p
}

// operations checks every operation the gateway serves for the role.
func (e *tnEnv) operations(t *testing.T, as string, w tnRole, p *tnReport) {
	t.Helper()
	vis := func(id string) bool { return w.visible[id] }
	admin, insurer := w.name == "admin", w.insurer
	by := func(adm, ins, hosp int) int {
		switch {
		case admin:
			return adm
		case insurer:
			return ins
		}
		return hosp
	}
	seen := func(id string, ok int) int {
		if !vis(id) {
			return 404
		}
		return ok
	}
	other := map[string]string{tnUZA: tnUZB, tnUZB: tnUZA, "": tnUZA}[w.uzovi]
	waits := tnOf([]string{"srAone", "srAtwo", "srBone"}, vis)
	for _, c := range []struct {
		method, path string
		status       int
		matches      []string // the exact matches of a 200 Bundle (nil: not checked)
		reveals      []string // what the answer may name although the role does not see it otherwise
	}{
		{"GET", "/fhir/ServiceRequest/$long-waits?state=all", by(200, 200, 403), map[bool][]string{true: waits}[admin || insurer], nil},
		{"GET", "/fhir/ServiceRequest/$long-waits?state=all&insurer=" + other, by(200, 403, 403), nil, nil},
		{"GET", "/fhir/Task/$mediation-report", by(200, 200, 403), nil, nil},
		{"GET", "/fhir/Task/$mediation-report?insurer=" + other, by(200, 403, 403), nil, nil},
		{"GET", "/fhir/MeasureReport/$regional-capacity", 200, nil, nil},
		{"GET", "/fhir/MeasureReport/$regional-capacity?insurer=" + other, by(200, 403, 403), nil, nil},
		{"GET", "/fhir/Slot/$availability?specialty=0305", 200, nil, nil},
		// past the tenancy check, the fixture's home has no geolocation (422)
		{"GET", "/fhir/ServiceRequest/srBone/$mediation-options", seen("srBone", 422), nil, nil},
		{"GET", "/fhir/ServiceRequest/srAtwo/$mediation-options", seen("srAtwo", 422), nil, nil},
		{"GET", "/fhir/ServiceRequest/neverWritten/$mediation-options", 404, nil, nil},
		{"GET", "/fhir/ServiceRequest/srBone/$validate", seen("srBone", 200), nil, nil},
		{"GET", "/fhir/ServiceRequest/srAtwo/$validate", seen("srAtwo", 200), nil, nil},
		{"GET", "/fhir/Patient/patBone/$validate", seen("patBone", 200), nil, nil},
		// $reidentify: insurer B's open mediation Task for patBone is its
		// ground; insurer A has none for its own member
		{"GET", "/fhir/ServiceRequest/srBone/$reidentify", map[bool]int{true: seen("srBone", 200), false: 403}[admin || insurer], tnOf([]string{"patBone"}, func(string) bool { return vis("srBone") && (admin || insurer) }), []string{"patBone", tnBSNB}},
		{"GET", "/fhir/ServiceRequest/srAone/$reidentify", by(200, seen("srAone", 403), 403), nil, []string{"patAone", "patAtwo", tnBSNA}},
		{"GET", "/fhir/ServiceRequest/neverWritten/$reidentify", by(404, 404, 403), nil, nil},
	} {
		r := e.do(t, as, c.method, c.path, "")
		var reveals []string
		if r.Status == 200 {
			reveals = c.reveals
		}
		p.noForeign(w, c.path, r, reveals...)
		if r.Status != c.status {
			p.errorf("%s: %s %s = %d, want %d: %.300s", w.name, c.method, c.path, r.Status, c.status, r.Body)
			continue
		}
		if c.matches != nil && r.Status == 200 {
			if got := p.bundle(w.name+" "+c.path, r).ids("match"); !tnEq(got, c.matches) {
				p.errorf("%s: %s = %v, want %v", w.name, c.path, got, c.matches)
			}
		}
	}
	// $long-waits pages: admin's next links replayed list only the waits the
	// role sees (a hospital: 403 as on the first page)
	next := "/fhir/ServiceRequest/$long-waits?state=all&_count=1"
	for i := 0; next != "" && i < 5; i++ {
		b := p.bundle("admin $long-waits page", e.do(t, "admin", "GET", next, ""))
		next = b.next()
		if next == "" {
			break
		}
		r := e.do(t, as, "GET", next, "")
		p.noForeign(w, "admin's $long-waits next link", r)
		if r.Status != by(200, 200, 403) {
			p.errorf("%s: admin's $long-waits next link = %d", w.name, r.Status)
		}
	}
	// $validate of a body at a hidden id answers as at an absent one
	vh := e.do(t, as, "POST", "/fhir/ServiceRequest/srBone/$validate", tnSR("srBone", "patBone", "orgHospOne"))
	va := e.do(t, as, "POST", "/fhir/ServiceRequest/neverWritten/$validate", tnSR("neverWritten", "patBone", "orgHospOne"))
	if vh.Status != va.Status || strings.ReplaceAll(string(vh.Body), "srBone", "X") != strings.ReplaceAll(string(va.Body), "neverWritten", "X") {
		p.errorf("%s: POST $validate at srBone %d %s, at an absent id %d %s", w.name, vh.Status, vh.Body, va.Status, va.Body)
	}
	// $everything is not served: a hidden Patient answers as an absent one
	hidden := e.do(t, as, "GET", "/fhir/Patient/patBone/$everything", "")
	absent := e.do(t, as, "GET", "/fhir/Patient/neverWritten/$everything", "")
	p.noForeign(w, "$everything", hidden, "patBone")
	if hidden.Status != absent.Status || hidden.Status < 400 || strings.ReplaceAll(string(hidden.Body), "patBone", "X") != strings.ReplaceAll(string(absent.Body), "neverWritten", "X") {
		p.errorf("%s: $everything of patBone %d %s, of an absent Patient %d %s", w.name, hidden.Status, hidden.Body, absent.Status, absent.Body)
	}
}

func (p *tnReport) fail(t *testing.T) {
	t.Helper()
	for _, s := range p.leaks {
		t.Error(s)
	}
	for _, s := range p.wrong {
		t.Error(s)
	}
}

// TestTenancyMatrixOverHTTP is every role × route × leak vector over the
// real binary with real tokens, with pseudonymised waits (the default) and
// without, and its negative control: admin's answers
// checked as if they were hospital 2's must be caught as leaks (foreign ids,
// BSNs and counts) and as wrong statuses.
func TestTenancyMatrixOverHTTP(t *testing.T) {
	e := startTenancy(t)
	for _, w := range tnRoles() {
		t.Run(w.name, func(t *testing.T) { e.matrix(t, w.name, w).fail(t) })
	}
	t.Run("not pseudonymised", func(t *testing.T) {
		e := startTenancy(t, "--pseudonymise=false")
		for _, w := range tnRolesOf(false) {
			t.Run(w.name, func(t *testing.T) { e.matrix(t, w.name, w).fail(t) })
		}
	})
	t.Run("negative control", func(t *testing.T) {
		p := e.matrix(t, "admin", tnRoleOf("hospital-2"))
		joined := strings.Join(p.leaks, "\n")
		for _, id := range []string{"patBone", "srBone", "covAone", "taskB", "BSN " + tnBSNB} {
			if !strings.Contains(joined, "leaks "+id) {
				t.Errorf("the checks miss a leak of %s in admin's answers", id)
			}
		}
		wrong := strings.Join(p.wrong, "\n")
		for _, s := range []string{"GET /fhir/Patient/patBone = 200, want 404", "Coverage?_summary=count", "/fhir/ServiceRequest?_total=accurate = [srAone srAtwo srBone] (total 3), want [srAtwo]", "$long-waits?state=all = 200, want 403"} {
			if !strings.Contains(wrong, s) {
				t.Errorf("the checks miss %q", s)
			}
		}
		if t.Failed() {
			t.Logf("leaks found:\n%s\nwrong:\n%s", joined, wrong)
		}
	})
}

// TestTenancyWritesOverHTTP: writes and transactions with real tokens; a
// foreign resource is missing to a write as to a read.
func TestTenancyWritesOverHTTP(t *testing.T) {
	e := startTenancy(t)
	tx := func(entries ...string) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
	}
	put := func(n int, typ, id, body string) string {
		return fmt.Sprintf(`{"fullUrl":"urn:uuid:7b0c7e4e-1111-4c1e-9a51-00000000000%d","resource":%s,"request":{"method":"PUT","url":"%s/%s"}}`, n, body, typ, id)
	}
	for _, c := range []struct {
		name, as, method, path, body string
		status                       int
	}{
		{"a hospital updates its own wait", "hospital-1", "PUT", "/fhir/ServiceRequest/srAone", tnSR("srAone", "patAone", "orgHospOne"), 200},
		{"a hospital cannot overwrite another's wait", "hospital-2", "PUT", "/fhir/ServiceRequest/srBone", tnSR("srBone", "patBone", "orgHospTwo"), 404},
		{"a hospital cannot delete another's wait", "hospital-2", "DELETE", "/fhir/ServiceRequest/srBone", "", 404},
		{"PATCH is not served, for a foreign wait as for any", "hospital-2", "PATCH", "/fhir/ServiceRequest/srBone", `[{"op":"replace","path":"/status","value":"revoked"}]`, 405},
		{"a hospital cannot change another's capacity", "hospital-2", "PUT", "/fhir/Schedule/schedOne", `{"resourceType":"Schedule","id":"schedOne","actor":[{"reference":"HealthcareService/hcsTwo"}]}`, 403},
		{"an insurer may not write waits", "insurer-A", "PUT", "/fhir/ServiceRequest/srAone", tnSR("srAone", "patAone", "orgHospOne"), 403},
		{"an insurer may not delete a Patient", "insurer-A", "DELETE", "/fhir/Patient/patAone", "", 403},
		{"an insurer cannot write another insurer's Coverage", "insurer-A", "PUT", "/fhir/Coverage/covForged", tnCov("covForged", "patAone", `{"reference":"Organization/orgInsB"}`), 403},
		{"an insurer cannot overwrite another insurer's Coverage", "insurer-A", "PUT", "/fhir/Coverage/covBone", tnCov("covBone", "patBone", `{"reference":"Organization/orgInsA"}`), 404},
		{"an insurer cannot take over another insurer's Task", "insurer-A", "PUT", "/fhir/Task/taskB", `{"resourceType":"Task","id":"taskB","status":"cancelled","intent":"order","for":{"reference":"Patient/patBone"}}`, 404},
		{"a transaction with one foreign entry fails whole", "hospital-2", "POST", "/fhir", tx(put(1, "ServiceRequest", "srTxOwn", tnSR("srTxOwn", "patAtwo", "orgHospTwo")), put(2, "ServiceRequest", "srBone", tnSR("srBone", "patBone", "orgHospOne"))), 404},
		{"an insurer's transaction writing a wait is refused", "insurer-B", "POST", "/fhir", tx(put(3, "ServiceRequest", "srTxIns", tnSR("srTxIns", "patBone", "orgHospOne"))), 403},
		{"a hospital's own transaction", "hospital-2", "POST", "/fhir", tx(put(4, "ServiceRequest", "srTxTwo", tnSR("srTxTwo", "patAtwo", "orgHospTwo"))), 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.method == "PATCH" {
				hdr = append(hdr, "Content-Type: application/json-patch+json")
			}
			r := e.do(t, c.as, c.method, c.path, c.body, hdr...)
			if r.Status != c.status {
				t.Fatalf("%s %s as %s = %d, want %d: %s", c.method, c.path, c.as, r.Status, c.status, r.Body)
			}
			if r.Status >= 400 && !strings.Contains(string(r.Body), `"resourceType":"OperationOutcome"`) {
				t.Fatalf("no OperationOutcome: %s", r.Body)
			}
			p := &tnReport{}
			p.noForeign(tnRoleOf(c.as), c.name, r, "srBone", "covBone", "taskB", "patBone", "patAone")
			for _, s := range p.leaks {
				t.Error(s)
			}
		})
	}
	// conditional writes resolve what the client sees: a match it may not
	// see neither blocks the write nor shows (no 409, no foreign id)
	byBSN := "identifier=" + tnBSN + "|" + tnBSNB
	r := e.do(t, "hospital-2", "POST", "/fhir/Patient", tnPat("x", tnBSNB, "Bakker"), "If-None-Exist: "+byBSN)
	p := &tnReport{}
	p.noForeign(tnRoleOf("hospital-2"), "conditional create", r, tnBSNB)
	if r.Status != 201 || len(p.leaks) > 0 {
		t.Errorf("hospital-2's conditional create over hospital-1's Patient: %d %v %s", r.Status, p.leaks, r.Body)
	}
	own := str(r.JSON(t)["id"])
	if r := e.do(t, "hospital-2", "POST", "/fhir/Patient", tnPat("x", tnBSNB, "Bakker"), "If-None-Exist: "+byBSN); r.Status != 200 || str(r.JSON(t)["id"]) != own {
		t.Errorf("the second conditional create does not find hospital-2's own Patient: %d %s", r.Status, r.Body)
	}
	if r := e.do(t, "hospital-2", "PUT", "/fhir/Patient?"+byBSN, strings.Replace(tnPat("x", tnBSNB, "Bakker-de Wit"), `"id":"x",`, "", 1)); r.Status != 200 || str(r.JSON(t)["id"]) != own {
		t.Errorf("hospital-2's conditional update: %d %s", r.Status, r.Body)
	}
	// a conditional reference by BSN finds the client's own Patient, though
	// another hospital has one with that BSN too
	r = e.do(t, "hospital-2", "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:7b0c7e4e-1111-4c1e-9a51-000000000010",`+
		`"resource":`+strings.Replace(tnSR("srTxRefTwo", "X", "orgHospTwo"), `"Patient/X"`, `"Patient?identifier=`+tnBSN+`|`+tnBSNA+`"`, 1)+`,"request":{"method":"PUT","url":"ServiceRequest/srTxRefTwo"}}]}`)
	if r.Status != 200 || strings.Contains(string(r.Body), "patAone") {
		t.Errorf("hospital-2's conditional reference by BSN: %d %s", r.Status, r.Body)
	}
	if r := e.do(t, "hospital-2", "GET", "/fhir/ServiceRequest/srTxRefTwo", ""); r.Status != 200 || !strings.Contains(string(r.Body), `"Patient/patAtwo"`) {
		t.Errorf("the conditional reference did not resolve to hospital-2's Patient: %d %s", r.Status, r.Body)
	}
	if r := e.do(t, "hospital-2", "DELETE", "/fhir/ServiceRequest?subject=Patient/patBone", ""); r.Status != 204 {
		t.Errorf("hospital-2's conditional delete over hospital-1's wait: %d %s", r.Status, r.Body)
	}
	r = e.do(t, "insurer-A", "POST", "/fhir/Coverage", tnCov("x", "patBone", `{"reference":"Organization/orgInsA"}`), "If-None-Exist: beneficiary=Patient/patBone")
	p = &tnReport{}
	p.noForeign(tnRoleOf("insurer-A"), "conditional create", r, "patBone")
	if r.Status != 201 || len(p.leaks) > 0 {
		t.Errorf("insurer-A's conditional create over insurer-B's Coverage: %d %v %s", r.Status, p.leaks, r.Body)
	}
	if r := e.do(t, "admin", "GET", "/fhir/Patient/patBone", ""); r.Status != 200 || !strings.Contains(string(r.Body), `"family":"Bakker"}`) {
		t.Errorf("patBone changed by hospital-2's conditional writes: %s", r.Body)
	}
	// nothing refused was written
	for _, id := range []string{"srTxOwn", "srTxIns"} {
		if r := e.do(t, "admin", "GET", "/fhir/ServiceRequest/"+id, ""); r.Status != 404 {
			t.Errorf("a refused transaction left %s behind: %d", id, r.Status)
		}
	}
	if r := e.do(t, "admin", "GET", "/fhir/ServiceRequest/srBone", ""); r.Status != 200 || !strings.Contains(string(r.Body), `"status":"active"`) || strings.Contains(string(r.Body), "orgHospTwo") {
		t.Errorf("srBone changed by a refused write: %s", r.Body)
	}
	if r := e.do(t, "hospital-2", "GET", "/fhir/ServiceRequest/srAone", ""); r.Status != 404 {
		t.Errorf("hospital-2 sees srAone after hospital-1's update: %d", r.Status)
	}
	if r := e.do(t, "hospital-1", "GET", "/fhir/ServiceRequest/srTxTwo", ""); r.Status != 404 {
		t.Errorf("hospital-1 sees hospital-2's transaction: %d", r.Status)
	}
}

// TestTenancyImportStatusIsOwnerScoped: an asynchronous $import's status
// URL answers only the client that started it (and admins); to every other
// client it is missing, with the text of a job that never was, and no
// counts in the body or the headers. A $import cannot overwrite another
// hospital's resource.
func TestTenancyImportStatusIsOwnerScoped(t *testing.T) {
	e := startTenancy(t)
	ndjson := tnSR("srImpOne", "patAone", "orgHospOne") + "\n" + tnSR("srImpTwo", "patBone", "orgHospOne") + "\n"
	r := e.do(t, "hospital-1", "POST", "/fhir/$import", ndjson, "Content-Type: application/fhir+ndjson", "Prefer: respond-async")
	expect(t, r, 202)
	loc := r.Header.Get("Content-Location")
	u, err := url.Parse(loc)
	if err != nil || !strings.Contains(u.Path, "/$import-status/") {
		t.Fatalf("Content-Location %q", loc)
	}
	job := u.Path[strings.LastIndex(u.Path, "/")+1:]
	waitFor(t, "the asynchronous import", 20*time.Second, func() bool {
		return e.do(t, "hospital-1", "GET", u.Path, "").Status == 200
	})
	never := "/fhir/$import-status/" + strings.Repeat("0", len(job))
	for _, as := range []string{"hospital-1", "admin", "hospital-2", "insurer-A", "insurer-B"} {
		r := e.do(t, as, "GET", u.Path, "")
		if as == "hospital-1" || as == "admin" {
			if r.Status != 200 || !strings.Contains(string(r.Body), `"count":2`) {
				t.Errorf("%s polls its job: %d %s", as, r.Status, r.Body)
			}
			continue
		}
		missing := e.do(t, as, "GET", never, "")
		if r.Status != 404 || strings.ReplaceAll(string(r.Body), job, "X") != strings.ReplaceAll(string(missing.Body), strings.Repeat("0", len(job)), "X") {
			t.Errorf("%s polls hospital-1's job: %d %s; a job that never was: %d %s", as, r.Status, r.Body, missing.Status, missing.Body)
		}
		if strings.Contains(string(r.Body), "count") || strings.Contains(string(r.Body), "written") || r.Header.Get("X-Progress") != "" {
			t.Errorf("%s sees hospital-1's counts: %v %s", as, r.Header, r.Body)
		}
	}
	// a bulk upload cannot overwrite another hospital's wait
	r = e.do(t, "hospital-2", "POST", "/fhir/$import", tnSR("srBone", "patBone", "orgHospTwo")+"\n", "Content-Type: application/fhir+ndjson")
	if strings.Contains(string(r.Body), "patBone") {
		t.Errorf("$import answer names a foreign resource's content: %s", r.Body)
	}
	if r := e.do(t, "admin", "GET", "/fhir/ServiceRequest/srBone", ""); !strings.Contains(string(r.Body), "orgHospOne") || strings.Contains(string(r.Body), "orgHospTwo") {
		t.Errorf("$import by hospital-2 changed srBone: %s", r.Body)
	}
	// the imported waits are hospital-1's
	if r := e.do(t, "hospital-2", "GET", "/fhir/ServiceRequest/srImpOne", ""); r.Status != 404 {
		t.Errorf("hospital-2 sees hospital-1's imported wait: %d", r.Status)
	}
	expect(t, e.do(t, "hospital-1", "GET", "/fhir/ServiceRequest/srImpOne", ""), 200)
}
