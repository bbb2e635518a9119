package tenancy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/gateway"
	"github.com/wachtwijzer/wachtwijzer/internal/principaltest"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
	"github.com/wachtwijzer/wachtwijzer/tenancy"
)

func TestMain(m *testing.M) { os.Exit(redistest.RunMain(m)) }

// The fixture: two hospitals, two insurers, one person (BSN 999911120)
// known at both hospitals and insured by 7119, one person (123456782) known
// at the first hospital and insured by 3332.
const (
	agbH1   = "06020502"
	agbH2   = "06010101"
	uzoviA  = "7119"
	uzoviB  = "3332"
	bsnA    = "999911120"
	bsnB    = "123456782"
	fixDate = "2026-11-25"
)

var now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type fixture struct {
	typ, id, owner, json string
}

func org(id, system, value, name string) string {
	return fmt.Sprintf(`{"resourceType":"Organization","id":%q,"identifier":[{"system":%q,"value":%q}],"name":%q}`, id, system, value, name)
}

func pat(id, bsn, family string) string {
	return fmt.Sprintf(`{"resourceType":"Patient","id":%q,"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":%q}],"name":[{"family":%q}],"address":[{"postalCode":"1012 AB"}]}`, id, bsn, family)
}

func sr(id, patient, performer string) string {
	return fmt.Sprintf(`{"resourceType":"ServiceRequest","id":%q,"status":"active","intent":"order","category":[{"coding":[{"system":"https://wachtwijzer.nl/fhir/CodeSystem/wait-kind","code":"outpatient"}]}],"code":{"text":"consult"},"subject":{"reference":"Patient/%s"},"authoredOn":"2026-09-01","performer":[{"reference":"Organization/%s"}],"performerType":{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"0305"}]}}`, id, patient, performer)
}

func fixtures() []fixture {
	return []fixture{
		{"Organization", "orgInsA", "", org("orgInsA", ww.SystemUZOVI, uzoviA, "Zorgverzekeraar A")},
		{"Organization", "orgInsB", "", org("orgInsB", ww.SystemUZOVI, uzoviB, "Zorgverzekeraar B")},
		{"Organization", "orgHospOne", agbH1, org("orgHospOne", ww.SystemAGB, agbH1, "Ziekenhuis Een")},
		{"Organization", "orgHospTwo", agbH2, org("orgHospTwo", ww.SystemAGB, agbH2, "Ziekenhuis Twee")},
		{"Patient", "patAone", agbH1, pat("patAone", bsnA, "Jansen")},
		{"Patient", "patAtwo", agbH2, pat("patAtwo", bsnA, "Jansen")},
		{"Patient", "patBone", agbH1, pat("patBone", bsnB, "Bakker")},
		{"Coverage", "covAone", uzoviA, `{"resourceType":"Coverage","id":"covAone","status":"active","beneficiary":{"reference":"Patient/patAone"},"payor":[{"reference":"Organization/orgInsA"}],"period":{"start":"2026-01-01","end":"2026-12-31"}}`},
		{"Coverage", "covBone", uzoviB, `{"resourceType":"Coverage","id":"covBone","status":"active","beneficiary":{"reference":"Patient/patBone"},"payor":[{"identifier":{"system":"http://fhir.nl/fhir/NamingSystem/uzovi","value":"3332"}}],"period":{"start":"2026-01-01"}}`},
		{"ServiceRequest", "srAone", agbH1, sr("srAone", "patAone", "orgHospOne")},
		{"ServiceRequest", "srAtwo", agbH2, sr("srAtwo", "patAtwo", "orgHospTwo")},
		{"ServiceRequest", "srBone", agbH1, sr("srBone", "patBone", "orgHospOne")},
		{"Appointment", "apptBone", agbH1, `{"resourceType":"Appointment","id":"apptBone","status":"booked","basedOn":[{"reference":"ServiceRequest/srBone"}],"start":"2026-12-20T09:00:00Z","end":"2026-12-20T09:15:00Z","participant":[{"actor":{"reference":"Patient/patBone"},"status":"accepted"}]}`},
		{"Schedule", "schedOne", agbH1, `{"resourceType":"Schedule","id":"schedOne","actor":[{"reference":"HealthcareService/hcsOne"}]}`},
	}
}

// who is a principal of the matrix and what it may see.
type who struct {
	name    string
	p       *ww.Principal
	visible map[string]bool // ids of patient-level fixtures it sees
}

