package pull

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fetch"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/internal/faultsource"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
	"github.com/wachtwijzer/wachtwijzer/smart"
)

func TestMain(m *testing.M) { os.Exit(redistest.RunMain(m)) }

type rig struct {
	t     *testing.T
	store *redisstore.Store
	src   *faultsource.Server
	url   string
	clock *ww.FixedClock
	sleep *fetch.ClockSleeper
	logs  *bytes.Buffer
}

func newRig(t *testing.T) *rig {
	t.Helper()
	redistest.Require(t)
	clock := &ww.FixedClock{T: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}
	st, err := redisstore.Open(context.Background(), redisstore.Options{Client: redistest.Shared(t).Client(t), Prefix: redistest.Prefix(t), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	src := faultsource.New()
	src.Now = clock.Now
	hs := httptest.NewServer(src)
	t.Cleanup(hs.Close)
	return &rig{t: t, store: st, src: src, url: hs.URL + "/fhir", clock: clock, sleep: &fetch.ClockSleeper{Clock: clock}, logs: &bytes.Buffer{}}
}

func (r *rig) scheduler(cfg string, holder string) *Scheduler {
	r.t.Helper()
	f, err := Parse([]byte(strings.ReplaceAll(cfg, "SRC", r.url)))
	if err != nil {
		r.t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(r.logs, nil))
	s, err := New(Options{Sources: f.Sources, Store: r.store, State: r.store, Key: r.store.DeploymentKey(), Clock: r.clock,
		Logger: log, Holder: holder, Client: ClientOptions{Sleeper: r.sleep}})
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

func patient(id, family string) map[string]any {
	return map[string]any{"resourceType": "Patient", "id": id, "name": []any{map[string]any{"family": family}},
		"managingOrganization": map[string]any{"reference": "Organization/org1"}}
}

func slot(id, status string, day int) map[string]any {
	start := time.Date(2026, 12, day, 9, 0, 0, 0, time.UTC)
	return map[string]any{"resourceType": "Slot", "id": id, "schedule": map[string]any{"reference": "Schedule/sch1"}, "status": status,
		"start": start.Format(time.RFC3339), "end": start.Add(20 * time.Minute).Format(time.RFC3339)}
}

// holds checks that the store holds exactly the source's current data of
// typ, once: every source resource under its derived id with the source's
// content, nothing else, and every resource at the version count given by
// versions (default 1: nothing was written twice).
func (r *rig) holds(typ string, field string, versions map[string]int64) {
	r.t.Helper()
	ctx := context.Background()
	cur := r.src.Current(typ)
	got, err := r.store.Search(ctx, &ww.Query{Type: typ, Count: 1000})
	if err != nil {
		r.t.Fatal(err)
	}
	if len(got.Resources) != len(cur) {
		r.t.Fatalf("%s: the store holds %d, the source %d", typ, len(got.Resources), len(cur))
	}
	ns := strings.TrimSuffix(r.url, "/")
	for sid, v := range cur {
		id := ww.DeriveID(r.store.DeploymentKey(), typ, ns, sid)
		res, err := r.store.Read(ctx, typ, id)
		if err != nil {
			r.t.Fatalf("%s/%s (source %s): %v", typ, id, sid, err)
		}
		tree, _ := fhirjson.Parse(res.JSON, fhirjson.Limits{})
		want := fmt.Sprint(v.JSON[field])
		if typ == "Patient" {
			want = v.JSON["name"].([]any)[0].(map[string]any)["family"].(string)
			if gotF := tree.Get("name").Items[0].GetStr("family"); gotF != want {
				r.t.Fatalf("%s %s: family %q, source %q", typ, sid, gotF, want)
			}
		} else if gotF := tree.GetStr(field); gotF != want {
			r.t.Fatalf("%s %s: %s %q, source %q", typ, sid, field, gotF, want)
		}
		wantV := int64(1)
		if n, ok := versions[sid]; ok {
			wantV = n
		}
		if res.VersionID != wantV {
			r.t.Fatalf("%s %s is at version %d, want %d (written more often than it changed)", typ, sid, res.VersionID, wantV)
		}
		if !strings.Contains(string(res.JSON), ww.ExtLastSourceSync) || res.Provenance.Channel != ww.ChannelPull {
			r.t.Fatalf("%s %s lacks lastSourceSync or pull provenance: %s", typ, sid, res.JSON)
		}
	}
}

const faultCfg = `{"sources":[{"id":"zkh","baseUrl":"SRC","interval":"5m","pageSize":3,"owner":"06011234",
  "http":{"timeout":"300ms","waitMin":"1s","waitMax":"20s","retryMax":8},
  "resources":[{"type":"Patient"},{"type":"Slot","history":true}]}]}`

func TestPullThroughFaultsHoldsExactlyTheSourceDataOnce(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	for i := 1; i <= 10; i++ {
		r.src.Put(patient(fmt.Sprintf("p%d", i), fmt.Sprintf("Fam%d", i)))
		r.clock.Advance(time.Second)
	}
	for i := 1; i <= 7; i++ {
		r.src.Put(slot(fmt.Sprintf("s%d", i), "free", i))
		r.clock.Advance(time.Second)
	}
	r.src.Fail(faultsource.TooMany, faultsource.ServerError, faultsource.Hang, faultsource.None, faultsource.Truncated,
		faultsource.InvalidJSON, faultsource.Unavailable)
	r.src.DuplicatePages = true
	s := r.scheduler(faultCfg, "gw-a")
	wall := time.Now()
	if err := s.Step(ctx); err != nil {
		t.Fatalf("first sync: %v\n%s", err, r.logs)
	}
	if time.Since(wall) > 10*time.Second {
		t.Fatalf("the sync took %v: it slept through backoffs", time.Since(wall))
	}
	r.holds("Patient", "", nil)
	r.holds("Slot", "status", nil)
	waits := r.sleep.Waits()
	if len(waits) < 6 || waits[0] != time.Second {
		t.Fatalf("waits %v: want the 429's Retry-After of 1 s first and a wait per fault", waits)
	}
	if strings.Contains(r.logs.String(), "Fam") || strings.Contains(r.logs.String(), "_lastUpdated") {
		t.Fatalf("the log carries patient data or URLs:\n%s", r.logs)
	}

	// Second round: updates, a commit landing behind the cursor (within the
	// overlap), pages out of order with a next loop, a deletion in history.
	r.src.DuplicatePages = false
	r.src.Reverse = true
	r.src.LoopAfter = 2
	r.clock.Advance(10 * time.Minute)
	r.src.Put(patient("p3", "Updated3"))
	r.src.PutAt(patient("p11", "Late11"), r.clock.Now().Add(-12*time.Minute)) // before the cursor, within cursor − 5 min? see below
	r.src.Put(slot("s2", "busy", 2))
	r.src.Delete("Slot", "s5")
	r.src.Put(patient("p12", "New12"))
	// p11's lastUpdated is 2 minutes behind the cursor (the last first-round
	// change was at 08:00:16; now is 08:10:17): the overlap catches it.
	r.clock.Advance(5 * time.Minute)
	if err := s.Step(ctx); err == nil || !strings.Contains(err.Error(), "loop") {
		t.Fatalf("a next loop did not fail the run (it cannot have reached every page): %v", err)
	}
	// The loop was a glitch: the next run walks every page.
	r.clock.Advance(5 * time.Minute)
	if err := s.Step(ctx); err != nil {
		t.Fatalf("second sync: %v\n%s", err, r.logs)
	}
	r.holds("Patient", "", map[string]int64{"p3": 2})
	r.holds("Slot", "status", map[string]int64{"s2": 2})
	if _, err := r.store.Read(ctx, "Slot", ww.DeriveID(r.store.DeploymentKey(), "Slot", r.url, "s5")); !ww.IsKind(err, ww.KindGone) {
		t.Fatalf("the slot deleted at the source: %v, want gone", err)
	}
	st, _ := s.Board.Statuses(ctx)
	if len(st) != 1 || st[0].Records != 12+6 || st[0].LastSuccess.IsZero() || st[0].Stale {
		t.Fatalf("status %+v", st[0])
	}
}

func TestLateCommitBehindCursorIsCaughtByOverlap(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.src.Put(patient("a", "A"))
	s := r.scheduler(faultCfg, "gw")
	if err := s.Step(ctx); err != nil {
		t.Fatal(err)
	}
	cursor, _ := r.store.Cursor(ctx, "zkh", "Patient")
	if !cursor.Equal(r.clock.Now()) {
		t.Fatalf("cursor %v, want the newest lastUpdated %v", cursor, r.clock.Now())
	}
	// A transaction that started earlier commits now with lastUpdated 3
	// minutes before the cursor.
	r.clock.Advance(6 * time.Minute)
	r.src.PutAt(patient("late", "Late"), cursor.Add(-3*time.Minute))
	if err := s.Step(ctx); err != nil {
		t.Fatal(err)
	}
	r.holds("Patient", "", nil)
}

func TestClientErrorFailsRunKeepsCursorAndCircuitPauses(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.src.Put(patient("a", "A"))
	cfg := strings.Replace(faultCfg, `"retryMax":8`, `"retryMax":1,"breakerFailures":2,"breakerCooldown":"10m"`, 1)
	s := r.scheduler(cfg, "gw")
	r.src.Fail(faultsource.NotFound)
	if err := s.Step(ctx); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("a 404 did not fail the run: %v", err)
	}
	if n := r.src.Count("search"); n != 1 {
		t.Fatalf("a 404 was retried: %d requests", n)
	}
	if c, _ := r.store.Cursor(ctx, "zkh", "Patient"); !c.IsZero() {
		t.Fatalf("a failed run moved the cursor to %v", c)
	}
	// Two failing runs (500s through every retry) open the circuit.
	for i := 0; i < 2; i++ {
		r.clock.Advance(6 * time.Minute)
		r.src.Fail(faultsource.ServerError, faultsource.ServerError)
		s.Step(ctx)
	}
	before := r.src.Count("search")
	r.clock.Advance(6 * time.Minute)
	if err := s.Step(ctx); r.src.Count("search") != before || err != nil {
		t.Fatalf("an open circuit still called the source (%d → %d requests): %v", before, r.src.Count("search"), err)
	}
	if _, err := s.RunSource(ctx, "zkh"); err == nil || !strings.Contains(err.Error(), "circuit open") || r.src.Count("search") != before {
		t.Fatalf("a forced run with the circuit open: %v", err)
	}
	st, _ := s.Board.Statuses(ctx)
	if !st[0].Stale || st[0].ConsecutiveFailures < 3 || st[0].LastError == "" || st[0].CircuitOpenUntil.IsZero() {
		t.Fatalf("status %+v", st[0])
	}
	r.clock.Advance(11 * time.Minute)
	if err := s.Step(ctx); err != nil {
		t.Fatalf("after the cooldown: %v", err)
	}
	r.holds("Patient", "", nil)
}

func TestOnlyTheLeaderSyncs(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.src.Put(patient("a", "A"))
	a, b := r.scheduler(faultCfg, "gw-a"), r.scheduler(faultCfg, "gw-b")
	if err := a.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if n := r.src.Count("search"); n != 1 {
		t.Fatalf("two gateways both searched: %d searches", n)
	}
	st, _ := b.Board.Statuses(ctx)
	if st[0].Leader != "gw-a" {
		t.Fatalf("leader %q", st[0].Leader)
	}
	// The leader's lease lapses (it died): the other takes over.
	r.store.ReleaseLease(ctx, leaseName, "gw-a")
	r.clock.Advance(6 * time.Minute)
	if err := b.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if r.src.Count("search") != 2 {
		t.Fatalf("the new leader did not sync")
	}
}

func TestReconciliationTombstonesWhatDisappeared(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	for i := 0; i < 12; i++ {
		r.src.Put(patient(fmt.Sprintf("p%d", i), "F"))
	}
	cfg := strings.Replace(faultCfg, `"interval":"5m"`, `"interval":"5m","reconcileEvery":"1h"`, 1)
	s := r.scheduler(cfg, "gw")
	if err := s.Step(ctx); err != nil {
		t.Fatal(err)
	}
	r.src.Vanish("Patient", "p4")
	r.src.Vanish("Patient", "p7")
	r.clock.Advance(61 * time.Minute)
	if err := s.Step(ctx); err != nil {
		t.Fatal(err)
	}
	r.holds("Patient", "", nil)
	if _, err := r.store.Read(ctx, "Patient", ww.DeriveID(r.store.DeploymentKey(), "Patient", r.url, "p4")); !ww.IsKind(err, ww.KindGone) {
		t.Fatalf("vanished p4: %v", err)
	}
	// A source that suddenly lists nothing is refused, not mirrored.
	for i := 0; i < 12; i++ {
		r.src.Vanish("Patient", fmt.Sprintf("p%d", i))
	}
	r.clock.Advance(61 * time.Minute)
	if err := s.Step(ctx); err == nil || !strings.Contains(err.Error(), "reconcileMaxDelete") {
		t.Fatalf("mass disappearance: %v", err)
	}
	if n, _ := r.store.HeldCount(ctx, "zkh", "Patient"); n != 10 {
		t.Fatalf("held %d after a refused reconciliation", n)
	}
}

func TestStaleSourceTagsServedResources(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.src.Put(patient("a", "A"))
	s := r.scheduler(faultCfg, "gw")
	if err := s.Step(ctx); err != nil {
		t.Fatal(err)
	}
	id := ww.DeriveID(r.store.DeploymentKey(), "Patient", r.url, "a")
	res, _ := r.store.Read(ctx, "Patient", id)
	if out := s.Board.Annotate(ctx, res, res.JSON); !bytes.Equal(out, res.JSON) {
		t.Fatalf("a fresh source's resource was changed: %s", out)
	}
	if st, ok := s.Board.Of(ctx, res); !ok || st.Stale || st.Source != "zkh" {
		t.Fatalf("Of = %+v %v", st, ok)
	}
	r.clock.Advance(16 * time.Minute) // staleAfter = 3 × 5 min
	out := s.Board.Annotate(ctx, res, res.JSON)
	if !strings.Contains(string(out), ww.SystemFreshness) || !strings.Contains(string(out), `"code":"stale"`) {
		t.Fatalf("a stale source's resource is not tagged: %s", out)
	}
	if stored, _ := r.store.Read(ctx, "Patient", id); strings.Contains(string(stored.JSON), "stale") || stored.VersionID != 1 {
		t.Fatal("the tag was written into the store")
	}
	if any := s.Board.Any(ctx); len(any) != 1 || any[0].Source != "zkh" {
		t.Fatalf("Any = %+v", any)
	}
	js, _ := s.Board.StatusJSON(ctx)
	if !strings.Contains(string(js), `"lagSeconds"`) || !strings.Contains(string(js), `"leader":"gw"`) {
		t.Fatalf("status JSON %s", js)
	}
}

func TestSmartBackendServicesAuth(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pemb, _ := smart.MarshalPrivateKeyPEM(key)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "zkh.pem"), pemb, 0o600)
	jwk, _ := smart.PublicJWK(key.Public(), "k1")
	ks := &smart.JWKS{Keys: []smart.JWK{jwk}}
	r.src.Put(patient("a", "A"))
	var tokens atomic.Int32
	mux := http.NewServeMux()
	var tokenURL string
	mux.HandleFunc("/token", func(w http.ResponseWriter, req *http.Request) {
		req.ParseForm()
		c, _, err := smart.Verify(req.Form.Get("client_assertion"), ks, smart.VerifyOptions{Audience: tokenURL, Clock: r.clock})
		if err != nil || c.Subject != "wachtwijzer" || req.Form.Get("scope") != "system/Patient.rs" {
			http.Error(w, `{"error":"invalid_client"}`, 401)
			return
		}
		tokens.Add(1)
		w.Write([]byte(`{"access_token":"secret-1","token_type":"bearer","expires_in":600}`))
	})
	mux.HandleFunc("/fhir/", func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Authorization") != "Bearer secret-1" {
			http.Error(w, `{"resourceType":"OperationOutcome"}`, 401)
			return
		}
		r.src.ServeHTTP(w, req)
	})
	hs := httptest.NewServer(mux)
	defer hs.Close()
	tokenURL = hs.URL + "/token"
	cfg := `{"sources":[{"id":"zkh","baseUrl":"` + hs.URL + `/fhir","interval":"1m","auth":{"type":"smart-backend","tokenUrl":"` + tokenURL +
		`","clientId":"wachtwijzer","privateKeyFile":"zkh.pem","keyId":"k1","scopes":["system/Patient.rs"]},"resources":[{"type":"Patient"}]}]}`
	path := filepath.Join(dir, "sources.json")
	os.WriteFile(path, []byte(cfg), 0o600)
	f, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Sources: f.Sources, Store: r.store, State: r.store, Key: r.store.DeploymentKey(), Clock: r.clock, Client: ClientOptions{Sleeper: r.sleep}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := s.Step(ctx); err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(2 * time.Minute)
	}
	if tokens.Load() != 1 {
		t.Fatalf("%d tokens fetched for three runs within the token's 10 minutes", tokens.Load())
	}
	id := ww.DeriveID(r.store.DeploymentKey(), "Patient", hs.URL+"/fhir", "a")
	if _, err := r.store.Read(ctx, "Patient", id); err != nil {
		t.Fatal(err)
	}
}

