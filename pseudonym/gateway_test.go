package pseudonym_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/audit"
	"github.com/wachtwijzer/wachtwijzer/gateway"
	"github.com/wachtwijzer/wachtwijzer/internal/principaltest"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/pseudonym"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
	"github.com/wachtwijzer/wachtwijzer/tenancy"
)

func TestMain(m *testing.M) { os.Exit(redistest.RunMain(m)) }

var principals = map[string]*ww.Principal{
	"insurer": {Role: ww.RoleInsurer, ClientID: "zvA", Organization: "7119"},
	"other":   {Role: ww.RoleInsurer, ClientID: "zvB", Organization: "3332"},
	"admin":   {Role: ww.RoleAdmin, ClientID: "ops"},
}

type env struct {
	srv   *httptest.Server
	store *redisstore.Store
	keys  *pseudonym.Keys
	log   *audit.Log
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	clock := &ww.FixedClock{T: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	pol := tenancy.New(tenancy.Options{Clock: clock, HidePatients: true})
	st, err := redisstore.Open(ctx, redisstore.Options{Client: redistest.Shared(t).Client(t), Prefix: redistest.Prefix(t), Clock: clock, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	pol.Bind(st)
	keys := pseudonym.Derived(st.DeploymentKey())
	al := audit.New(st, clock)
	gw, err := gateway.New(gateway.Options{Store: st, DeploymentKey: st.DeploymentKey(), Clock: clock, BaseURL: "http://gw.test/fhir",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Audit: al, Pseudonyms: keys})
	if err != nil {
		t.Fatal(err)
	}
	type fix struct{ Type, ID, JSON, Owner string }
	for _, w := range []fix{
		{Type: "Organization", ID: "orgA", JSON: `{"resourceType":"Organization","id":"orgA","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/uzovi","value":"7119"}]}`},
		{Type: "Organization", ID: "orgB", JSON: `{"resourceType":"Organization","id":"orgB","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/uzovi","value":"3332"}]}`},
		{Type: "Patient", ID: "patOne", JSON: `{"resourceType":"Patient","id":"patOne","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}],"name":[{"family":"Vermeulen"}],"address":[{"use":"home","postalCode":"6525 GA"}]}`, Owner: "06020502"},
		{Type: "Patient", ID: "patOneB", JSON: `{"resourceType":"Patient","id":"patOneB","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}],"name":[{"family":"Vermeulen"}]}`, Owner: "06010101"},
		{Type: "Coverage", ID: "covOne", JSON: `{"resourceType":"Coverage","id":"covOne","status":"active","beneficiary":{"reference":"Patient/patOne"},"payor":[{"reference":"Organization/orgA"}]}`, Owner: "7119"},
		{Type: "Coverage", ID: "covOther", JSON: `{"resourceType":"Coverage","id":"covOther","status":"active","beneficiary":{"reference":"Patient/patOne"},"payor":[{"reference":"Organization/orgB"}]}`, Owner: "3332"},
		{Type: "ServiceRequest", ID: "srOne", JSON: `{"resourceType":"ServiceRequest","id":"srOne","status":"active","intent":"order","subject":{"reference":"Patient/patOne"},"authoredOn":"2026-09-01"}`, Owner: "06020502"},
	} {
		if _, err := st.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpUpdate, Type: w.Type, ID: w.ID, JSON: []byte(w.JSON), Provenance: ww.Provenance{Owner: w.Owner}}}}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(principaltest.Handler(gw.Handler(), principals))
	t.Cleanup(srv.Close)
	return &env{srv, st, keys, al}
}

func (e *env) do(t *testing.T, as, method, path, body string) (int, string) {
	t.Helper()
	s, b, _ := principaltest.Do(t, e.srv.URL, as, method, path, body)
	return s, b
}

func TestInsurerSeesPseudonymisedWaits(t *testing.T) {
	e := newEnv(t)
	want, _ := e.keys.Pseudonym("7119", "999911120")
	other, _ := e.keys.Pseudonym("3332", "999911120")
	for _, path := range []string{
		"/fhir/ServiceRequest/srOne",
		"/fhir/ServiceRequest?_include=ServiceRequest:subject",
		"/fhir/ServiceRequest/srOne/_history",
	} {
		s, b := e.do(t, "insurer", "GET", path, "")
		if s != 200 {
			t.Fatalf("%s: %d %s", path, s, b)
		}
		for _, bad := range []string{"patOne", "999911120", "Vermeulen", `"resourceType":"Patient"`, other} {
			if strings.Contains(b, bad) {
				t.Errorf("%s shows the insurer %s: %s", path, bad, b)
			}
		}
		for _, good := range []string{`"system":"https://wachtwijzer.nl/fhir/NamingSystem/member-pseudonym/7119","value":"` + want + `"`,
			`{"url":"https://wachtwijzer.nl/fhir/StructureDefinition/member-pc4","valueString":"6525"}`} {
			if !strings.Contains(b, good) {
				t.Errorf("%s lacks %s: %s", path, good, b)
			}
		}
	}
	// the other insurer of the same person gets another pseudonym
	if s, b := e.do(t, "other", "GET", "/fhir/ServiceRequest/srOne", ""); s != 200 || !strings.Contains(b, other) || strings.Contains(b, want) {
		t.Errorf("insurer 3332: %d %s", s, b)
	}
	// no Patient at all for a pseudonymised insurer, not even by BSN
	if s, _ := e.do(t, "insurer", "GET", "/fhir/Patient/patOne", ""); s != 404 {
		t.Errorf("Patient read: %d", s)
	}
	if s, b := e.do(t, "insurer", "GET", "/fhir/ServiceRequest?subject:Patient.identifier=http://fhir.nl/fhir/NamingSystem/bsn|999911120&_total=accurate", ""); s != 200 || !strings.Contains(b, `"total":0`) {
		t.Errorf("a chain through the BSN: %d %s", s, b)
	}
	// admins see the real subject
	if _, b := e.do(t, "admin", "GET", "/fhir/ServiceRequest/srOne", ""); !strings.Contains(b, "Patient/patOne") {
		t.Errorf("admin: %s", b)
	}
}

func TestReidentify(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	path := "/fhir/ServiceRequest/srOne/$reidentify"
	if s, b := e.do(t, "insurer", "GET", path, ""); s != 403 || !strings.Contains(b, "stays pseudonymised") {
		t.Fatalf("without a ground: %d %s", s, b)
	}
	if s, _ := e.do(t, "insurer", "GET", "/fhir/ServiceRequest/nope/$reidentify", ""); s != 404 {
		t.Fatalf("an unknown wait: %d", s)
	}
	// a Consent for another insurer is no ground
	consent := func(id, org string) string {
		return `{"resourceType":"Consent","id":"` + id + `","status":"active","scope":{"coding":[{"system":"https://wachtwijzer.nl/fhir/CodeSystem/task-code","code":"mediation"}]},"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"patient":{"reference":"Patient/patOneB"},"organization":[{"reference":"Organization/` + org + `"}]}`
	}
	if _, err := e.store.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpUpdate, Type: "Consent", ID: "consB", JSON: []byte(consent("consB", "orgB"))}}}); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.do(t, "insurer", "GET", path, ""); s != 403 {
		t.Fatalf("with another insurer's Consent: %d", s)
	}
	if _, err := e.store.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpUpdate, Type: "Consent", ID: "consA", JSON: []byte(consent("consA", "orgA"))}}}); err != nil {
		t.Fatal(err)
	}
	s, b := e.do(t, "insurer", "GET", path, "")
	if s != 200 || !strings.Contains(b, `"id":"patOne"`) || !strings.Contains(b, `"id":"patOneB"`) || !strings.Contains(b, "999911120") {
		t.Fatalf("with a Consent: %d %s", s, b)
	}
	// the ground is in the audit log, with both Patients and no BSN
	var last audit.Entry
	if err := e.log.Each(ctx, func(en audit.Entry) error { last = en; return nil }); err != nil {
		t.Fatal(err)
	}
	ev := string(last.Event)
	for _, want := range []string{"Consent/consA", `"patients":["patOne","patOneB"]`, `"operation":"$reidentify"`} {
		if !strings.Contains(ev, want) {
			t.Errorf("audit event lacks %s: %s", want, ev)
		}
	}
	if strings.Contains(ev, "999911120") {
		t.Errorf("a BSN in the audit log: %s", ev)
	}
	// an open mediation Task of the insurer is a ground too
	if _, err := e.store.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpDelete, Type: "Consent", ID: "consA"},
		{Op: ww.OpUpdate, Type: "Task", ID: "taskA", Provenance: ww.Provenance{Owner: "7119"}, JSON: []byte(`{"resourceType":"Task","id":"taskA","status":"requested","intent":"order","code":{"coding":[{"system":"https://wachtwijzer.nl/fhir/CodeSystem/task-code","code":"mediation"}]},"for":{"reference":"Patient/patOne"},"owner":{"reference":"Organization/orgA"}}`)}}}); err != nil {
		t.Fatal(err)
	}
	if s, b := e.do(t, "insurer", "GET", path, ""); s != 200 {
		t.Fatalf("with an open mediation Task: %d %s", s, b)
	}
	// the other insurer's own Consent (consB) is its ground; without it, none
	if s, _ := e.do(t, "other", "GET", path, ""); s != 200 {
		t.Fatalf("the other insurer with its Consent: %d", s)
	}
	if _, err := e.store.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpDelete, Type: "Consent", ID: "consB"}}}); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.do(t, "other", "GET", path, ""); s != 403 {
		t.Fatalf("the other insurer without a ground: %d", s)
	}
}