var patientLevel = []string{"patAone", "patAtwo", "patBone", "covAone", "covBone", "srAone", "srAtwo", "srBone", "apptBone"}

func set(ids ...string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func principals() []who {
	return []who{
		{"admin", &ww.Principal{Role: ww.RoleAdmin, ClientID: "ops"}, set(patientLevel...)},
		{"hospital-1", &ww.Principal{Role: ww.RoleHospital, ClientID: "h1", Organization: agbH1}, set("patAone", "patBone", "srAone", "srBone", "apptBone")},
		{"hospital-2", &ww.Principal{Role: ww.RoleHospital, ClientID: "h2", Organization: agbH2}, set("patAtwo", "srAtwo")},
		{"insurer-A", &ww.Principal{Role: ww.RoleInsurer, ClientID: "zvA", Organization: uzoviA}, set("patAone", "patAtwo", "covAone", "srAone", "srAtwo")},
		{"insurer-B", &ww.Principal{Role: ww.RoleInsurer, ClientID: "zvB", Organization: uzoviB}, set("patBone", "covBone", "srBone", "apptBone")},
		{"anonymous", &ww.Principal{Role: ww.RoleAnonymous}, set()},
	}
}

type env struct {
	srv   *httptest.Server
	store *redisstore.Store
}

// asPrincipal is the test-only stand-in for authentication: the principal
// named in X-Test-Principal.
func asPrincipal(h http.Handler) http.Handler {
	byName := map[string]*ww.Principal{}
	for _, w := range principals() {
		byName[w.name] = w.p
	}
	return principaltest.Handler(h, byName)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	clock := &ww.FixedClock{T: now}
	pol := tenancy.New(tenancy.Options{Clock: clock})
	st, err := redisstore.Open(ctx, redisstore.Options{Client: redistest.Shared(t).Client(t), Prefix: redistest.Prefix(t), Clock: clock, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	pol.Bind(st)
	for _, f := range fixtures() {
		if _, err := st.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpUpdate, Type: f.typ, ID: f.id, JSON: []byte(f.json),
			Provenance: ww.Provenance{Owner: f.owner, Channel: ww.ChannelREST}}}}); err != nil {
			t.Fatalf("fixture %s/%s: %v", f.typ, f.id, err)
		}
	}
	gw, err := gateway.New(gateway.Options{Store: st, DeploymentKey: st.DeploymentKey(), Clock: clock, BaseURL: "http://gw.test/fhir", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(asPrincipal(gw.Handler()))
	t.Cleanup(srv.Close)
	return &env{srv: srv, store: st}
}

type reply struct {
	status int
	body   string
	header http.Header
}

func (e *env) do(t *testing.T, as, method, path, body string) reply {
	t.Helper()
	path = strings.TrimPrefix(path, "http://gw.test")
	s, b, h := principaltest.Do(t, e.srv.URL, as, method, path, body)
	return reply{s, b, h}
}

// noForeign fails when a patient-level id the principal may not see, or
// its BSN, appears in the body or the headers — unless the request itself
// named it (what: the request, echoed in self links and not-found messages).
func noForeign(t *testing.T, w who, what string, r reply) {
	t.Helper()
	hdr := fmt.Sprint(r.header)
	for _, id := range patientLevel {
		if strings.Contains(what, id) {
			continue
		}
		if !w.visible[id] && (strings.Contains(r.body, id) || strings.Contains(hdr, id)) {
			t.Errorf("%s: %s leaks %s: %d %s", w.name, what, id, r.status, r.body)
		}
	}
	for bsn, owners := range map[string][]string{bsnA: {"patAone", "patAtwo"}, bsnB: {"patBone"}} {
		seen := false
		for _, o := range owners {
			seen = seen || w.visible[o]
		}
		if !seen && !strings.Contains(what, bsn) && strings.Contains(r.body, bsn) {
			t.Errorf("%s: %s leaks a BSN: %s", w.name, what, r.body)
		}
	}
}

type bundle struct {
	Total *int `json:"total"`
	Link  []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		Resource struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		} `json:"resource"`
		Search *struct {
			Mode string `json:"mode"`
		} `json:"search"`
		Response *struct {
			Status string `json:"status"`
		} `json:"response"`
	} `json:"entry"`
}

