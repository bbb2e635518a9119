package smart

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
)

var (
	rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _  = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now       = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
)

func keySet(t *testing.T, keys map[string]crypto.Signer) *JWKS {
	t.Helper()
	s := &JWKS{}
	for kid, k := range keys {
		j, err := PublicJWK(k.Public(), kid)
		if err != nil {
			t.Fatal(err)
		}
		s.Keys = append(s.Keys, j)
	}
	parsed, err := ParseJWKS(s.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

func claims() *Claims {
	return &Claims{Issuer: "https://gw.example.nl", Subject: "client-1", Audience: Audience{"https://gw.example.nl/fhir"},
		IssuedAt: now.Unix(), Expiry: now.Add(5 * time.Minute).Unix(), ID: "j1", Scope: "system/Slot.rs",
		Extra: map[string]any{"org": "06020502"}}
}

func opts() VerifyOptions {
	return VerifyOptions{Issuer: "https://gw.example.nl", Audience: "https://gw.example.nl/fhir", Clock: &ww.FixedClock{T: now}}
}

func TestSignVerifyRS256AndES256(t *testing.T) {
	ks := keySet(t, map[string]crypto.Signer{"r1": rsaKey, "e1": ecKey})
	for kid, key := range map[string]crypto.Signer{"r1": rsaKey, "e1": ecKey} {
		tok, err := Sign(key, kid, claims())
		if err != nil {
			t.Fatal(err)
		}
		c, h, err := Verify(tok, ks, opts())
		if err != nil {
			t.Fatalf("%s: %v", kid, err)
		}
		if c.Subject != "client-1" || c.Scope != "system/Slot.rs" || c.Extra["org"] != "06020502" || h.Kid != kid {
			t.Fatalf("%s: claims %+v header %+v", kid, c, h)
		}
	}
}

func forge(header, claims string, sig []byte) string {
	return b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(claims)) + "." + b64.EncodeToString(sig)
}

func TestVerifyRefusesHostileTokens(t *testing.T) {
	ks := keySet(t, map[string]crypto.Signer{"r1": rsaKey})
	good, _ := Sign(rsaKey, "r1", claims())
	cb, _ := json.Marshal(claims())
	// HS256 "signed" with the RSA public key as the HMAC secret.
	pubJWK, _ := PublicJWK(rsaKey.Public(), "r1")
	hsInput := b64.EncodeToString([]byte(`{"alg":"HS256","kid":"r1"}`)) + "." + b64.EncodeToString(cb)
	m := hmac.New(sha256.New, []byte(pubJWK.N))
	m.Write([]byte(hsInput))
	hs := hsInput + "." + b64.EncodeToString(m.Sum(nil))
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + b64.EncodeToString([]byte(strings.Replace(string(cb), "client-1", "client-2", 1))) + "." + parts[2]
	sign := func(mut func(*Claims)) string {
		c := claims()
		mut(c)
		tok, _ := Sign(rsaKey, "r1", c)
		return tok
	}
	unknown, _ := Sign(rsaKey, "nope", claims())
	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"alg none", forge(`{"alg":"none"}`, string(cb), nil), ErrAlgorithm},
		{"HS256 with the public key", hs, ErrAlgorithm},
		{"tampered claims", tampered, ErrSignature},
		{"unknown kid", unknown, ErrUnknownKey},
		{"expired", sign(func(c *Claims) { c.Expiry = now.Add(-2 * time.Minute).Unix() }), ErrExpired},
		{"no exp", sign(func(c *Claims) { c.Expiry = 0 }), ErrExpired},
		{"not yet valid", sign(func(c *Claims) { c.NotBefore = now.Add(10 * time.Minute).Unix() }), ErrNotYetValid},
		{"wrong audience", sign(func(c *Claims) { c.Audience = Audience{"https://other"} }), ErrAudience},
		{"wrong issuer", sign(func(c *Claims) { c.Issuer = "https://evil" }), ErrIssuer},
		{"two parts", "a.b", ErrMalformed},
		{"garbage header", "!!.b.c", ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Verify(c.token, ks, opts())
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	// Within the leeway an expired token still passes.
	late := sign(func(c *Claims) { c.Expiry = now.Add(-30 * time.Second).Unix() })
	if _, _, err := Verify(late, ks, opts()); err != nil {
		t.Fatalf("30 s past exp within the 60 s leeway: %v", err)
	}
}

func TestJWKRoundTripAndRefusals(t *testing.T) {
	for _, k := range []crypto.Signer{rsaKey, ecKey} {
		j, err := PublicJWK(k.Public(), "")
		if err != nil {
			t.Fatal(err)
		}
		if j.Kid != j.Thumbprint() || len(j.Kid) != 43 {
			t.Fatalf("default kid %q is not the thumbprint", j.Kid)
		}
		pub, err := j.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()) {
			t.Fatal("the key does not round-trip")
		}
	}
	if _, err := ParseJWKS([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA","d":"x"}]}`)); err == nil {
		t.Fatal("a JWKS with private material was accepted")
	}
	bad := JWK{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(make([]byte, 32)), Y: b64.EncodeToString(append(make([]byte, 31), 1))}
	if _, err := bad.PublicKey(); err == nil {
		t.Fatal("a point off the curve was accepted")
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := PublicJWK(small.Public(), ""); err == nil {
		t.Fatal("a 1024-bit RSA key was accepted")
	}
	pemb, _ := MarshalPrivateKeyPEM(ecKey)
	back, err := ParsePrivateKeyPEM(pemb)
	if err != nil || !back.Public().(*ecdsa.PublicKey).Equal(ecKey.Public()) {
		t.Fatalf("PEM round trip: %v", err)
	}
}

func TestClientCredentialsAssertsAndCachesUntilExpiry(t *testing.T) {
	clock := &ww.FixedClock{T: now}
	ks := keySet(t, map[string]crypto.Signer{"client-key": ecKey})
	var calls atomic.Int32
	var srvURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		r.ParseForm()
		if r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("client_assertion_type") != AssertionType {
			w.WriteHeader(400)
			w.Write([]byte(`{"error":"invalid_request"}`))
			return
		}
		c, _, err := Verify(r.Form.Get("client_assertion"), ks, VerifyOptions{Audience: srvURL + "/token", Clock: clock, MaxLifetime: 5 * time.Minute})
		if err != nil || c.Issuer != "zkh" || c.Subject != "zkh" || c.ID == "" {
			w.WriteHeader(401)
			w.Write([]byte(`{"error":"invalid_client","error_description":"bad assertion"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"tok-` + r.Form.Get("scope") + `","token_type":"Bearer","expires_in":300}`))
	}))
	defer srv.Close()
	srvURL = srv.URL
	cc := &ClientCredentials{TokenURL: srv.URL + "/token", ClientID: "zkh", Key: ecKey, KeyID: "client-key", Scopes: []string{"system/*.rs"}, Clock: clock, HTTP: srv.Client()}
	ctx := context.Background()
	tok, err := cc.Token(ctx)
	if err != nil || tok != "tok-system/*.rs" {
		t.Fatalf("token %q, %v", tok, err)
	}
	clock.Advance(4 * time.Minute)
	if _, err := cc.Token(ctx); err != nil || calls.Load() != 1 {
		t.Fatalf("a token 60 s from expiry was not cached: %d calls, %v", calls.Load(), err)
	}
	clock.Advance(40 * time.Second) // 20 s left < 30 s skew
	if _, err := cc.Token(ctx); err != nil || calls.Load() != 2 {
		t.Fatalf("an expiring token was not renewed: %d calls, %v", calls.Load(), err)
	}
	wrong := &ClientCredentials{TokenURL: srv.URL + "/token", ClientID: "zkh", Key: rsaKey, KeyID: "client-key", Clock: clock, HTTP: srv.Client()}
	var te *TokenError
	if _, err := wrong.Token(ctx); !errors.As(err, &te) || te.Status != 401 || te.Code != "invalid_client" {
		t.Fatalf("a client with the wrong key: %v", err)
	}
}
