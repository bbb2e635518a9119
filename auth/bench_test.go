package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http/httptest"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/smart"
)

// BenchmarkGuard is what authentication adds to a request once its token
// is cached: the cache lookup and the rate limiter (a Redis round trip
// once per chunk of 100). Compare it with a read's latency (bench/run).
func BenchmarkGuard(b *testing.B) {
	rdb := redistest.Shared(b).Client(b)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	j, _ := smart.PublicJWK(key.Public(), "")
	cfg := &Config{Issuer: "https://gw.test", RateLimit: &RateLimit{Requests: 1 << 30, Window: Duration(time.Minute)},
		Clients: []*Client{{ClientID: "c1", Role: ww.RoleAdmin, Scopes: []string{"system/*.*"}, JWKS: &smart.JWKS{Keys: []smart.JWK{j}}}}}
	s, err := New(Options{Config: cfg, Redis: rdb, Prefix: redistest.Prefix(b)})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := s.Issue("c1", "", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "https://gw.test/fhir/Patient/1", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, g, err := s.Authenticate(r)
		if err != nil || !g.Allows("Patient", Perm(Read)) {
			b.Fatal(err)
		}
		if w, err := s.Limiter().Allow(ctx, p.ClientID); err != nil || w != 0 {
			b.Fatal(w, err)
		}
	}
}