func parseBundle(t *testing.T, r reply) bundle {
	t.Helper()
	var b bundle
	if err := json.Unmarshal([]byte(r.body), &b); err != nil {
		t.Fatalf("not a Bundle: %d %s", r.status, r.body)
	}
	return b
}

func (b bundle) ids(mode string) []string {
	var out []string
	for _, e := range b.Entry {
		if mode == "" || e.Search != nil && e.Search.Mode == mode {
			out = append(out, e.Resource.ID)
		}
	}
	sort.Strings(out)
	return out
}

func visibleOf(w who, ids ...string) []string {
	var out []string
	for _, id := range ids {
		if w.visible[id] {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func eq(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

var byType = map[string][]string{
	"Patient":        {"patAone", "patAtwo", "patBone"},
	"Coverage":       {"covAone", "covBone"},
	"ServiceRequest": {"srAone", "srAtwo", "srBone"},
	"Appointment":    {"apptBone"},
}

func TestTenancyMatrix(t *testing.T) {
	e := newEnv(t)
	for _, w := range principals() {
		t.Run(w.name, func(t *testing.T) {
			for typ, ids := range byType {
				absent := e.do(t, w.name, "GET", "/fhir/"+typ+"/neverWritten", "")
				if absent.status != 404 {
					t.Fatalf("absent %s: %d", typ, absent.status)
				}
				for _, id := range ids {
					for _, route := range []string{"/fhir/" + typ + "/" + id, "/fhir/" + typ + "/" + id + "/_history/1", "/fhir/" + typ + "/" + id + "/_history", "/fhir/" + typ + "/" + id + "/_history?_since=2020-01-01"} {
						r := e.do(t, w.name, "GET", route, "")
						if w.visible[id] {
							if r.status != 200 {
								t.Errorf("%s: GET %s = %d, want 200: %s", w.name, route, r.status, r.body)
							}
							continue
						}
						noForeign(t, w, "GET "+route, r)
						if r.status != 404 {
							t.Errorf("%s: GET %s = %d, want 404: %s", w.name, route, r.status, r.body)
						}
					}
					// forbidden reads like missing: the same body as an absent id
					r := e.do(t, w.name, "GET", "/fhir/"+typ+"/"+id, "")
					if !w.visible[id] && strings.ReplaceAll(r.body, id, "X") != strings.ReplaceAll(absent.body, "neverWritten", "X") {
						t.Errorf("%s: hidden %s/%s answers %s, an absent one %s", w.name, typ, id, r.body, absent.body)
					}
				}
				want := visibleOf(w, ids...)
				// search, _total, _summary=count, paging
				r := e.do(t, w.name, "GET", "/fhir/"+typ+"?_total=accurate", "")
				noForeign(t, w, "search "+typ, r)
				b := parseBundle(t, r)
				if !eq(b.ids("match"), want) || b.Total == nil || *b.Total != len(want) {
					t.Errorf("%s: search %s = %v (total %v), want %v", w.name, typ, b.ids("match"), b.Total, want)
				}
				r = e.do(t, w.name, "GET", "/fhir/"+typ+"?_summary=count", "")
				if b := parseBundle(t, r); b.Total == nil || *b.Total != len(want) {
					t.Errorf("%s: %s?_summary=count = %s, want %d", w.name, typ, r.body, len(want))
				}
				var paged []string
				next := "/fhir/" + typ + "?_count=1"
				for i := 0; next != "" && i < 10; i++ {
					r := e.do(t, w.name, "GET", next, "")
					noForeign(t, w, "page of "+typ, r)
					b := parseBundle(t, r)
					paged = append(paged, b.ids("match")...)
					next = ""
					for _, l := range b.Link {
						if l.Relation == "next" {
							next = l.URL
						}
					}
				}
				sort.Strings(paged)
				if !eq(paged, want) {
					t.Errorf("%s: paging %s = %v, want %v", w.name, typ, paged, want)
				}
				// type history
				r = e.do(t, w.name, "GET", "/fhir/"+typ+"/_history", "")
				noForeign(t, w, typ+" history", r)
				if got := parseBundle(t, r).ids(""); !eq(got, want) {
					t.Errorf("%s: %s/_history = %v, want %v", w.name, typ, got, want)
				}
			}
			// system history
			r := e.do(t, w.name, "GET", "/fhir/_history?_count=100", "")
			noForeign(t, w, "system history", r)
			if r.status != 200 {
				t.Errorf("%s: /_history = %d", w.name, r.status)
			}
			// _include and _revinclude
			r = e.do(t, w.name, "GET", "/fhir/ServiceRequest?_include=ServiceRequest:subject&_include=ServiceRequest:performer", "")
			noForeign(t, w, "_include", r)
			if got, want := parseBundle(t, r).ids("include"), visibleOf(w, "patAone", "patAtwo", "patBone"); len(visibleOf(w, "srAone", "srAtwo", "srBone")) > 0 && !strings.Contains(r.body, "orgHosp") || !containsAll(got, want, w, "srAone", "srAtwo", "srBone") {
				t.Errorf("%s: _include = %v: %s", w.name, got, r.body)
			}
			r = e.do(t, w.name, "GET", "/fhir/Patient?_revinclude=ServiceRequest:subject&_revinclude=Coverage:beneficiary&_revinclude=Appointment:patient", "")
			noForeign(t, w, "_revinclude", r)
			r = e.do(t, w.name, "GET", "/fhir/Organization?_revinclude=ServiceRequest:performer", "")
			noForeign(t, w, "_revinclude on a shared type", r)
			if got := parseBundle(t, r).ids("include"); !eq(got, visibleOf(w, "srAone", "srAtwo", "srBone")) {
				t.Errorf("%s: Organization _revinclude = %v", w.name, got)
			}
			// chaining and _has, also from a shared type
			for _, q := range []string{
				"/fhir/ServiceRequest?subject:Patient.identifier=" + ww.SystemBSN + "|" + bsnB,
				"/fhir/ServiceRequest?subject:Patient.identifier=" + ww.SystemBSN + "|" + bsnA,
				"/fhir/Organization?_has:ServiceRequest:performer:patient=Patient/patAone",
				"/fhir/Organization?_has:ServiceRequest:performer:patient.identifier=" + ww.SystemBSN + "|" + bsnB,
				"/fhir/Organization?_has:ServiceRequest:performer:_has:Appointment:based-on:status=booked",
				"/fhir/Patient?_has:Coverage:beneficiary:status=active&_total=accurate",
			} {
				r := e.do(t, w.name, "GET", q, "")
				noForeign(t, w, q, r)
				if r.status != 200 {
					t.Errorf("%s: %s = %d %s", w.name, q, r.status, r.body)
				}
			}
			// _has from a shared type finds only what the principal may see
			r = e.do(t, w.name, "GET", "/fhir/Organization?_has:ServiceRequest:performer:patient.identifier="+ww.SystemBSN+"|"+bsnB, "")
			if got, want := parseBundle(t, r).ids("match"), len(visibleOf(w, "srBone")); len(got) != want {
				t.Errorf("%s: _has through srBone = %v, want %d", w.name, got, want)
			}
			// batch: each entry as its own request
			batch := `{"resourceType":"Bundle","type":"batch","entry":[` +
				`{"request":{"method":"GET","url":"Patient/patAone"}},{"request":{"method":"GET","url":"Patient/patBone"}},` +
				`{"request":{"method":"GET","url":"ServiceRequest?_total=accurate"}},{"request":{"method":"GET","url":"Coverage/covBone/_history"}}]}`
			r = e.do(t, w.name, "POST", "/fhir", batch)
			noForeign(t, w, "batch "+batch, r)
			if r.status != 200 {
				t.Errorf("%s: batch = %d %s", w.name, r.status, r.body)
			}
		})
	}
}

func containsAll(got, want []string, w who, srs ...string) bool {
	// the included Patients are the visible subjects of visible waits
	subject := map[string]string{"srAone": "patAone", "srAtwo": "patAtwo", "srBone": "patBone"}
	var exp []string
	for _, s := range srs {
		if w.visible[s] && w.visible[subject[s]] {
			exp = append(exp, subject[s])
		}
	}
	sort.Strings(exp)
	var gotPat []string
	for _, g := range got {
		if strings.HasPrefix(g, "pat") {
			gotPat = append(gotPat, g)
		}
	}
	_ = want
	return eq(gotPat, exp)
}

func TestTenancyWrites(t *testing.T) {
	e := newEnv(t)
	srOf := func(id, patient, performer string) string { return sr(id, patient, performer) }
	cov := func(id, payor string) string {
		return `{"resourceType":"Coverage","id":"` + id + `","status":"active","beneficiary":{"reference":"Patient/patAone"},"payor":[` + payor + `]}`
	}
	for _, c := range []struct {
		name, as, method, path, body string
		status                       int
	}{
		{"a hospital updates its own wait", "hospital-1", "PUT", "/fhir/ServiceRequest/srAone", srOf("srAone", "patAone", "orgHospOne"), 200},
		{"a hospital cannot overwrite another hospital's wait (it looks missing)", "hospital-2", "PUT", "/fhir/ServiceRequest/srAone", srOf("srAone", "patAone", "orgHospOne"), 404},
		{"a hospital cannot delete another hospital's wait", "hospital-2", "DELETE", "/fhir/ServiceRequest/srBone", "", 404},
		{"a hospital cannot change another's capacity", "hospital-2", "PUT", "/fhir/Schedule/schedOne", `{"resourceType":"Schedule","id":"schedOne","actor":[{"reference":"HealthcareService/hcsTwo"}]}`, 403},
		{"a hospital creates a new wait of its own", "hospital-2", "PUT", "/fhir/ServiceRequest/srNewTwo", srOf("srNewTwo", "patAtwo", "orgHospTwo"), 201},
		{"an insurer may not write waits", "insurer-A", "PUT", "/fhir/ServiceRequest/srAone", srOf("srAone", "patAone", "orgHospOne"), 403},
		{"an insurer may not delete a Patient", "insurer-A", "DELETE", "/fhir/Patient/patAone", "", 403},
		{"an insurer writes its own Coverage", "insurer-A", "PUT", "/fhir/Coverage/covAnew", cov("covAnew", `{"reference":"Organization/orgInsA"}`), 201},
		{"an insurer writes its own Coverage by UZOVI", "insurer-A", "PUT", "/fhir/Coverage/covAuz", cov("covAuz", `{"identifier":{"system":"http://fhir.nl/fhir/NamingSystem/uzovi","value":"7119"}}`), 201},
		{"an insurer cannot write another insurer's Coverage", "insurer-A", "PUT", "/fhir/Coverage/covForged", cov("covForged", `{"reference":"Organization/orgInsB"}`), 403},
		{"an insurer cannot overwrite another insurer's Coverage (it looks missing)", "insurer-A", "PUT", "/fhir/Coverage/covBone", cov("covBone", `{"reference":"Organization/orgInsA"}`), 404},
		{"an insurer writes its own Task", "insurer-B", "PUT", "/fhir/Task/taskB", `{"resourceType":"Task","id":"taskB","status":"requested","intent":"order","for":{"reference":"Patient/patBone"}}`, 201},
		{"anonymous cannot write", "anonymous", "PUT", "/fhir/Schedule/schedAnon", `{"resourceType":"Schedule","id":"schedAnon","actor":[{"reference":"HealthcareService/hcsTwo"}]}`, 403},
		{"a transaction with one foreign entry fails whole", "hospital-2", "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[` +
			`{"fullUrl":"urn:uuid:7b0c7e4e-1111-4c1e-9a51-000000000001","resource":` + srOf("srTxOwn", "patAtwo", "orgHospTwo") + `,"request":{"method":"PUT","url":"ServiceRequest/srTxOwn"}},` +
			`{"fullUrl":"urn:uuid:7b0c7e4e-1111-4c1e-9a51-000000000002","resource":` + srOf("srBone", "patBone", "orgHospOne") + `,"request":{"method":"PUT","url":"ServiceRequest/srBone"}}]}`, 404},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, c.as, c.method, c.path, c.body)
			if r.status != c.status {
				t.Fatalf("%s %s as %s = %d, want %d: %s", c.method, c.path, c.as, r.status, c.status, r.body)
			}
			if r.status >= 400 && !strings.Contains(r.body, `"resourceType":"OperationOutcome"`) {
				t.Fatalf("no OperationOutcome: %s", r.body)
			}
		})
	}
	// $import: a hospital cannot overwrite another's wait through a bulk upload
	req, _ := http.NewRequest("POST", e.srv.URL+"/fhir/$import", strings.NewReader(sr("srBone", "patBone", "orgHospTwo")+"\n"))
	req.Header.Set("X-Test-Principal", "hospital-2")
	req.Header.Set("Content-Type", "application/fhir+ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "patBone") {
		t.Errorf("$import answer names a foreign resource's content: %s", body)
	}
	if r := e.do(t, "admin", "GET", "/fhir/ServiceRequest/srBone", ""); !strings.Contains(r.body, "orgHospOne") || strings.Contains(r.body, "orgHospTwo") {
		t.Fatalf("$import by hospital-2 changed srBone: %d %s", resp.StatusCode, r.body)
	}
	// an asynchronous $import's status is its starter's (and admins'):
	// to anyone else it is missing, like a job that never was
	req, _ = http.NewRequest("POST", e.srv.URL+"/fhir/$import", strings.NewReader(sr("srAsyncTwo", "patAtwo", "orgHospTwo")+"\n"))
	req.Header.Set("X-Test-Principal", "hospital-2")
	req.Header.Set("Content-Type", "application/fhir+ndjson")
	req.Header.Set("Prefer", "respond-async")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := strings.TrimPrefix(resp.Header.Get("Content-Location"), "http://gw.test")
	if resp.StatusCode != 202 || !strings.HasPrefix(loc, "/fhir/$import-status/") {
		t.Fatalf("async $import: %d %q", resp.StatusCode, loc)
	}
	for deadline := time.Now().Add(10 * time.Second); e.do(t, "hospital-2", "GET", loc, "").status != 200; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the asynchronous $import did not finish")
		}
	}
	job := strings.TrimPrefix(loc, "/fhir/$import-status/")
	never := e.do(t, "hospital-1", "GET", "/fhir/$import-status/neverStarted", "")
	for _, as := range []string{"hospital-1", "insurer-A", "anonymous", "admin"} {
		r := e.do(t, as, "GET", loc, "")
		if as == "admin" {
			if r.status != 200 {
				t.Errorf("admin polls hospital-2's import: %d %s", r.status, r.body)
			}
			continue
		}
		if r.status != 404 || strings.ReplaceAll(r.body, job, "X") != strings.ReplaceAll(never.body, "neverStarted", "X") || r.header.Get("X-Progress") != "" {
			t.Errorf("%s polls hospital-2's import: %d %s (a job that never was: %s)", as, r.status, r.body, never.body)
		}
	}
	// conditional writes resolve what the principal sees: another
	// hospital's Patient with the same BSN neither blocks a conditional
	// create nor shows through a conflict
	cond := func(as, method, path, ifNoneExist, body string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		req.Header.Set("X-Test-Principal", as)
		req.Header.Set("Content-Type", "application/fhir+json")
		if ifNoneExist != "" {
			req.Header.Set("If-None-Exist", ifNoneExist)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b), resp.Header.Get("Location")
	}
	byBSN := "identifier=" + ww.SystemBSN + "|" + bsnB
	st, created, loc := cond("hospital-2", "POST", "/fhir/Patient", byBSN, pat("x", bsnB, "Bakker"))
	if st != 201 || strings.Contains(loc, "patBone") || strings.Contains(created, "patBone") {
		t.Fatalf("hospital-2's conditional create over hospital-1's Patient: %d %s %s", st, loc, created)
	}
	own := strings.Split(strings.TrimPrefix(loc, "http://gw.test/fhir/Patient/"), "/")[0]
	if st, body, _ := cond("hospital-2", "POST", "/fhir/Patient", byBSN, pat("x", bsnB, "Bakker")); st != 200 || !strings.Contains(body, own) {
		t.Fatalf("hospital-2's second conditional create does not find its own Patient %s: %d %s", own, st, body)
	}
	if st, body, _ := cond("hospital-2", "PUT", "/fhir/Patient?"+byBSN, "", strings.Replace(pat("x", bsnB, "Bakker-de Wit"), `"id":"x",`, "", 1)); st != 200 || !strings.Contains(body, own) {
		t.Fatalf("hospital-2's conditional update: %d %s", st, body)
	}
	if st, body, _ := cond("insurer-A", "POST", "/fhir/Coverage", "beneficiary=Patient/patBone", `{"resourceType":"Coverage","status":"active","beneficiary":{"reference":"Patient/patBone"},"payor":[{"reference":"Organization/orgInsA"}]}`); st != 201 || strings.Contains(body, "covBone") {
		t.Fatalf("insurer-A's conditional create over insurer-B's Coverage: %d %s", st, body)
	}
	if r := e.do(t, "admin", "GET", "/fhir/Patient/patBone", ""); !strings.Contains(r.body, `"family":"Bakker"}`) || r.status != 200 {
		t.Fatalf("patBone changed by hospital-2's conditional writes: %s", r.body)
	}
	// the refused transaction wrote nothing
	if r := e.do(t, "admin", "GET", "/fhir/ServiceRequest/srTxOwn", ""); r.status != 404 {
		t.Fatalf("a refused transaction left srTxOwn behind: %d", r.status)
	}
	// the write by hospital-1 kept it the owner: hospital-2 still cannot see it
	if r := e.do(t, "hospital-2", "GET", "/fhir/ServiceRequest/srAone", ""); r.status != 404 {
		t.Fatalf("hospital-2 sees srAone after hospital-1's update: %d", r.status)
	}
	// a new Coverage makes a member at once (the member cache follows writes)
	if r := e.do(t, "insurer-B", "PUT", "/fhir/Coverage/covBtwo", `{"resourceType":"Coverage","id":"covBtwo","status":"active","beneficiary":{"reference":"Patient/patAtwo"},"payor":[{"reference":"Organization/orgInsB"}]}`); r.status != 201 {
		t.Fatalf("covBtwo: %d %s", r.status, r.body)
	}
	if r := e.do(t, "insurer-B", "GET", "/fhir/ServiceRequest/srAone", ""); r.status != 200 {
		t.Fatalf("insurer-B does not see the wait of its new member: %d %s", r.status, r.body)
	}
}

