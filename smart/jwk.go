package smart

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
)

// JWK is a public JSON Web Key (RSA or EC P-256).
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	// RSA
	N string `json:"n,omitempty"`
	E string `json:"e,omitempty"`
	// EC
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	// D is set only when a private key was (wrongly) published; ParseJWKS
	// refuses such a set.
	D string `json:"d,omitempty"`
}

// PublicJWK describes pub as a JWK with kid (empty: its RFC 7638
// thumbprint) and use "sig".
func PublicJWK(pub crypto.PublicKey, kid string) (JWK, error) {
	alg, err := algFor(pub)
	if err != nil {
		return JWK{}, err
	}
	var j JWK
	switch k := pub.(type) {
	case *rsa.PublicKey:
		j = JWK{Kty: "RSA", N: b64.EncodeToString(k.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PublicKey:
		x, y := make([]byte, 32), make([]byte, 32)
		k.X.FillBytes(x)
		k.Y.FillBytes(y)
		j = JWK{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(x), Y: b64.EncodeToString(y)}
	}
	j.Use, j.Alg = "sig", alg
	if kid == "" {
		kid = j.Thumbprint()
	}
	j.Kid = kid
	return j, nil
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of the key, base64url.
func (j JWK) Thumbprint() string {
	var s string
	switch j.Kty {
	case "RSA":
		s = `{"e":"` + j.E + `","kty":"RSA","n":"` + j.N + `"}`
	case "EC":
		s = `{"crv":"` + j.Crv + `","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`
	}
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:])
}

// PublicKey returns the key the JWK describes.
func (j JWK) PublicKey() (crypto.PublicKey, error) {
	switch j.Kty {
	case "RSA":
		n, err1 := b64.DecodeString(j.N)
		e, err2 := b64.DecodeString(j.E)
		if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("smart: JWK %q: bad RSA n or e", j.Kid)
		}
		k := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if k.N.BitLen() < 2048 || k.E < 3 {
			return nil, fmt.Errorf("smart: JWK %q: RSA keys need at least 2048 bits", j.Kid)
		}
		return k, nil
	case "EC":
		if j.Crv != "P-256" {
			return nil, fmt.Errorf("smart: JWK %q: curve %q is not supported (P-256 only)", j.Kid, j.Crv)
		}
		x, err1 := b64.DecodeString(j.X)
		y, err2 := b64.DecodeString(j.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return nil, fmt.Errorf("smart: JWK %q: bad EC x or y", j.Kid)
		}
		k := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
		// Refuse points not on the curve (invalid-curve attacks).
		if _, err := k.ECDH(); err != nil {
			return nil, fmt.Errorf("smart: JWK %q: the point is not on P-256", j.Kid)
		}
		return k, nil
	}
	return nil, fmt.Errorf("smart: JWK %q: kty %q is not supported (RSA or EC)", j.Kid, j.Kty)
}

// JWKS is a JSON Web Key Set; it is a KeySet.
type JWKS struct {
	Keys []JWK `json:"keys"`

	once sync.Once
	pub  map[string]crypto.PublicKey
}

// ParseJWKS reads a key set, refusing private key material and keys it
// cannot use.
func ParseJWKS(b []byte) (*JWKS, error) {
	var s JWKS
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("smart: JWKS is not JSON: %w", err)
	}
	for _, k := range s.Keys {
		if k.D != "" {
			return nil, fmt.Errorf("smart: JWKS key %q holds private key material", k.Kid)
		}
		if _, err := k.PublicKey(); err != nil {
			return nil, err
		}
	}
	return &s, nil
}

// Key finds a key by kid; without a kid, a set of one key returns it.
func (s *JWKS) Key(kid string) (crypto.PublicKey, bool) {
	s.once.Do(func() {
		s.pub = map[string]crypto.PublicKey{}
		for _, k := range s.Keys {
			if p, err := k.PublicKey(); err == nil {
				s.pub[k.Kid] = p
			}
		}
	})
	if kid == "" && len(s.pub) == 1 {
		for _, p := range s.pub {
			return p, true
		}
	}
	p, ok := s.pub[kid]
	return p, ok
}

// Bytes returns the set as JSON.
func (s *JWKS) Bytes() []byte {
	b, _ := json.Marshal(struct {
		Keys []JWK `json:"keys"`
	}{s.Keys})
	return b
}

// ParsePrivateKeyPEM reads an RSA or P-256 private key in PEM (PKCS #8,
// PKCS #1 "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY").
func ParsePrivateKeyPEM(b []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("smart: no PEM block in the private key file")
	}
	var key any
	var err error
	switch blk.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("smart: PEM block %q is not a private key", blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("smart: private key: %w", err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("smart: unsupported private key %T", key)
	}
	if _, err := algFor(s.Public()); err != nil {
		return nil, err
	}
	return s, nil
}

// MarshalPrivateKeyPEM writes a private key as PKCS #8 PEM.
func MarshalPrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
