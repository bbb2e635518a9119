package smart

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// The signing algorithms (JWA names).
const (
	RS256 = "RS256"
	ES256 = "ES256"
)

var b64 = base64.RawURLEncoding

// Header is a JOSE header.
type Header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid,omitempty"`
	Jku string `json:"jku,omitempty"`
}

// Audience is the aud claim: one string or an array of them.
type Audience []string

// MarshalJSON writes one audience as a string, several as an array.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON accepts a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = Audience{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return fmt.Errorf("aud must be a string or an array of strings")
	}
	*a = ss
	return nil
}

// Contains reports whether s is one of the audiences.
func (a Audience) Contains(s string) bool {
	for _, x := range a {
		if x == s {
			return true
		}
	}
	return false
}

// Claims are the registered JWT claims and the SMART ones Wachtwijzer uses;
// Extra keeps every other claim of a verified token.
type Claims struct {
	Issuer    string         `json:"iss,omitempty"`
	Subject   string         `json:"sub,omitempty"`
	Audience  Audience       `json:"aud,omitempty"`
	Expiry    int64          `json:"exp,omitempty"`
	NotBefore int64          `json:"nbf,omitempty"`
	IssuedAt  int64          `json:"iat,omitempty"`
	ID        string         `json:"jti,omitempty"`
	Scope     string         `json:"scope,omitempty"`
	ClientID  string         `json:"client_id,omitempty"`
	Extra     map[string]any `json:"-"`
}

// Sign returns the compact JWS of claims, signed with key (an
// *rsa.PrivateKey for RS256 or a P-256 *ecdsa.PrivateKey for ES256) and
// carrying kid in its header.
func Sign(key crypto.Signer, kid string, claims *Claims) (string, error) {
	alg, err := algFor(key.Public())
	if err != nil {
		return "", err
	}
	hb, _ := json.Marshal(Header{Alg: alg, Typ: "JWT", Kid: kid})
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	if len(claims.Extra) > 0 {
		var m map[string]any
		_ = json.Unmarshal(cb, &m)
		for k, v := range claims.Extra {
			if _, taken := m[k]; !taken {
				m[k] = v
			}
		}
		if cb, err = json.Marshal(m); err != nil {
			return "", err
		}
	}
	input := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	sum := sha256.Sum256([]byte(input))
	var sig []byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	case *ecdsa.PrivateKey:
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k, sum[:])
		if err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	default:
		return "", fmt.Errorf("smart: sign: unsupported key type %T", key)
	}
	if err != nil {
		return "", fmt.Errorf("smart: sign: %w", err)
	}
	return input + "." + b64.EncodeToString(sig), nil
}

func algFor(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("smart: RSA keys must have at least 2048 bits, this one has %d", k.N.BitLen())
		}
		return RS256, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("smart: EC keys must be on P-256 (ES256)")
		}
		return ES256, nil
	}
	return "", fmt.Errorf("smart: unsupported key type %T (use RSA for RS256 or P-256 for ES256)", pub)
}

// KeySet finds verification keys by key id.
type KeySet interface {
	// Key returns the public key with kid (kid "" when the token names
	// none: a set with one key may return it).
	Key(kid string) (crypto.PublicKey, bool)
}

// VerifyOptions say what Verify demands beyond a good signature.
type VerifyOptions struct {
	// Issuer, when set, must equal iss.
	Issuer string
	// Audience, when set, must be among aud.
	Audience string
	// Clock for exp/nbf/iat (default the system clock).
	Clock ww.Clock
	// Leeway tolerates clock skew (default 60 s).
	Leeway time.Duration
	// RequireExpiry refuses tokens without exp (default true; set
	// AllowNoExpiry to accept them).
	AllowNoExpiry bool
	// MaxLifetime, when set, refuses tokens whose exp lies further than this
	// after now (client assertions: at most 5 minutes).
	MaxLifetime time.Duration
}

// Errors Verify returns (wrapped in a *VerifyError with details).
var (
	ErrMalformed   = errors.New("malformed token")
	ErrAlgorithm   = errors.New("algorithm not allowed")
	ErrUnknownKey  = errors.New("unknown key")
	ErrSignature   = errors.New("bad signature")
	ErrExpired     = errors.New("token expired")
	ErrNotYetValid = errors.New("token not yet valid")
	ErrIssuer      = errors.New("wrong issuer")
	ErrAudience    = errors.New("wrong audience")
)

// VerifyError says why a token was refused: Reason is one of the Err
// values, Detail a message for people (never the token itself).
type VerifyError struct {
	Reason error
	Detail string
}