func TestTenancyOperations(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		as, path string
		status   int
	}{
		{"insurer-A", "/fhir/ServiceRequest/$long-waits?insurer=" + uzoviB, 403},
		{"insurer-A", "/fhir/ServiceRequest/$long-waits?state=all", 200},
		{"insurer-B", "/fhir/ServiceRequest/$long-waits?state=all&insurer=" + uzoviB, 200},
		{"hospital-1", "/fhir/ServiceRequest/$long-waits?state=all", 403},
		{"anonymous", "/fhir/ServiceRequest/$long-waits?state=all", 403},
		{"admin", "/fhir/ServiceRequest/$long-waits?state=all", 200},
		{"insurer-A", "/fhir/Task/$mediation-report", 200},
		{"insurer-A", "/fhir/Task/$mediation-report?insurer=" + uzoviB, 403},
		{"hospital-1", "/fhir/Task/$mediation-report", 403},
		{"insurer-A", "/fhir/MeasureReport/$regional-capacity?insurer=" + uzoviB, 403},
		{"insurer-A", "/fhir/MeasureReport/$regional-capacity", 200},
		{"hospital-1", "/fhir/MeasureReport/$regional-capacity?insurer=" + uzoviA, 403},
		{"hospital-1", "/fhir/MeasureReport/$regional-capacity", 200},
		{"insurer-A", "/fhir/ServiceRequest/srBone/$mediation-options", 404},
		{"hospital-2", "/fhir/ServiceRequest/srBone/$mediation-options", 404},
		// past the tenancy check: the fixture's home has no geolocation
		{"insurer-B", "/fhir/ServiceRequest/srBone/$mediation-options", 422},
		{"insurer-A", "/fhir/Slot/$availability?specialty=0305", 200},
		{"hospital-2", "/fhir/ServiceRequest/srBone/$validate", 404},
		{"insurer-A", "/fhir/ServiceRequest/srBone/$validate", 404},
		{"insurer-B", "/fhir/ServiceRequest/srBone/$validate", 200},
	} {
		w := whoOf(c.as)
		r := e.do(t, c.as, "GET", c.path, "")
		if r.status != c.status {
			t.Errorf("%s GET %s = %d, want %d: %s", c.as, c.path, r.status, c.status, r.body)
		}
		noForeign(t, w, c.path, r)
	}
	// $long-waits lists exactly the insurer's members' waits
	for _, c := range []struct {
		as   string
		want []string
	}{{"insurer-A", []string{"srAone", "srAtwo"}}, {"insurer-B", []string{"srBone"}}} {
		r := e.do(t, c.as, "GET", "/fhir/ServiceRequest/$long-waits?state=all", "")
		if got := parseBundle(t, r).ids("match"); !eq(got, c.want) {
			t.Errorf("%s $long-waits = %v, want %v: %s", c.as, got, c.want, r.body)
		}
	}
}

func whoOf(name string) who {
	for _, w := range principals() {
		if w.name == name {
			return w
		}
	}
	panic(name)
}
