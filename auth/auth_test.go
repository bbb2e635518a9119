package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/smart"
)

func TestMain(m *testing.M) { os.Exit(redistest.RunMain(m)) }

func TestParseScope(t *testing.T) {
	for s, want := range map[string]Perm{
		"system/Patient.read":   PermRead,
		"system/Patient.write":  PermWrite,
		"system/Patient.*":      PermAll,
		"system/*.read":         PermRead,
		"system/Patient.rs":     Perm(Read | Search),
		"system/Patient.cruds":  PermAll,
		"system/Slot.c":         Perm(Create),
		"user/Patient.read":     PermRead,
		"patient/Observation.r": Perm(Read),
	} {
		sc, err := ParseScope(s)
		if err != nil || sc.Perm != want {
			t.Errorf("%s: %v %v, want %v", s, sc.Perm, err, want)
		}
	}
	for _, s := range []string{"openid", "system/Patient", "system/Patient.sr", "system/Patient.rr", "system/Patient.x",
		"system/patient.read", "system/.read", "launch/patient", "system/Patient.rs?category=x", "admin/Patient.read", strings.Repeat("a", 300)} {
		if _, err := ParseScope(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

func TestGrantsAndCheck(t *testing.T) {
	g, err := ParseGrants("system/Patient.rs system/*.c user/Slot.cruds")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		typ  string
		need Perm
		ok   bool
	}{
		{"Patient", Perm(Read), true}, {"Patient", Perm(Search), true}, {"Patient", Perm(Update), false},
		{"Slot", Perm(Create), true}, {"Slot", Perm(Read), false}, // user/ grants nothing here
		{"", Perm(Search), false}, {"", Perm(Create), true},
	} {
		if got := g.Allows(c.typ, c.need); got != c.ok {
			t.Errorf("%s %s: %v, want %v", c.typ, c.need, got, c.ok)
		}
	}
	ctx := WithGrants(context.Background(), g)
	err = Check(ctx, "Patient", Perm(Delete), "delete of Patient")
	if !ww.IsKind(err, ww.KindForbidden) || !strings.Contains(err.Error(), "system/Patient.d") {
		t.Fatalf("Check: %v", err)
	}
	if err := Check(context.Background(), "Patient", Perm(Delete), "x"); err != nil {
		t.Fatalf("without grants (internal caller) Check must pass: %v", err)
	}
	allowed, _ := ParseGrants("system/Patient.read system/Slot.rs")
	in := intersect(g, allowed)
	if !in.Allows("Patient", PermRead) || in.Allows("Slot", Perm(Create)) || in.Allows("Slot", Perm(Read)) {
		t.Fatalf("intersect: %s", in)
	}
}

// A key signs for Rotation; the previous key verifies its tokens until
// they expired, then leaves the JWKS.
func TestKeyRotation(t *testing.T) {
	clock := &ww.FixedClock{T: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	k := &Keys{Clock: clock, Rotation: time.Hour, Lifetime: 5 * time.Minute}
	old, err := k.Sign(&smart.Claims{Expiry: clock.Now().Add(5 * time.Minute).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour + time.Second)
	cur, _ := k.Sign(&smart.Claims{Expiry: clock.Now().Add(5 * time.Minute).Unix()})
	if n := len(k.JWKS().Keys); n != 2 {
		t.Fatalf("after rotation the JWKS has %d keys, want 2", n)
	}
	_, ho, _ := smart.Parse(old)
	_, hc, _ := smart.Parse(cur)
	if ho.Kid == hc.Kid {
		t.Fatal("rotation kept the kid")
	}
	for _, tok := range []string{old, cur} {
		if _, _, err := smart.Verify(tok, k, smart.VerifyOptions{Clock: clock, Leeway: time.Hour}); err != nil {
			t.Fatalf("both keys verify during the overlap: %v", err)
		}
	}
	clock.Advance(7 * time.Minute)
	if n := len(k.JWKS().Keys); n != 1 {
		t.Fatalf("the retired key is still published: %d keys", n)
	}
	if _, ok := k.Key(ho.Kid); ok {
		t.Fatal("the retired key still verifies")
	}
}

func TestLimiterFixedWindow(t *testing.T) {
	rdb := redistest.Shared(t).Client(t)
	clock := &ww.FixedClock{T: time.Date(2026, 12, 1, 9, 0, 10, 0, time.UTC)}
	l := &Limiter{Redis: rdb, Prefix: redistest.Prefix(t), Clock: clock, Requests: 2, Window: time.Minute}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if w, err := l.Allow(ctx, "a"); err != nil || w != 0 {
			t.Fatalf("request %d: %v %v", i, w, err)
		}
	}
	w, err := l.Allow(ctx, "a")
	if err != nil || w != 50*time.Second {
		t.Fatalf("third request: wait %v (%v), want 50s", w, err)
	}
	if w, _ := l.Allow(ctx, "b"); w != 0 {
		t.Fatal("client b shares a's window")
	}
	clock.Advance(50 * time.Second)
	if w, _ := l.Allow(ctx, "a"); w != 0 {
		t.Fatal("the next window still refuses")
	}
}

// The token endpoint and Authenticate end to end in process: replay cache,
// token cache until exp, clock-driven expiry.
func TestTokenFlow(t *testing.T) {
	rdb := redistest.Shared(t).Client(t)
	clock := &ww.FixedClock{T: time.Now().Truncate(time.Second)}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	j, _ := smart.PublicJWK(key.Public(), "")
	cfg := &Config{Issuer: "https://gw.test", Clients: []*Client{{ClientID: "c1", Role: ww.RoleInsurer, Organization: "7119", Scopes: []string{"system/*.rs"}, JWKS: &smart.JWKS{Keys: []smart.JWK{j}}}}}
	s, err := New(Options{Config: cfg, Redis: rdb, Prefix: redistest.Prefix(t), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	cc := &smart.ClientCredentials{TokenURL: "https://gw.test/auth/token", ClientID: "c1", Key: key, KeyID: j.Kid, Clock: clock}
	a, _ := cc.Assertion(clock.Now())
	post := func(a string) *httptest.ResponseRecorder {
		form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {smart.AssertionType}, "client_assertion": {a}}
		r := httptest.NewRequest("POST", "https://gw.test/auth/token", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.Token(w, r)
		return w
	}
	w := post(a)
	if w.Code != 200 {
		t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	if w2 := post(a); w2.Code != 401 || !strings.Contains(w2.Body.String(), "replay") {
		t.Fatalf("replay: %d %s", w2.Code, w2.Body)
	}
	tok := strings.Split(strings.Split(w.Body.String(), `"access_token":"`)[1], `"`)[0]
	req := httptest.NewRequest("GET", "https://gw.test/fhir/Patient", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	p, g, err := s.Authenticate(req)
	if err != nil || p.Role != ww.RoleInsurer || p.Organization != "7119" || !g.Allows("Patient", Perm(Search)) || g.Allows("Patient", Perm(Create)) {
		t.Fatalf("authenticate: %+v %v %v", p, g, err)
	}
	clock.Advance(5*time.Minute + 2*time.Minute)
	if _, _, err := s.Authenticate(req); !ww.IsKind(err, ww.KindUnauthorized) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired token (cached before) must be refused: %v", err)
	}
}

// Chunked reservations: two gateways on one Redis together grant exactly
// the limit, never more.
func TestLimiterSharedChunks(t *testing.T) {
	rdb := redistest.Shared(t).Client(t)
	clock := &ww.FixedClock{T: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	prefix := redistest.Prefix(t)
	a := &Limiter{Redis: rdb, Prefix: prefix, Clock: clock, Requests: 250, Window: time.Minute}
	b := &Limiter{Redis: rdb, Prefix: prefix, Clock: clock, Requests: 250, Window: time.Minute}
	granted := 0
	for i := 0; i < 400; i++ {
		l := a
		if i%3 == 0 {
			l = b
		}
		w, err := l.Allow(context.Background(), "c")
		if err != nil {
			t.Fatal(err)
		}
		if w == 0 {
			granted++
		}
	}
	if granted > 250 || granted < 250-2*5 {
		t.Fatalf("granted %d of a limit of 250 (chunks of 5 on two gateways)", granted)
	}
}

func TestLoadConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"misspelt field":  `{"clients":[{"client_id":"x","role":"admin","scope":["system/*.*"]}]}`,
		"bad role":        `{"clients":[{"client_id":"x","role":"root","scopes":[],"cert_sha256":"` + strings.Repeat("ab", 32) + `"}]}`,
		"no organization": `{"clients":[{"client_id":"x","role":"insurer","scopes":[],"cert_sha256":"` + strings.Repeat("ab", 32) + `"}]}`,
		"bad scope":       `{"clients":[{"client_id":"x","role":"admin","scopes":["openid"],"cert_sha256":"` + strings.Repeat("ab", 32) + `"}]}`,
		"no keys":         `{"clients":[{"client_id":"x","role":"admin","scopes":[]}]}`,
		"private key":     `{"clients":[{"client_id":"x","role":"admin","scopes":[],"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]}}]}`,
		"short lifetime":  `{"token_lifetime":"10s","clients":[]}`,
	} {
		p := dir + "/" + strings.ReplaceAll(name, " ", "-") + ".json"
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadConfig(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Keys derived from one seed are the same on every gateway: a token one
// signs, another verifies; epochs rotate them, the previous one overlaps.
func TestDerivedKeys(t *testing.T) {
	clock := &ww.FixedClock{T: time.Date(2026, 12, 1, 23, 58, 0, 0, time.UTC)}
	a := &Keys{Clock: clock, Rotation: 24 * time.Hour, Lifetime: 5 * time.Minute, Seed: []byte("deployment key")}
	b := &Keys{Clock: clock, Rotation: 24 * time.Hour, Lifetime: 5 * time.Minute, Seed: []byte("deployment key")}
	other := &Keys{Clock: clock, Rotation: 24 * time.Hour, Lifetime: 5 * time.Minute, Seed: []byte("another deployment")}
	tok, err := a.Sign(&smart.Claims{Expiry: clock.Now().Add(5 * time.Minute).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	opts := smart.VerifyOptions{Clock: clock}
	if _, _, err := smart.Verify(tok, b, opts); err != nil {
		t.Fatalf("another gateway with the same seed: %v", err)
	}
	if _, _, err := smart.Verify(tok, other, opts); err == nil {
		t.Fatal("a gateway with another seed verified the token")
	}
	clock.Advance(3 * time.Minute) // the next epoch: a new key, the old one still published
	if n := len(b.JWKS().Keys); n != 2 {
		t.Fatalf("after the epoch boundary %d keys, want 2", n)
	}
	if _, _, err := smart.Verify(tok, b, opts); err != nil {
		t.Fatalf("the previous epoch's token: %v", err)
	}
	clock.Advance(10 * time.Minute)
	if n := len(b.JWKS().Keys); n != 1 {
		t.Fatalf("the previous key outlived its tokens: %d keys", n)
	}
}
