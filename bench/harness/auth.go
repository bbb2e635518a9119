package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wachtwijzer/wachtwijzer/smart"
)

// writeBenchAuth writes the --auth config of an --auth run: one admin
// client with a fresh P-256 key, hour-long tokens and a rate limit far
// above what a run sends (so the limiter's Redis round trip is measured,
// never its refusals).
func writeBenchAuth(dir string) (string, crypto.Signer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, err
	}
	j, err := smart.PublicJWK(k.Public(), "")
	if err != nil {
		return "", nil, err
	}
	cfg := map[string]any{
		"token_lifetime": "1h", "key_rotation": "24h",
		"rate_limit": map[string]any{"requests": 1 << 30, "window": "1m"},
		"clients":    []map[string]any{{"client_id": "bench-admin", "role": "admin", "scopes": []string{"system/*.*"}, "jwks": map[string]any{"keys": []smart.JWK{j}}}},
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	path := filepath.Join(dir, "bench-auth.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return "", nil, err
	}
	return path, k, nil
}

// benchToken gets the run's access token through /auth/token.
func benchToken(ctx context.Context, gwURL string, key crypto.Signer) (string, error) {
	j, _ := smart.PublicJWK(key.Public(), "")
	cc := &smart.ClientCredentials{TokenURL: gwURL + "/auth/token", ClientID: "bench-admin", Key: key, KeyID: j.Kid}
	tok, err := cc.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("bench token: %w", err)
	}
	return tok, nil
}
