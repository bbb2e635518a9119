package tests

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/smart"
)

const (
	idpIssuer   = "https://idp.test"
	idpAudience = "https://gw.test/fhir"
)

// authGateway starts a gateway with authentication on, an external
// issuer it trusts, and clients with v1 and v2 scopes.
func authGateway(t *testing.T, extra map[string]any, args ...string) (*Gateway, *testIssuer) {
	t.Helper()
	idp := newTestIssuer(t)
	cfg := map[string]any{"trusted_issuers": []map[string]any{{"issuer": idpIssuer, "jwks_url": idp.URL, "audience": idpAudience}}}
	for k, v := range extra {
		cfg[k] = v
	}
	g := StartGateway(t, GatewayOptions{Args: args, Auth: &AuthOptions{Config: cfg, Clients: []TestClient{
		{ID: "zkh", Role: "hospital", Org: "06990101", Scopes: []string{"system/*.cruds"}},
		// The scope clients are admins, so that tenancy (its own matrix in
		// tenancy/) never masks a scope decision with a 404.
		{ID: "v1-read", Role: "admin", Org: "06990201", Scopes: []string{"system/Patient.read", "system/ServiceRequest.read"}, RSA: true},
		{ID: "v1-write", Role: "admin", Org: "06990201", Scopes: []string{"system/Patient.write"}},
		{ID: "v2-rs", Role: "admin", Org: "7119", Scopes: []string{"system/Patient.rs", "system/Slot.rs", "system/MeasureReport.rs"}},
		{ID: "v2-r", Role: "admin", Org: "7119", Scopes: []string{"system/Patient.r"}},
		{ID: "v2-cu", Role: "admin", Org: "06990301", Scopes: []string{"system/Patient.cu", "system/Slot.cu"}},
		{ID: "admin", Role: "admin", Scopes: []string{"system/*.*"}},
	}}})
	return g, idp
}

// mint signs claims with the external issuer's key (alg and kid as given).
func (i *testIssuer) mint(t *testing.T, c *smart.Claims) string {
	t.Helper()
	tok, err := smart.Sign(i.Key, i.Kid, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func idpClaims(mod func(*smart.Claims)) *smart.Claims {
	now := time.Now()
	c := &smart.Claims{Issuer: idpIssuer, Subject: "zkh", ClientID: "zkh", Audience: smart.Audience{idpAudience},
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(5 * time.Minute).Unix(), ID: "t1", Scope: "system/Patient.rs"}
	if mod != nil {
		mod(c)
	}
	return c
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Every way a token can be wrong is a 401 with WWW-Authenticate: Bearer and
// an OperationOutcome that says what is wrong; the trusted issuer's good
// token passes.
func TestAuthTokenRefusals(t *testing.T) {
	g, idp := authGateway(t, nil)
	good := idp.mint(t, idpClaims(nil))
	expect(t, g.Do(t, "GET", "/fhir/Patient", nil, bearer(good)), 200)

	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + b64(idpClaims(func(c *smart.Claims) { c.Scope = "system/*.cruds" })) + "." + parts[2]
	none := b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + parts[1] + "."
	hsInput := b64(map[string]string{"alg": "HS256", "typ": "JWT", "kid": idp.Kid}) + "." + parts[1]
	mac := hmac.New(sha256.New, (&smart.JWKS{Keys: []smart.JWK{idp.Pub}}).Bytes())
	mac.Write([]byte(hsInput))
	hs := hsInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	unknownKid, err := smart.Sign(idp.Key, "no-such-kid", idpClaims(nil))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, token, mention string
	}{
		{"expired", idp.mint(t, idpClaims(func(c *smart.Claims) { c.Expiry = time.Now().Add(-time.Hour).Unix() })), "expired"},
		{"not yet valid", idp.mint(t, idpClaims(func(c *smart.Claims) { c.NotBefore = time.Now().Add(time.Hour).Unix() })), "not yet valid"},
		{"wrong audience", idp.mint(t, idpClaims(func(c *smart.Claims) { c.Audience = smart.Audience{"https://other.test/fhir"} })), "wrong audience"},
		{"wrong issuer", idp.mint(t, idpClaims(func(c *smart.Claims) { c.Issuer = "https://evil.test" })), "wrong issuer"},
		{"alg none", none, "algorithm not allowed"},
		{"HS256 with the public key", hs, "algorithm not allowed"},
		{"unknown kid", unknownKid, "unknown key"},
		{"tampered signature", tampered, "bad signature"},
		{"unregistered client", idp.mint(t, idpClaims(func(c *smart.Claims) { c.ClientID, c.Subject = "stranger", "stranger" })), "not registered"},
		{"garbage", "not-a-jwt", "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := g.Do(t, "GET", "/fhir/Patient", nil, bearer(c.token))
			outcome(t, r, 401, "login", c.mention)
			if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") || !strings.Contains(h, "invalid_token") {
				t.Fatalf("WWW-Authenticate %q", h)
			}
		})
	}
	r := g.Do(t, "GET", "/fhir/Patient", nil)
	outcome(t, r, 401, "login", "Bearer", "/auth/token")
	if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
		t.Fatalf("WWW-Authenticate %q", h)
	}
	outcome(t, g.Do(t, "GET", "/fhir/Patient", nil, "Authorization: Basic YTpi"), 401, "login", "Bearer")
}