func TestSourcesFileYAMLAndErrors(t *testing.T) {
	dir := t.TempDir()
	y := "sources:\n  - id: zkh-noord\n    baseUrl: https://fhir.zkh-noord.example.nl/r4/\n    interval: 10m\n    resources:\n      - type: ServiceRequest\n        filter: status=active\n"
	os.WriteFile(filepath.Join(dir, "s.yaml"), []byte(y), 0o600)
	f, err := LoadFile(filepath.Join(dir, "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Sources[0]
	if s.BaseURL != "https://fhir.zkh-noord.example.nl/r4" || s.Interval != Duration(10*time.Minute) || s.StaleAfter != Duration(30*time.Minute) || s.PageSize != 100 || s.Auth.Type != "none" {
		t.Fatalf("defaults: %+v", s)
	}
	for name, bad := range map[string]string{
		"unknown field": `{"sources":[{"id":"a","baseUrl":"https://x","resources":[{"type":"Patient"}],"intervall":"5m"}]}`,
		"braces in id":  `{"sources":[{"id":"a{b}","baseUrl":"https://x","resources":[{"type":"Patient"}]}]}`,
		"relative base": `{"sources":[{"id":"a","baseUrl":"/fhir","resources":[{"type":"Patient"}]}]}`,
		"unknown type":  `{"sources":[{"id":"a","baseUrl":"https://x","resources":[{"type":"Observation"}]}]}`,
		"filter cursor": `{"sources":[{"id":"a","baseUrl":"https://x","resources":[{"type":"Patient","filter":"_lastUpdated=gt2020"}]}]}`,
		"bad duration":  `{"sources":[{"id":"a","baseUrl":"https://x","interval":"often","resources":[{"type":"Patient"}]}]}`,
		"duplicate ids": `{"sources":[{"id":"a","baseUrl":"https://x","resources":[{"type":"Patient"}]},{"id":"a","baseUrl":"https://y","resources":[{"type":"Patient"}]}]}`,
		"smart no key":  `{"sources":[{"id":"a","baseUrl":"https://x","auth":{"type":"smart-backend","tokenUrl":"https://x/t","clientId":"c"},"resources":[{"type":"Patient"}]}]}`,
		"publisher url": `{"sources":[{"id":"a","kind":"bulk-publish","baseUrl":"https://x/fhir"}]}`,
		"no resources":  `{"sources":[{"id":"a","baseUrl":"https://x"}]}`,
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// publisher is a SMART Scheduling Links publisher for tests: a manifest and
// one NDJSON file per type; it records the _since it was asked for.
type publisher struct {
	mu     sync.Mutex
	files  map[string][]string
	sinces []string
	tt     time.Time
}

func (p *publisher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	base := "http://" + r.Host + "/pub"
	if strings.HasSuffix(r.URL.Path, "$bulk-publish") {
		p.sinces = append(p.sinces, r.URL.Query().Get("_since"))
		var outs []string
		for _, t := range []string{"Location", "Schedule", "Slot"} {
			outs = append(outs, `{"type":"`+t+`","url":"`+base+"/"+t+`.ndjson"}`)
		}
		fmt.Fprintf(w, `{"transactionTime":%q,"request":%q,"output":[%s],"error":[]}`, p.tt.Format(time.RFC3339), base+"/$bulk-publish", strings.Join(outs, ","))
		return
	}
	typ := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/pub/"), ".ndjson")
	w.Header().Set("Content-Type", "application/fhir+ndjson")
	w.Write([]byte(strings.Join(p.files[typ], "\n") + "\n"))
}

func TestBulkPublishSourceIncrementsAndReconciles(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	slotLine := func(id, status string, h int) string {
		return fmt.Sprintf(`{"resourceType":"Slot","id":%q,"schedule":{"reference":"Schedule/sch"},"status":%q,"start":"2026-12-0%dT09:00:00+01:00","end":"2026-12-0%dT09:20:00+01:00","extension":[{"url":"http://fhir-registry.smarthealthit.org/StructureDefinition/booking-phone","valueString":"+31 50 000 0000"}]}`, id, status, h, h)
	}
	pub := &publisher{tt: r.clock.Now(), files: map[string][]string{
		"Location": {`{"resourceType":"Location","id":"loc","name":"ZBC"}`},
		"Schedule": {`{"resourceType":"Schedule","id":"sch","actor":[{"reference":"Location/loc"}]}`},
		"Slot":     {slotLine("a", "free", 1), slotLine("b", "busy", 2), slotLine("c", "free", 3), `{"resourceType":"Slot","id":"bad","status":"free"}`},
	}}
	hs := httptest.NewServer(pub)
	defer hs.Close()
	cfg := `{"sources":[{"id":"zbc","kind":"bulk-publish","baseUrl":"` + hs.URL + `/pub/$bulk-publish","interval":"5m","reconcileEvery":"1h","resources":[{"type":"Location"},{"type":"Schedule"},{"type":"Slot"}]}]}`
	f, err := Parse([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Sources: f.Sources, Store: r.store, State: r.store, Key: r.store.DeploymentKey(), Clock: r.clock, Client: ClientOptions{Sleeper: r.sleep}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Step(ctx); err != nil {
		t.Fatal(err)
	}
	ns := hs.URL + "/pub"
	id := func(typ, sid string) string { return ww.DeriveID(r.store.DeploymentKey(), typ, ns, sid) }
	slotA, err := r.store.Read(ctx, "Slot", id("Slot", "a"))
	if err != nil || !strings.Contains(string(slotA.JSON), "Schedule/"+id("Schedule", "sch")) || !strings.Contains(string(slotA.JSON), "booking-phone") {
		t.Fatalf("slot a: %v %s", err, slotA.JSON)
	}
	st, _ := s.Board.Statuses(ctx)
	if st[0].Records != 5 || st[0].Rejected != 1 || st[0].LastSuccess.IsZero() {
		t.Fatalf("status %+v", st[0])
	}
	// An increment: asked with _since the last transactionTime; unchanged
	// lines write nothing.
	r.clock.Advance(6 * time.Minute)
	pub.mu.Lock()
	pub.files["Slot"][1] = slotLine("b", "free", 2)
	pub.tt = r.clock.Now()
	pub.mu.Unlock()
	if err := s.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if pub.sinces[0] != "" || pub.sinces[1] == "" {
		t.Fatalf("_since asked: %q", pub.sinces)
	}
	if a, _ := r.store.Read(ctx, "Slot", id("Slot", "a")); a.VersionID != 1 {
		t.Fatal("an unchanged slot was written again")
	}
	if b, _ := r.store.Read(ctx, "Slot", id("Slot", "b")); b.VersionID != 2 || !strings.Contains(string(b.JSON), `"free"`) {
		t.Fatalf("the changed slot: %s", b.JSON)
	}
	// A full import after reconcileEvery tombstones the slot that left.
	pub.mu.Lock()
	pub.files["Slot"] = pub.files["Slot"][1:]
	pub.mu.Unlock()
	r.clock.Advance(61 * time.Minute)
	if err := s.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if pub.sinces[2] != "" {
		t.Fatalf("the reconciling run asked _since %q", pub.sinces[2])
	}
	if _, err := r.store.Read(ctx, "Slot", id("Slot", "a")); !ww.IsKind(err, ww.KindGone) {
		t.Fatalf("the slot that left the publication: %v", err)
	}
}