func (e *VerifyError) Error() string { return "smart: " + e.Reason.Error() + ": " + e.Detail }
func (e *VerifyError) Unwrap() error { return e.Reason }

func refuse(reason error, format string, args ...any) error {
	return &VerifyError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Verify checks a compact JWS and returns its claims and header.
func Verify(token string, keys KeySet, o VerifyOptions) (*Claims, *Header, error) {
	if o.Clock == nil {
		o.Clock = ww.SystemClock{}
	}
	if o.Leeway == 0 {
		o.Leeway = 60 * time.Second
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(token) > 16<<10 {
		return nil, nil, refuse(ErrMalformed, "a JWS has three dot-separated parts")
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, nil, refuse(ErrMalformed, "the header is not base64url")
	}
	var h Header
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, nil, refuse(ErrMalformed, "the header is not JSON")
	}
	if h.Alg != RS256 && h.Alg != ES256 {
		return nil, &h, refuse(ErrAlgorithm, "alg %q is not accepted; use RS256 or ES256", h.Alg)
	}
	pub, ok := keys.Key(h.Kid)
	if !ok {
		return nil, &h, refuse(ErrUnknownKey, "no key with kid %q", h.Kid)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, &h, refuse(ErrMalformed, "the signature is not base64url")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch h.Alg {
	case RS256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, &h, refuse(ErrAlgorithm, "key %q is not an RSA key, but alg is RS256", h.Kid)
		}
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) != nil {
			return nil, &h, refuse(ErrSignature, "the RS256 signature does not verify")
		}
	case ES256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P256() {
			return nil, &h, refuse(ErrAlgorithm, "key %q is not a P-256 key, but alg is ES256", h.Kid)
		}
		if len(sig) != 64 || !ecdsa.Verify(k, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return nil, &h, refuse(ErrSignature, "the ES256 signature does not verify")
		}
	}
	cb, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, &h, refuse(ErrMalformed, "the claims are not base64url")
	}
	var c Claims
	if err := json.Unmarshal(cb, &c); err != nil {
		return nil, &h, refuse(ErrMalformed, "the claims are not a JSON object of the expected types: %v", err)
	}
	_ = json.Unmarshal(cb, &c.Extra)
	for _, k := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "client_id"} {
		delete(c.Extra, k)
	}
	now := o.Clock.Now()
	switch {
	case c.Expiry == 0 && !o.AllowNoExpiry:
		return nil, &h, refuse(ErrExpired, "the token has no exp")
	case c.Expiry != 0 && now.After(time.Unix(c.Expiry, 0).Add(o.Leeway)):
		return nil, &h, refuse(ErrExpired, "the token expired at %s", time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339))
	case c.NotBefore != 0 && now.Add(o.Leeway).Before(time.Unix(c.NotBefore, 0)):
		return nil, &h, refuse(ErrNotYetValid, "the token is valid from %s", time.Unix(c.NotBefore, 0).UTC().Format(time.RFC3339))
	case c.IssuedAt != 0 && now.Add(o.Leeway).Before(time.Unix(c.IssuedAt, 0)):
		return nil, &h, refuse(ErrNotYetValid, "the token was issued in the future (%s)", time.Unix(c.IssuedAt, 0).UTC().Format(time.RFC3339))
	case o.MaxLifetime > 0 && c.Expiry != 0 && time.Unix(c.Expiry, 0).After(now.Add(o.MaxLifetime+o.Leeway)):
		return nil, &h, refuse(ErrExpired, "the token lives longer than the %s allowed", o.MaxLifetime)
	case o.Issuer != "" && c.Issuer != o.Issuer:
		return nil, &h, refuse(ErrIssuer, "iss %q is not %q", c.Issuer, o.Issuer)
	case o.Audience != "" && !c.Audience.Contains(o.Audience):
		return nil, &h, refuse(ErrAudience, "aud %v does not include %q", []string(c.Audience), o.Audience)
	}
	return &c, &h, nil
}

// Parse decodes a token's header and claims WITHOUT verifying anything (to
// find the issuer before choosing its key set). Never trust its result.
func Parse(token string) (*Claims, *Header, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, refuse(ErrMalformed, "a JWS has three dot-separated parts")
	}
	var h Header
	var c Claims
	hb, err1 := b64.DecodeString(parts[0])
	cb, err2 := b64.DecodeString(parts[1])
	if err1 != nil || err2 != nil || json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil {
		return nil, nil, refuse(ErrMalformed, "header or claims are not base64url JSON")
	}
	return &c, &h, nil
}