// postToken posts a client assertion to /auth/token.
func postToken(t *testing.T, g *Gateway, assertion, scope string) (*Resp, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {smart.AssertionType}, "client_assertion": {assertion}}
	if scope != "" {
		form.Set("scope", scope)
	}
	r := g.Do(t, "POST", "/auth/token", form.Encode(), "Content-Type: application/x-www-form-urlencoded")
	var m map[string]any
	json.Unmarshal(r.Body, &m)
	return r, m
}

// The token endpoint: a good assertion gets a bearer token with the
// granted scopes; a replayed jti, a wrong audience, an expired or foreign
// assertion are invalid_client (401).
func TestAuthTokenEndpoint(t *testing.T) {
	g, _ := authGateway(t, nil)
	cc := g.Credentials(t, "v2-rs")
	a, err := cc.Assertion(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r, m := postToken(t, g, a, "system/Patient.rs system/Observation.rs")
	expect(t, r, 200)
	if m["token_type"] != "bearer" || m["access_token"] == "" || m["scope"] != "system/Patient.rs" {
		t.Fatalf("token response %s", r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token response Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	// The same assertion again: its jti is in the replay cache.
	r, m = postToken(t, g, a, "")
	if r.Status != 401 || m["error"] != "invalid_client" || !strings.Contains(fmt.Sprint(m["error_description"]), "replay") {
		t.Fatalf("replayed assertion: %d %s", r.Status, r.Body)
	}
	key := g.clients["v2-rs"]
	sign := func(mod func(*smart.Claims)) string {
		now := time.Now()
		c := &smart.Claims{Issuer: "v2-rs", Subject: "v2-rs", Audience: smart.Audience{g.tokenURL()}, IssuedAt: now.Unix(), Expiry: now.Add(4 * time.Minute).Unix(), ID: strconv.FormatInt(now.UnixNano(), 10)}
		mod(c)
		s, err := smart.Sign(key.key, key.kid, c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	other := g.clients["zkh"]
	foreign, _ := smart.Sign(other.key, other.kid, &smart.Claims{Issuer: "v2-rs", Subject: "v2-rs", Audience: smart.Audience{g.tokenURL()}, Expiry: time.Now().Add(time.Minute).Unix(), ID: "x"})
	for name, c := range map[string]struct{ assertion, mention string }{
		"wrong audience":   {sign(func(c *smart.Claims) { c.Audience = smart.Audience{"https://elsewhere/token"} }), "wrong audience"},
		"expired":          {sign(func(c *smart.Claims) { c.Expiry = time.Now().Add(-time.Hour).Unix() }), "expired"},
		"lives too long":   {sign(func(c *smart.Claims) { c.Expiry = time.Now().Add(time.Hour).Unix() }), "longer"},
		"no jti":           {sign(func(c *smart.Claims) { c.ID = "" }), "jti"},
		"other client key": {foreign, "unknown key"},
		"unknown client":   {sign(func(c *smart.Claims) { c.Issuer, c.Subject = "nobody", "nobody" }), "not registered"},
	} {
		r, m := postToken(t, g, c.assertion, "")
		if r.Status != 401 || m["error"] != "invalid_client" || !strings.Contains(fmt.Sprint(m["error_description"]), c.mention) {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	r, m = postToken(t, g, sign(func(*smart.Claims) {}), "system/Observation.rs")
	if r.Status != 400 || m["error"] != "invalid_scope" {
		t.Fatalf("scope not allowed: %d %s", r.Status, r.Body)
	}
	r = g.Do(t, "POST", "/auth/token", "grant_type=password", "Content-Type: application/x-www-form-urlencoded")
	if r.Status != 400 || !strings.Contains(string(r.Body), "unsupported_grant_type") {
		t.Fatalf("password grant: %d %s", r.Status, r.Body)
	}
	// Our own token works, for what it grants.
	tok := m0(t, g, "v2-rs")
	expect(t, g.Do(t, "GET", "/fhir/Patient", nil, bearer(tok)), 200)
	outcome(t, g.Do(t, "GET", "/fhir/Observation", nil, bearer(tok)), 403, "forbidden", "system/Observation.s")
	// The JWKS publishes the key that signed it.
	jw := expect(t, g.Do(t, "GET", "/auth/jwks", nil), 200)
	set, err := smart.ParseJWKS(jw.Body)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := smart.Verify(tok, set, smart.VerifyOptions{Audience: g.Base}); err != nil {
		t.Fatalf("our token does not verify with the published JWKS: %v", err)
	}
}

// okStatus is the status of an allowed call of the scope matrix.
func okStatus(name string) int {
	if name == "create" {
		return 201
	}
	return 200
}

func m0(t *testing.T, g *Gateway, id string, scopes ...string) string {
	return g.Token(t, id, scopes...)
}

const scopeBundle = `{"resourceType":"Bundle","type":"%s","entry":[{"request":{"method":"GET","url":"Patient"}},{"resource":{"resourceType":"Slot","status":"free","start":"2026-12-01T09:00:00+01:00","end":"2026-12-01T09:15:00+01:00","schedule":{"reference":"Schedule/s1"}},"request":{"method":"POST","url":"Slot"}}]}`

// Scopes are checked per interaction, in v1 and v2 syntax, per operation
// and per Bundle entry: exact 403 or success.
func TestAuthScopeMatrix(t *testing.T) {
	g, _ := authGateway(t, nil)
	tok := map[string]string{}
	for _, id := range []string{"zkh", "v1-read", "v1-write", "v2-rs", "v2-r", "v2-cu"} {
		tok[id] = g.Token(t, id)
	}
	created := expect(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "999914121", "Jansen"), bearer(tok["zkh"])), 201)
	id := str(created.JSON(t)["id"])
	pat := patientJSON(id, "999914121", "Jansen")
	type call struct {
		name, method, path string
		body               any
	}
	calls := []call{
		{"read", "GET", "/fhir/Patient/" + id, nil},
		{"vread", "GET", "/fhir/Patient/" + id + "/_history/1", nil},
		{"instance history", "GET", "/fhir/Patient/" + id + "/_history", nil},
		{"type history", "GET", "/fhir/Patient/_history", nil},
		{"search", "GET", "/fhir/Patient?family=Jansen", nil},
		{"search POST", "POST", "/fhir/Patient/_search", nil},
		{"create", "POST", "/fhir/Patient", patientJSON("", "999911120", "Bakker")},
		{"update", "PUT", "/fhir/Patient/" + id, pat},
		{"availability", "GET", "/fhir/Slot/$availability?specialty=0305", nil},
		{"regional capacity", "GET", "/fhir/MeasureReport/$regional-capacity", nil},
		{"long waits", "GET", "/fhir/ServiceRequest/$long-waits", nil},
	}
	allow := map[string]map[string]bool{
		"v1-read":  {"read": true, "vread": true, "instance history": true, "type history": true, "search": true, "search POST": true, "long waits": true},
		"v1-write": {"create": true, "update": true},
		"v2-rs":    {"read": true, "vread": true, "instance history": true, "type history": true, "search": true, "search POST": true, "availability": true, "regional capacity": true},
		"v2-r":     {"read": true, "vread": true, "instance history": true},
		"v2-cu":    {"create": true, "update": true},
	}
	for client, ok := range allow {
		for _, c := range calls {
			hdr := []string{bearer(tok[client])}
			body := c.body
			if c.name == "search POST" {
				body = "family=Jansen"
				hdr = append(hdr, "Content-Type: application/x-www-form-urlencoded")
			}
			r := g.Do(t, c.method, c.path, body, hdr...)
			switch {
			case ok[c.name] && (r.Status == 401 || r.Status == 403):
				t.Errorf("%s %s: %d, want allowed: %s", client, c.name, r.Status, r.Body)
			case ok[c.name] && r.Status != okStatus(c.name):
				t.Errorf("%s %s: %d, want %d: %s", client, c.name, r.Status, okStatus(c.name), r.Body)
			case !ok[c.name] && r.Status != 403:
				t.Errorf("%s %s: %d, want 403: %s", client, c.name, r.Status, r.Body)
			case !ok[c.name]:
				outcome(t, r, 403, "forbidden", "needs scope")
			}
		}
	}
	// delete: only a d scope.
	outcome(t, g.Do(t, "DELETE", "/fhir/Patient/"+id, nil, bearer(tok["v2-cu"])), 403, "forbidden", "system/Patient.d")
	expect(t, g.Do(t, "DELETE", "/fhir/Patient/"+id, nil, bearer(tok["v1-write"])), 204)

	// A batch checks each entry: v2-rs may search Patient but not create a Slot.
	r := expect(t, g.Do(t, "POST", "/fhir", fmt.Sprintf(scopeBundle, "batch"), bearer(tok["v2-rs"])), 200)
	entries, _ := r.JSON(t)["entry"].([]any)
	if len(entries) != 2 || str(path(entries[0], "response", "status"))[:3] != "200" || str(path(entries[1], "response", "status"))[:3] != "403" {
		t.Fatalf("batch statuses: %s", r.Body)
	}
	// A transaction fails whole.
	outcome(t, g.Do(t, "POST", "/fhir", fmt.Sprintf(scopeBundle, "transaction"), bearer(tok["v2-rs"])), 403, "forbidden", "Bundle.entry[1]")
	expect(t, g.Do(t, "POST", "/fhir", fmt.Sprintf(scopeBundle, "transaction"), bearer(tok["zkh"])), 200)

	// $import needs write on every type its upload holds.
	nd := `{"resourceType":"Slot","id":"imp-1","status":"free","start":"2026-12-01T09:00:00+01:00","end":"2026-12-01T09:15:00+01:00","schedule":{"reference":"Schedule/s1"}}` + "\n" + patientJSON("imp-p", "999911120", "Smit") + "\n"
	expect(t, g.Do(t, "POST", "/fhir/$import", nd, bearer(tok["v2-cu"]), "Content-Type: application/fhir+ndjson"), 200)
	r = g.Do(t, "POST", "/fhir/$import", nd, bearer(g.Token(t, "v2-cu", "system/Slot.cu")), "Content-Type: application/fhir+ndjson")
	outcome(t, r, 403, "forbidden", "$import of Patient")
}

// Public routes answer without a token; the admin surface needs an admin.
func TestAuthPublicAndAdminSurface(t *testing.T) {
	g, _ := authGateway(t, nil)
	for _, p := range []string{"/healthz", "/readyz", "/fhir/metadata", "/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration", "/auth/jwks", "/fhir/$bulk-publish"} {
		expect(t, g.Do(t, "GET", p, nil), 200)
	}
	d := expect(t, g.Do(t, "GET", "/fhir/.well-known/smart-configuration", nil), 200).JSON(t)
	if d["token_endpoint"] != g.URL+"/auth/token" || d["jwks_uri"] != g.URL+"/auth/jwks" {
		t.Fatalf("discovery: %v", d)
	}
	md := expect(t, g.Do(t, "GET", "/fhir/metadata", nil), 200)
	if !strings.Contains(string(md.Body), "SMART-on-FHIR") || !strings.Contains(string(md.Body), g.URL+"/auth/token") {
		t.Fatalf("the CapabilityStatement does not announce SMART: %.600s", md.Body)
	}
	hosp, admin := g.Token(t, "zkh"), g.Token(t, "admin")
	for _, p := range []string{"/metrics", "/status"} {
		outcome(t, g.Do(t, "GET", p, nil), 401, "login")
		outcome(t, g.Do(t, "GET", p, nil, bearer(hosp)), 403, "forbidden", "admin")
		expect(t, g.Do(t, "GET", p, nil, bearer(admin)), 200)
	}
	// Every /admin path, served or not, is for admins only.
	outcome(t, g.Do(t, "GET", "/admin/hl7/dead-letters", nil), 401, "login")
	outcome(t, g.Do(t, "GET", "/admin/hl7/dead-letters", nil, bearer(hosp)), 403, "forbidden", "admin")
	if r := g.Do(t, "GET", "/admin/hl7/dead-letters", nil, bearer(admin)); r.Status == 401 || r.Status == 403 {
		t.Fatalf("admin refused on /admin: %d", r.Status)
	}
	r := expect(t, g.Do(t, "GET", "/fhir/Patient", nil, bearer(hosp)), 200)
	if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("security headers: %v", r.Header)
	}
}

// With --private-bulk-publish the manifest needs a token; --admin-addr
// moves the admin surface off the main listener.
func TestAuthPrivateBulkAndAdminAddr(t *testing.T) {
	g, _ := authGateway(t, nil, "--private-bulk-publish", "--admin-addr", "127.0.0.1:0")
	outcome(t, g.Do(t, "GET", "/fhir/$bulk-publish", nil), 401, "login")
	expect(t, g.Do(t, "GET", "/fhir/$bulk-publish", nil, bearer(g.Token(t, "zkh"))), 200)
	outcome(t, g.Do(t, "GET", "/metrics", nil, bearer(g.Token(t, "admin"))), 404, "not-found")
	m := adminAddrRE.FindStringSubmatch(g.Stderr.String())
	if m == nil {
		t.Fatalf("no admin address in the log: %s", g.Stderr.String())
	}
	expect(t, g.Do(t, "GET", m[1]+"/metrics", nil), 200)
	if r := g.Do(t, "GET", m[1]+"/fhir/Patient", nil); r.Status != 404 {
		t.Fatalf("the admin listener serves FHIR: %d", r.Status)
	}
}

// A client over its rate limit gets 429 with Retry-After.
func TestAuthRateLimit(t *testing.T) {
	g, _ := authGateway(t, map[string]any{"rate_limit": map[string]any{"requests": 3, "window": "1h"}})
	tok := g.Token(t, "v2-rs") // the token request counts as one
	expect(t, g.Do(t, "GET", "/fhir/Patient", nil, bearer(tok)), 200)
	expect(t, g.Do(t, "GET", "/fhir/Patient", nil, bearer(tok)), 200)
	r := g.Do(t, "GET", "/fhir/Patient", nil, bearer(tok))
	outcome(t, r, 429, "throttled", "rate limit")
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 3600 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	// Another client has its own window.
	expect(t, g.Do(t, "GET", "/fhir/Patient", nil, bearer(g.Token(t, "v1-read"))), 200)
}

var (
	adminAddrRE = regexp.MustCompile(`admin surface \(/metrics, /status, /admin/\*\) served at (http://[0-9.:]+)`)
	demoTokenRE = regexp.MustCompile(`export (INSURER|HOSPITAL|ADMIN)_TOKEN=(\S+)`)
)

// --demo with authentication on registers the demo clients and prints
// tokens that work as printed.
func TestDemoPrintsWorkingTokens(t *testing.T) {
	g := StartGateway(t, GatewayOptions{Args: []string{"--demo", "--insecure-dev=false"}})
	toks := map[string]string{}
	for _, m := range demoTokenRE.FindAllStringSubmatch(g.Stderr.String(), -1) {
		toks[m[1]] = m[2]
	}
	if len(toks) != 3 {
		t.Fatalf("want 3 demo tokens in the log: %s", g.Stderr.String())
	}
	outcome(t, g.Do(t, "GET", "/fhir/ServiceRequest/demo-sr-0001", nil), 401, "login")
	expect(t, g.Do(t, "GET", "/fhir/ServiceRequest/demo-sr-0001", nil, bearer(toks["HOSPITAL"])), 200)
	expect(t, g.Do(t, "GET", "/metrics", nil, bearer(toks["ADMIN"])), 200)
	outcome(t, g.Do(t, "GET", "/metrics", nil, bearer(toks["INSURER"])), 403, "forbidden")
	outcome(t, g.Do(t, "DELETE", "/fhir/ServiceRequest/demo-sr-0001", nil, bearer(toks["INSURER"])), 403, "forbidden")
}

// --insecure-dev is refused (exit 2) unless bound to loopback; without it
// and without an --auth-config serve refuses to start.
func TestInsecureDevNeedsLoopback(t *testing.T) {
	url := redistest.Shared(t).URL()
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0"} {
		code, out := run(t, nil, "serve", "--insecure-dev", "--addr", addr, "--redis-url", url, "--key-prefix", redistest.Prefix(t))
		if code != 2 || !strings.Contains(out, "--insecure-dev") || !strings.Contains(out, "loopback") {
			t.Errorf("--insecure-dev on %s: exit %d: %s", addr, code, out)
		}
	}
	code, out := run(t, nil, "serve", "--addr", "127.0.0.1:0", "--redis-url", url, "--key-prefix", redistest.Prefix(t))
	if code != 2 || !strings.Contains(out, "--auth-config") {
		t.Errorf("no auth config: exit %d: %s", code, out)
	}
}

// Hostile shapes: deep JSON, long arrays and costly queries are 400s that
// say which limit was hit.
func TestHostileInputLimits(t *testing.T) {
	g := StartGateway(t, GatewayOptions{Args: []string{"--max-json-depth", "12", "--max-json-items", "50"}})
	deep := `{"resourceType":"Patient","extension":[` + strings.Repeat(`{"url":"x","extension":[`, 10) + strings.Repeat(`]}`, 10) + `]}`
	outcome(t, g.Do(t, "POST", "/fhir/Patient", deep), 400, "structure", "deep")
	long := `{"resourceType":"Patient","name":[` + strings.TrimSuffix(strings.Repeat(`{"family":"x"},`, 60), ",") + `]}`
	outcome(t, g.Do(t, "POST", "/fhir/Patient", long), 400, "structure")
	outcome(t, g.Do(t, "GET", "/fhir/ServiceRequest?subject:Patient.organization.partof.partof.name=x", nil), 400, "too-costly", "chains 4")
	inc := "/fhir/ServiceRequest?" + strings.TrimSuffix(strings.Repeat("_include=ServiceRequest:subject&", 11), "&")
	outcome(t, g.Do(t, "GET", inc, nil), 400, "too-costly", "11 _include")
	it := "/fhir/ServiceRequest?_include:iterate=ServiceRequest:subject&_include:iterate=Patient:organization&_revinclude:iterate=Task:focus"
	outcome(t, g.Do(t, "GET", it, nil), 400, "too-costly", ":iterate")
	outcome(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "999914121", "X"), "Content-Type: text/plain"), 415, "")
}

// Gateways on one Redis derive the same signing keys from the deployment
// key: a token from one is good at the other, and after a restart.
func TestAuthTokensAcrossGateways(t *testing.T) {
	prefix := redistest.Prefix(t)
	opts := func() GatewayOptions {
		return GatewayOptions{Prefix: prefix, Auth: &AuthOptions{Clients: []TestClient{{ID: "zkh", Role: "hospital", Org: "06990101", Scopes: []string{"system/*.rs"}}}}}
	}
	a := StartGateway(t, opts())
	tok := a.Token(t, "zkh")
	b := StartGateway(t, opts())
	expect(t, b.Do(t, "GET", "/fhir/Patient", nil, bearer(tok)), 200)
	a.Stop()
	a2 := StartGateway(t, opts())
	expect(t, a2.Do(t, "GET", "/fhir/Patient", nil, bearer(tok)), 200)
	// The JWKS of both is the same set.
	ja := expect(t, b.Do(t, "GET", "/auth/jwks", nil), 200).Body
	jb := expect(t, a2.Do(t, "GET", "/auth/jwks", nil), 200).Body
	if string(ja) != string(jb) {
		t.Fatalf("two gateways publish different keys:\n%s\n%s", ja, jb)
	}
}
