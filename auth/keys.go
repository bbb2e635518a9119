package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/smart"
)

// Keys are the gateway's signing keys: the current one signs; after
// Rotation a new key takes over and the previous one stays (for
// verification and in the JWKS) until every token it signed has expired.
type Keys struct {
	Clock ww.Clock
	// Rotation is how long a key signs (default 24h).
	Rotation time.Duration
	// Lifetime is the longest a token lives (previous keys are kept this
	// long after they stop signing).
	Lifetime time.Duration
	// Generate makes a new key (default ECDSA P-256).
	Generate func() (crypto.Signer, error)
	// Seed, when set, derives the keys instead: the key of rotation epoch
	// e (Unix time / Rotation) is the P-256 key whose scalar is
	// HMAC-SHA256(Seed, "wachtwijzer auth signing key" e). Every gateway
	// with the same Seed (the store's deployment key) signs and verifies
	// with the same keys, across restarts, without sharing key material.
	Seed []byte

	mu   sync.Mutex
	keys []*signingKey // newest first
}

type signingKey struct {
	signer  crypto.Signer
	kid     string
	created time.Time
	pub     smart.JWK
}

func generateP256() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

// rotate makes sure a current key exists and drops retired ones; callers
// hold mu.
func (k *Keys) rotate() error {
	now := k.Clock.Now()
	if len(k.Seed) > 0 {
		return k.rotateDerived(now)
	}
	if len(k.keys) == 0 || now.Sub(k.keys[0].created) >= k.Rotation {
		gen := k.Generate
		if gen == nil {
			gen = generateP256
		}
		s, err := gen()
		if err != nil {
			return fmt.Errorf("auth: generate a signing key: %w", err)
		}
		j, err := smart.PublicJWK(s.Public(), "")
		if err != nil {
			return fmt.Errorf("auth: signing key: %w", err)
		}
		k.keys = append([]*signingKey{{signer: s, kid: j.Kid, created: now, pub: j}}, k.keys...)
	}
	// A key that stopped signing when its successor was created verifies
	// tokens until Lifetime after that.
	for i := 1; i < len(k.keys); i++ {
		if now.Sub(k.keys[i-1].created) > k.Lifetime+time.Minute {
			k.keys = k.keys[:i]
			break
		}
	}
	return nil
}

// rotateDerived keeps the current epoch's derived key and the previous
// one while tokens it signed may live; callers hold mu.
func (k *Keys) rotateDerived(now time.Time) error {
	e := now.UnixNano() / int64(k.Rotation)
	if len(k.keys) > 0 && k.keys[0].created.Equal(time.Unix(0, e*int64(k.Rotation))) {
		if len(k.keys) > 1 && now.Sub(k.keys[0].created) > k.Lifetime+time.Minute {
			k.keys = k.keys[:1]
		}
		return nil
	}
	var keys []*signingKey
	for _, ep := range []int64{e, e - 1} {
		start := time.Unix(0, ep*int64(k.Rotation))
		if ep == e-1 && now.Sub(time.Unix(0, e*int64(k.Rotation))) > k.Lifetime+time.Minute {
			break
		}
		s, err := k.derive(ep)
		if err != nil {
			return err
		}
		j, err := smart.PublicJWK(s.Public(), "")
		if err != nil {
			return fmt.Errorf("auth: signing key: %w", err)
		}
		keys = append(keys, &signingKey{signer: s, kid: j.Kid, created: start, pub: j})
	}
	k.keys = keys
	return nil
}

// derive is the key of epoch e.
func (k *Keys) derive(e int64) (crypto.Signer, error) {
	for i := 0; ; i++ {
		m := hmac.New(sha256.New, k.Seed)
		fmt.Fprintf(m, "wachtwijzer auth signing key %d/%d/%d", int64(k.Rotation), e, i)
		if key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), m.Sum(nil)); err == nil {
			return key, nil
		} else if i > 8 {
			return nil, fmt.Errorf("auth: derive the signing key: %w", err)
		}
	}
}

// Sign signs claims with the current key.
func (k *Keys) Sign(c *smart.Claims) (string, error) {
	k.mu.Lock()
	if err := k.rotate(); err != nil {
		k.mu.Unlock()
		return "", err
	}
	cur := k.keys[0]
	k.mu.Unlock()
	return smart.Sign(cur.signer, cur.kid, c)
}

// Key finds a published key by kid (a smart.KeySet).
func (k *Keys) Key(kid string) (crypto.PublicKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	_ = k.rotate()
	for _, s := range k.keys {
		if s.kid == kid {
			return s.signer.Public(), true
		}
	}
	return nil, false
}

// has reports whether kid is one of the published keys.
func (k *Keys) has(kid string) bool {
	_, ok := k.Key(kid)
	return ok
}

// JWKS returns the published set: the current and the still-valid
// previous keys.
func (k *Keys) JWKS() *smart.JWKS {
	k.mu.Lock()
	defer k.mu.Unlock()
	_ = k.rotate()
	s := &smart.JWKS{}
	for _, x := range k.keys {
		s.Keys = append(s.Keys, x.pub)
	}
	return s
}
