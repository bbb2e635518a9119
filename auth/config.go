package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/smart"
)

// Config is the --auth-config file:
//
//	{
//	  "issuer": "https://gw.example.nl",          // optional: default scheme://host of each request
//	  "token_lifetime": "5m",                     // access tokens (default 5m, at most 1h)
//	  "key_rotation": "24h",                      // signing-key rotation (default 24h)
//	  "rate_limit": {"requests": 600, "window": "1m"},  // per client (default 600 per minute; 0: off)
//	  "clients": [{
//	    "client_id": "zilveren-kruis",
//	    "role": "insurer",                        // insurer, hospital or admin
//	    "organization": "3311",                   // UZOVI (insurer) or AGB/URA (hospital)
//	    "scopes": ["system/ServiceRequest.rs", "system/Slot.read"],
//	    "jwks": {"keys": [...]},                  // or "jwks_file": "zk.jwks.json" (relative to the config)
//	    "cert_sha256": "hex"                       // optional: mTLS client certificate (SHA-256 of its DER)
//	  }],
//	  "trusted_issuers": [{"issuer": "https://idp.example.nl", "jwks_url": "https://idp.example.nl/jwks", "audience": "https://gw.example.nl/fhir"}]
//	}
//
// Tokens of a trusted issuer must name a configured client in client_id
// (or sub); that client's role, organisation and allowed scopes apply.
type Config struct {
	Issuer         string          `json:"issuer,omitempty"`
	TokenLifetime  Duration        `json:"token_lifetime,omitempty"`
	KeyRotation    Duration        `json:"key_rotation,omitempty"`
	RateLimit      *RateLimit      `json:"rate_limit,omitempty"`
	Clients        []*Client       `json:"clients"`
	TrustedIssuers []TrustedIssuer `json:"trusted_issuers,omitempty"`
}

// RateLimit is a per-client fixed window.
type RateLimit struct {
	Requests int      `json:"requests"`
	Window   Duration `json:"window"`
}

// Client is a registered backend-services client.
type Client struct {
	ClientID     string   `json:"client_id"`
	Role         ww.Role  `json:"role"`
	Organization string   `json:"organization,omitempty"`
	Scopes       []string `json:"scopes"`
	// JWKS is the client's key set: "jwks" inline (JWKSInline) or read
	// from "jwks_file".
	JWKS       *smart.JWKS     `json:"-"`
	JWKSInline json.RawMessage `json:"jwks,omitempty"`
	JWKSFile   string          `json:"jwks_file,omitempty"`
	CertSHA256 string          `json:"cert_sha256,omitempty"`

	allowed *Grants
}

// TrustedIssuer is an external authorisation server whose tokens the
// gateway accepts.
type TrustedIssuer struct {
	Issuer   string `json:"issuer"`
	JWKSURL  string `json:"jwks_url"`
	Audience string `json:"audience,omitempty"`
}

// Duration is a JSON duration ("5m").
type Duration time.Duration

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"5m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// LoadConfig reads and checks a configuration file; jwks_file paths are
// relative to its directory.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth config: %w", err)
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a misspelt field must not silently drop a setting
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("auth config %s: %w", path, err)
	}
	for _, cl := range c.Clients {
		if cl == nil {
			continue
		}
		if len(cl.JWKSInline) > 0 && cl.JWKSFile != "" {
			return nil, fmt.Errorf("auth config: client %q has both jwks and jwks_file", cl.ClientID)
		}
		if len(cl.JWKSInline) > 0 {
			var err error
			if cl.JWKS, err = smart.ParseJWKS(cl.JWKSInline); err != nil {
				return nil, fmt.Errorf("auth config: client %q: jwks: %w", cl.ClientID, err)
			}
		}
		if cl.JWKSFile != "" && cl.JWKS == nil {
			f := cl.JWKSFile
			if !filepath.IsAbs(f) {
				f = filepath.Join(filepath.Dir(path), f)
			}
			jb, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("auth config: client %q: %w", cl.ClientID, err)
			}
			if cl.JWKS, err = smart.ParseJWKS(jb); err != nil {
				return nil, fmt.Errorf("auth config: client %q: %s: %w", cl.ClientID, f, err)
			}
		}
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("auth config %s: %w", path, err)
	}
	return &c, nil
}

// check validates the configuration and fills the defaults.
func (c *Config) check() error {
	if c.TokenLifetime == 0 {
		c.TokenLifetime = Duration(5 * time.Minute)
	}
	if c.TokenLifetime < Duration(time.Minute) || c.TokenLifetime > Duration(time.Hour) {
		return fmt.Errorf("token_lifetime must lie between 1m and 1h")
	}
	if c.KeyRotation == 0 {
		c.KeyRotation = Duration(24 * time.Hour)
	}
	if c.KeyRotation < c.TokenLifetime {
		return fmt.Errorf("key_rotation must be at least token_lifetime")
	}
	if c.RateLimit == nil {
		c.RateLimit = &RateLimit{Requests: 600, Window: Duration(time.Minute)}
	}
	if c.RateLimit.Requests > 0 && c.RateLimit.Window < Duration(time.Second) {
		return fmt.Errorf("rate_limit.window must be at least 1s")
	}
	c.Issuer = strings.TrimSuffix(c.Issuer, "/")
	seen := map[string]bool{}
	for i, cl := range c.Clients {
		if cl == nil || cl.ClientID == "" {
			return fmt.Errorf("clients[%d] has no client_id", i)
		}
		if seen[cl.ClientID] {
			return fmt.Errorf("client %q is listed twice", cl.ClientID)
		}
		seen[cl.ClientID] = true
		switch cl.Role {
		case ww.RoleAdmin, ww.RoleHospital, ww.RoleInsurer:
		default:
			return fmt.Errorf("client %q: role %q is not insurer, hospital or admin", cl.ClientID, cl.Role)
		}
		if cl.Role != ww.RoleAdmin && cl.Organization == "" {
			return fmt.Errorf("client %q: a %s client needs its organization (AGB/URA or UZOVI)", cl.ClientID, cl.Role)
		}
		g, err := ParseGrants(strings.Join(cl.Scopes, " "))
		if err != nil {
			return fmt.Errorf("client %q: %w", cl.ClientID, err)
		}
		cl.allowed = g
		if cl.JWKS == nil && cl.CertSHA256 == "" {
			return fmt.Errorf("client %q has neither jwks, jwks_file nor cert_sha256", cl.ClientID)
		}
		if cl.JWKS != nil {
			if _, err := smart.ParseJWKS(cl.JWKS.Bytes()); err != nil {
				return fmt.Errorf("client %q: %w", cl.ClientID, err)
			}
		}
		if cl.CertSHA256 != "" {
			cl.CertSHA256 = strings.ToLower(strings.ReplaceAll(cl.CertSHA256, ":", ""))
			if b, err := hex.DecodeString(cl.CertSHA256); err != nil || len(b) != sha256.Size {
				return fmt.Errorf("client %q: cert_sha256 must be 64 hex digits", cl.ClientID)
			}
		}
	}
	for i, t := range c.TrustedIssuers {
		if t.Issuer == "" || !strings.HasPrefix(t.JWKSURL, "https://") && !strings.HasPrefix(t.JWKSURL, "http://") {
			return fmt.Errorf("trusted_issuers[%d] needs issuer and an http(s) jwks_url", i)
		}
	}
	return nil
}

// client finds a configured client.
func (c *Config) client(id string) *Client {
	for _, cl := range c.Clients {
		if cl.ClientID == id {
			return cl
		}
	}
	return nil
}
