package tests

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/wachtwijzer/wachtwijzer/smart"
)

// AuthOptions configure a gateway with authentication on.
type AuthOptions struct {
	Clients []TestClient
	// Config are extra top-level fields of the config file (issuer,
	// rate_limit, trusted_issuers, …).
	Config map[string]any
}

// TestClient is a registered client; its key pair is generated per test
// (RSA 2048 when RSA, else P-256).
type TestClient struct {
	ID, Role, Org string
	Scopes        []string
	RSA           bool
}

type testClient struct {
	TestClient
	key crypto.Signer
	kid string
}

func newKey(t testing.TB, useRSA bool) crypto.Signer {
	t.Helper()
	if useRSA {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writeAuthConfig writes the --auth-config file: each client's JWKS
// inline, except the first, whose JWKS goes to a file (jwks_file).
func writeAuthConfig(t testing.TB, o *AuthOptions) (string, map[string]*testClient) {
	t.Helper()
	dir := t.TempDir()
	clients := map[string]*testClient{}
	var list []map[string]any
	for i, c := range o.Clients {
		k := newKey(t, c.RSA)
		j, err := smart.PublicJWK(k.Public(), "")
		if err != nil {
			t.Fatal(err)
		}
		clients[c.ID] = &testClient{TestClient: c, key: k, kid: j.Kid}
		entry := map[string]any{"client_id": c.ID, "role": c.Role, "organization": c.Org, "scopes": c.Scopes}
		set := map[string]any{"keys": []smart.JWK{j}}
		if i == 0 {
			b, _ := json.Marshal(set)
			if err := os.WriteFile(filepath.Join(dir, c.ID+".jwks.json"), b, 0o600); err != nil {
				t.Fatal(err)
			}
			entry["jwks_file"] = c.ID + ".jwks.json"
		} else {
			entry["jwks"] = set
		}
		list = append(list, entry)
	}
	cfg := map[string]any{"clients": list}
	for k, v := range o.Config {
		cfg[k] = v
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	path := filepath.Join(dir, "auth.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, clients
}

// tokenURL is where the gateway's token endpoint is (and the audience of
// client assertions when no issuer is configured).
func (g *Gateway) tokenURL() string { return g.URL + "/auth/token" }

// Credentials is a SMART Backend Services client for a configured client.
func (g *Gateway) Credentials(t testing.TB, id string, scopes ...string) *smart.ClientCredentials {
	t.Helper()
	c := g.clients[id]
	if c == nil {
		t.Fatalf("no test client %q", id)
	}
	return &smart.ClientCredentials{TokenURL: g.tokenURL(), ClientID: id, Key: c.key, KeyID: c.kid, Scopes: scopes, HTTP: client}
}

// Token obtains a real access token for client id: a signed client
// assertion POSTed to /auth/token.
func (g *Gateway) Token(t testing.TB, id string, scopes ...string) string {
	t.Helper()
	tok, err := g.Credentials(t, id, scopes...).Token(context.Background())
	if err != nil {
		t.Fatalf("token for %s: %v", id, err)
	}
	return tok
}

// bearer is the Authorization header of a token.
func bearer(tok string) string { return "Authorization: Bearer " + tok }

// testIssuer is an external authorisation server the gateway trusts: it
// publishes its JWKS over HTTP and mints tokens the test shapes.
type testIssuer struct {
	URL string // its JWKS URL
	Key crypto.Signer
	Kid string
	Pub smart.JWK
}

func newTestIssuer(t testing.TB) *testIssuer {
	t.Helper()
	k := newKey(t, true)
	j, err := smart.PublicJWK(k.Public(), "idp-key-1")
	if err != nil {
		t.Fatal(err)
	}
	set := (&smart.JWKS{Keys: []smart.JWK{j}}).Bytes()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(set)
	}))
	t.Cleanup(srv.Close)
	return &testIssuer{URL: srv.URL + "/jwks", Key: k, Kid: j.Kid, Pub: j}
}
