package audit_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/audit"
	"github.com/wachtwijzer/wachtwijzer/gateway"
	"github.com/wachtwijzer/wachtwijzer/internal/principaltest"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
	"github.com/wachtwijzer/wachtwijzer/tenancy"
)

var testPrincipals = map[string]*ww.Principal{
	"admin":   {Role: ww.RoleAdmin, ClientID: "ops"},
	"insurer": {Role: ww.RoleInsurer, ClientID: "zvA", Organization: "7119"},
	"insB":    {Role: ww.RoleInsurer, ClientID: "zvB", Organization: "3332"},
}

func withPrincipal(h http.Handler) http.Handler { return principaltest.Handler(h, testPrincipals) }

// gatewayOn opens a store over c (a fixture written through admin), with
// tenancy and the audit log, behind httptest.
func gatewayOn(t *testing.T, c redis.UniversalClient, prefix string) (*httptest.Server, *redisstore.Store) {
	t.Helper()
	ctx := context.Background()
	clock := &ww.FixedClock{T: t0}
	pol := tenancy.New(tenancy.Options{Clock: clock})
	st, err := redisstore.Open(ctx, redisstore.Options{Client: c, Prefix: prefix, Clock: clock, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	pol.Bind(st)
	gw, err := gateway.New(gateway.Options{Store: st, DeploymentKey: st.DeploymentKey(), Clock: clock, BaseURL: "http://gw.test/fhir",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Audit: audit.New(st, clock)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(withPrincipal(gw.Handler()))
	t.Cleanup(srv.Close)
	return srv, st
}

func writeFixture(t testing.TB, st *redisstore.Store) {
	t.Helper()
	for _, w := range []ww.Write{
		{Op: ww.OpUpdate, Type: "Organization", ID: "orgA", JSON: []byte(`{"resourceType":"Organization","id":"orgA","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/uzovi","value":"7119"}]}`)},
		{Op: ww.OpUpdate, Type: "Patient", ID: "patOne", JSON: []byte(`{"resourceType":"Patient","id":"patOne","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}],"name":[{"family":"Vermeulen"}]}`), Provenance: ww.Provenance{Owner: "06020502"}},
		{Op: ww.OpUpdate, Type: "Coverage", ID: "covOne", JSON: []byte(`{"resourceType":"Coverage","id":"covOne","status":"active","beneficiary":{"reference":"Patient/patOne"},"payor":[{"reference":"Organization/orgA"}]}`), Provenance: ww.Provenance{Owner: "7119"}},
		{Op: ww.OpUpdate, Type: "ServiceRequest", ID: "srOne", JSON: []byte(`{"resourceType":"ServiceRequest","id":"srOne","status":"active","intent":"order","subject":{"reference":"Patient/patOne"},"authoredOn":"2026-09-01"}`), Provenance: ww.Provenance{Owner: "06020502"}},
		{Op: ww.OpUpdate, Type: "Slot", ID: "slotOne", JSON: []byte(`{"resourceType":"Slot","id":"slotOne","schedule":{"reference":"Schedule/s"},"status":"free","start":"2026-12-01T09:00:00Z","end":"2026-12-01T09:15:00Z"}`)},
	} {
		if _, err := st.Commit(context.Background(), &ww.Commit{Writes: []ww.Write{w}}); err != nil {
			t.Fatal(err)
		}
	}
}

func get(t *testing.T, srv *httptest.Server, as, path string) (int, string) {
	t.Helper()
	s, b, _ := principaltest.Do(t, srv.URL, as, "GET", path, "")
	return s, b
}

func TestGatewayRecordsAccess(t *testing.T) {
	ctx := context.Background()
	c := redistest.Shared(t).Client(t)
	prefix := redistest.Prefix(t)
	srv, st := gatewayOn(t, c, prefix)
	writeFixture(t, st)
	logKey, _ := st.AuditKeys()
	count := func() int64 { n, _ := c.XLen(ctx, logKey).Result(); return n }

	if s, b := get(t, srv, "insurer", "/fhir/ServiceRequest/srOne"); s != 200 {
		t.Fatalf("read: %d %s", s, b)
	}
	if s, _ := get(t, srv, "insurer", "/fhir/Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|999911120"); s != 200 {
		t.Fatal(s)
	}
	if s, _ := get(t, srv, "insB", "/fhir/ServiceRequest/srOne"); s != 404 {
		t.Fatal("insurer B reads A's member", s)
	}
	if n := count(); n != 3 {
		t.Fatalf("%d audit entries after 3 patient-data requests", n)
	}
	get(t, srv, "insurer", "/fhir/Slot?status=free")
	get(t, srv, "insurer", "/fhir/metadata")
	if n := count(); n != 3 {
		t.Fatalf("capacity and metadata reads were audited: %d entries", n)
	}
	raw, _ := c.XRange(ctx, logKey, "-", "+").Result()
	dump := fmt.Sprint(raw)
	for _, secret := range []string{"999911120", "Vermeulen", "identifier="} {
		if strings.Contains(dump, secret) {
			t.Fatalf("the audit log holds %q (a BSN, payload or query value): %s", secret, dump)
		}
	}
	first := raw[0].Values["event"].(string)
	for _, want := range []string{`"client":"zvA"`, `"organization":"7119"`, `"action":"R"`, `"interaction":"read"`, `"target":"ServiceRequest/srOne"`, `"outcome":200`, `"source":"127.0.0.1"`, `"purposeOfUse":"COVERAGE"`, `"patients":["patOne"]`, `Zvw`} {
		if !strings.Contains(first, want) {
			t.Errorf("the read's event lacks %s: %s", want, first)
		}
	}
	if third := raw[2].Values["event"].(string); !strings.Contains(third, `"outcome":404`) || strings.Contains(third, "patOne") {
		t.Errorf("the refused read's event: %s", third)
	}
	// the AuditEvent search (each search is itself audited, as ops)
	for _, c := range []struct {
		q    string
		want int
	}{
		{"?agent=zvA", 2}, {"?agent=zvA&patient=Patient/patOne", 2}, {"?agent=zvB", 1}, {"?agent=zvB&patient=patOne", 0}, {"?agent=7119", 2},
		{"?agent=zvA&date=2026-11-25", 2}, {"?agent=zvA&date=ge2026-11-26", 0}, {"?agent=zvA&date=lt2026-11-25", 0}, {"?agent=zvA&_count=1", 1},
	} {
		s, b := get(t, srv, "admin", "/fhir/AuditEvent"+c.q)
		if s != 200 || strings.Count(b, `"resourceType":"AuditEvent"`) != c.want {
			t.Errorf("AuditEvent%s: %d, want %d entries: %s", c.q, s, c.want, b)
		}
	}
	if s, b := get(t, srv, "admin", "/fhir/AuditEvent?date=yesterday"); s != 400 {
		t.Errorf("a bad date: %d %s", s, b)
	}
	// for admins only
	if s, b := get(t, srv, "insurer", "/fhir/AuditEvent"); s != 403 || !strings.Contains(b, "OperationOutcome") {
		t.Fatalf("an insurer searches the audit log: %d %s", s, b)
	}
	s, b := get(t, srv, "admin", "/fhir/AuditEvent?agent=zvA&_count=1")
	if s != 200 || !strings.Contains(b, `"relation":"next"`) || !strings.Contains(b, `"code":"110110"`) {
		t.Fatalf("a page of the audit log: %s", b)
	}
	if n, err := audit.New(st, nil).Verify(ctx); err != nil || n < 3 {
		t.Fatalf("the chain the gateway wrote: %d %v", n, err)
	}
}

// TestAuditFailureFailsTheRequest runs the gateway as a Redis user that may
// use its data keys but not the audit keys: patient data is refused with a
// 503, capacity data is still served.
func TestAuditFailureFailsTheRequest(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, redistest.Options{})
	admin := srv.Client(t)
	if err := admin.Do(ctx, "ACL", "SETUSER", "noaudit", "on", ">pw", "~ww:*", "+@all", "-@dangerous", "+config|get", "+info").Err(); err != nil {
		t.Fatal(err)
	}
	fix := open(t, admin, "ww")
	writeFixture(t, fix)
	broken := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "noaudit", Password: "pw"})
	t.Cleanup(func() { broken.Close() })
	gw, _ := gatewayOn(t, broken, "ww")
	s, b := get(t, gw, "insurer", "/fhir/ServiceRequest/srOne")
	if s != 503 || !strings.Contains(b, "OperationOutcome") || !strings.Contains(b, "access log") || strings.Contains(b, "patOne") {
		t.Fatalf("a read whose audit write fails: %d %s", s, b)
	}
	if s, b := get(t, gw, "insurer", "/fhir/Slot?status=free"); s != 200 {
		t.Fatalf("capacity with a broken audit log: %d %s", s, b)
	}
}

// TestAuditSourceIgnoresForwardedFor: a client's X-Forwarded-For does not
// write another address into the log unless its peer is a trusted proxy.
func TestAuditSourceIgnoresForwardedFor(t *testing.T) {
	ctx := context.Background()
	c := redistest.Shared(t).Client(t)
	for _, tc := range []struct {
		name    string
		proxies []string
		want    string
	}{
		{"no trusted proxies", nil, `"source":"127.0.0.1"`},
		{"loopback is a trusted proxy", []string{"127.0.0.1"}, `"source":"203.0.113.9"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := redistest.Prefix(t)
			clock := &ww.FixedClock{T: t0}
			st := open(t, c, prefix)
			writeFixture(t, st)
			gw, err := gateway.New(gateway.Options{Store: st, DeploymentKey: st.DeploymentKey(), Clock: clock, BaseURL: "http://gw.test/fhir",
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Audit: audit.New(st, clock), TrustedProxies: tc.proxies})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(withPrincipal(gw.Handler()))
			defer srv.Close()
			req, _ := http.NewRequest("GET", srv.URL+"/fhir/ServiceRequest/srOne", nil)
			req.Header.Set(principaltest.Header, "admin")
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("read: %d", resp.StatusCode)
			}
			logKey, _ := st.AuditKeys()
			raw, err := c.XRange(ctx, logKey, "-", "+").Result()
			if err != nil || len(raw) != 1 {
				t.Fatalf("%d entries, %v", len(raw), err)
			}
			if ev := raw[0].Values["event"].(string); !strings.Contains(ev, tc.want) {
				t.Fatalf("event %s, want %s", ev, tc.want)
			}
		})
	}
	if _, err := gateway.New(gateway.Options{Store: open(t, c, redistest.Prefix(t)), TrustedProxies: []string{"not-an-address"}}); err == nil {
		t.Fatal("a bad --trusted-proxies entry was accepted")
	}
}

// panicStore panics on a read: the recovery middleware must still answer.
type panicStore struct{ *redisstore.Store }

func (panicStore) Read(context.Context, string, string) (*ww.Resource, error) { panic("boom") }

// TestAuditedPanicAnswers500: a handler that panics under the audit
// middleware answers a 500 OperationOutcome, not an empty 200.
func TestAuditedPanicAnswers500(t *testing.T) {
	c := redistest.Shared(t).Client(t)
	st := open(t, c, redistest.Prefix(t))
	clock := &ww.FixedClock{T: t0}
	gw, err := gateway.New(gateway.Options{Store: panicStore{st}, DeploymentKey: st.DeploymentKey(), Clock: clock, BaseURL: "http://gw.test/fhir",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Audit: audit.New(st, clock)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(withPrincipal(gw.Handler()))
	defer srv.Close()
	for i := 0; i < 3; i++ { // the pooled writer is reused after a panic
		s, b := get(t, srv, "admin", "/fhir/ServiceRequest/srOne")
		if s != 500 || !strings.Contains(b, "OperationOutcome") || strings.Contains(b, "boom") {
			t.Fatalf("a panicking read: %d %s", s, b)
		}
	}
}
