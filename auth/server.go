package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fetch"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
	"github.com/wachtwijzer/wachtwijzer/smart"
)

// The endpoints the Server serves (the gateway mounts them).
const (
	TokenPath = "/auth/token"
	JWKSPath  = "/auth/jwks"
	// DiscoveryPath is served at the root and under /fhir.
	DiscoveryPath = "/.well-known/smart-configuration"
)

// Fetcher fetches a trusted issuer's JWKS (a *fetch.Client).
type Fetcher interface {
	Get(ctx context.Context, url, accept string, check fetch.Check) (*fetch.Response, error)
}

// Options configure a Server.
type Options struct {
	Config *Config
	// Redis holds the jti replay cache and the rate-limit counters.
	Redis redis.Cmdable
	// Prefix is the store's key prefix.
	Prefix string
	Clock  ww.Clock
	// BaseURL is the public FHIR base ("https://host/fhir"); the issuer is
	// Config.Issuer, else BaseURL without /fhir, else each request's
	// scheme://host.
	BaseURL string
	// Fetcher fetches trusted issuers' JWKS (default a fetch.Client).
	Fetcher Fetcher
	Logger  *slog.Logger
	// MaxTokenLifetime is the longest token Issue may mint (the demo's
	// long-lived tokens; default Config.TokenLifetime).
	MaxTokenLifetime time.Duration
	// SigningSeed derives the signing keys (Keys.Seed): the store's
	// deployment key, so every gateway on the Redis shares them. Empty:
	// random keys of this process only.
	SigningSeed []byte
}

// Server is the authorisation server and the bearer-token guard.
type Server struct {
	o       Options
	keys    *Keys
	limiter *Limiter

	mu    sync.Mutex
	cache map[string]*verified // access token → its verification, until exp

	issuersMu sync.Mutex
	issuers   map[string]*issuerKeys
}

type verified struct {
	p      *ww.Principal
	g      *Grants
	expiry time.Time
}

// issuerKeys is a trusted issuer's cached JWKS.
type issuerKeys struct {
	set     *smart.JWKS
	fetched time.Time
}

const maxCached = 10000

// New builds a Server.
func New(o Options) (*Server, error) {
	if o.Config == nil {
		return nil, errors.New("auth: no config")
	}
	if err := o.Config.check(); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if o.Redis == nil {
		return nil, errors.New("auth: no Redis for the jti replay cache")
	}
	if o.Clock == nil {
		o.Clock = ww.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxTokenLifetime < time.Duration(o.Config.TokenLifetime) {
		o.MaxTokenLifetime = time.Duration(o.Config.TokenLifetime)
	}
	if o.Fetcher == nil {
		o.Fetcher = fetch.New(fetch.Options{Source: "jwks", MaxBody: 1 << 20, Logger: o.Logger, Clock: o.Clock, RetryMax: 2,
			Timeout: 5 * time.Second, Deadline: 10 * time.Second, WaitMin: 200 * time.Millisecond, WaitMax: 2 * time.Second})
	}
	s := &Server{o: o, cache: map[string]*verified{}, issuers: map[string]*issuerKeys{},
		keys: &Keys{Clock: o.Clock, Rotation: time.Duration(o.Config.KeyRotation), Lifetime: o.MaxTokenLifetime, Seed: o.SigningSeed}}
	s.limiter = &Limiter{Redis: o.Redis, Prefix: o.Prefix, Clock: o.Clock, Requests: o.Config.RateLimit.Requests, Window: time.Duration(o.Config.RateLimit.Window)}
	return s, nil
}

// Keys returns the signing keys.
func (s *Server) Keys() *Keys { return s.keys }

// Limiter returns the per-client rate limiter.
func (s *Server) Limiter() *Limiter { return s.limiter }

// Issuer is the issuer for a request.
func (s *Server) Issuer(r *http.Request) string {
	if s.o.Config.Issuer != "" {
		return s.o.Config.Issuer
	}
	if s.o.BaseURL != "" {
		return strings.TrimSuffix(strings.TrimSuffix(s.o.BaseURL, "/"), "/fhir")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// audience is what our access tokens are for: the FHIR base.
func (s *Server) audience(r *http.Request) string { return s.Issuer(r) + "/fhir" }

// Discovery serves /.well-known/smart-configuration.
func (s *Server) Discovery(w http.ResponseWriter, r *http.Request) {
	iss := s.Issuer(r)
	doc := map[string]any{
		"issuer":                                iss,
		"token_endpoint":                        iss + TokenPath,
		"jwks_uri":                              iss + JWKSPath,
		"grant_types_supported":                 []string{"client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{smart.RS256, smart.ES256},
		"scopes_supported": []string{"system/*.read", "system/*.write", "system/*.*", "system/*.rs", "system/*.cruds"},
		"capabilities":     []string{"client-confidential-asymmetric", "permission-v1", "permission-v2"},
	}
	b, _ := json.Marshal(doc)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(b)
}

// JWKSHandler serves the published signing keys.
func (s *Server) JWKSHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Write(s.keys.JWKS().Bytes())
}

// oauthError is an RFC 6749 error response.
type oauthError struct {
	status      int
	code, desc  string
	retryAfter  time.Duration
	internalErr error
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func oerr(status int, code, format string, args ...any) *oauthError {
	return &oauthError{status: status, code: code, desc: fmt.Sprintf(format, args...)}
}

// Token serves POST /auth/token: the client_credentials grant with a
// private_key_jwt client assertion.
func (s *Server) Token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	body, err := s.token(r)
	if err != nil {
		var oe *oauthError
		if !errors.As(err, &oe) {
			oe = &oauthError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: "the token endpoint cannot check the assertion now; retry", internalErr: err}
		}
		if oe.internalErr != nil {
			s.o.Logger.Error("token endpoint", "err", oe.internalErr)
		} else {
			s.o.Logger.Info("token refused", "error", oe.code, "reason", oe.desc)
		}
		if oe.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((oe.retryAfter+time.Second-1)/time.Second)))
		}
		b, _ := json.Marshal(map[string]string{"error": oe.code, "error_description": oe.desc})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(oe.status)
		w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func (s *Server) token(r *http.Request) ([]byte, error) {
	if r.Method != http.MethodPost {
		return nil, oerr(http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST")
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return nil, oerr(http.StatusBadRequest, "invalid_request", "send the token request as application/x-www-form-urlencoded, not %q", mt)
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return nil, oerr(http.StatusBadRequest, "invalid_request", "the form cannot be read (at most 64 KiB)")
	}
	f := r.PostForm
	if gt := f.Get("grant_type"); gt != "client_credentials" {
		return nil, oerr(http.StatusBadRequest, "unsupported_grant_type", "grant_type %q is not supported; use client_credentials", gt)
	}
	if at := f.Get("client_assertion_type"); at != smart.AssertionType {
		return nil, oerr(http.StatusBadRequest, "invalid_request", "client_assertion_type must be %s", smart.AssertionType)
	}
	assertion := f.Get("client_assertion")
	if assertion == "" {
		return nil, oerr(http.StatusBadRequest, "invalid_request", "client_assertion is missing")
	}
	uc, _, err := smart.Parse(assertion)
	if err != nil {
		return nil, oerr(http.StatusUnauthorized, "invalid_client", "the client assertion is not a JWT")
	}
	cl := s.o.Config.client(uc.Issuer)
	if cl == nil || cl.JWKS == nil {
		return nil, oerr(http.StatusUnauthorized, "invalid_client", "client %q is not registered for private_key_jwt", clip(uc.Issuer))
	}
	iss := s.Issuer(r)
	c, _, err := smart.Verify(assertion, cl.JWKS, smart.VerifyOptions{Issuer: cl.ClientID, Audience: iss + TokenPath, Clock: s.o.Clock, MaxLifetime: 5 * time.Minute})
	if err != nil {
		return nil, oerr(http.StatusUnauthorized, "invalid_client", "the client assertion is refused: %s", reason(err))
	}
	if c.Subject != cl.ClientID {
		return nil, oerr(http.StatusUnauthorized, "invalid_client", "the client assertion's sub must equal its iss (the client id)")
	}
	if c.ID == "" {
		return nil, oerr(http.StatusUnauthorized, "invalid_client", "the client assertion has no jti")
	}
	if id := f.Get("client_id"); id != "" && id != cl.ClientID {
		return nil, oerr(http.StatusUnauthorized, "invalid_client", "client_id does not match the assertion")
	}
	if wait, err := s.limiter.Allow(r.Context(), cl.ClientID); err != nil {
		return nil, err
	} else if wait > 0 {
		return nil, &oauthError{status: http.StatusTooManyRequests, code: "slow_down", desc: "too many requests from this client; retry later", retryAfter: wait}
	}
	ttl := time.Unix(c.Expiry, 0).Add(time.Minute).Sub(s.o.Clock.Now())
	fresh, err := s.o.Redis.SetNX(r.Context(), redisstore.AuthReplayKey(s.o.Prefix, cl.ClientID, c.ID), "1", ttl).Result()
	if err != nil {
		return nil, fmt.Errorf("auth: jti replay cache: %w", err)
	}
	if !fresh {
		return nil, oerr(http.StatusUnauthorized, "invalid_client", "the client assertion's jti was used before (replay); sign a new assertion per request")
	}
	granted, err := grantFor(cl, f.Get("scope"))
	if err != nil {
		return nil, err
	}
	tok, exp, err := s.issue(cl, iss, granted, time.Duration(s.o.Config.TokenLifetime))
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": int64(exp / time.Second), "scope": granted})
}

// grantFor is the scope to grant: the requested scopes the client is
// allowed (all allowed ones when none is requested).
func grantFor(cl *Client, requested string) (string, error) {
	if strings.TrimSpace(requested) == "" {
		return strings.Join(cl.Scopes, " "), nil
	}
	var out []string
	for _, s := range strings.Fields(requested) {
		sc, err := ParseScope(s)
		if err != nil {
			return "", oerr(http.StatusBadRequest, "invalid_scope", "%v", err)
		}
		if sc.Context == "system" && cl.allowed.Covers(sc) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return "", oerr(http.StatusBadRequest, "invalid_scope", "none of the requested scopes is allowed for client %q (allowed: %s)", cl.ClientID, strings.Join(cl.Scopes, " "))
	}
	return strings.Join(out, " "), nil
}

// issue mints an access token.
func (s *Server) issue(cl *Client, iss, scope string, life time.Duration) (string, time.Duration, error) {
	now := s.o.Clock.Now()
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", 0, err
	}
	tok, err := s.keys.Sign(&smart.Claims{Issuer: iss, Subject: cl.ClientID, ClientID: cl.ClientID, Audience: smart.Audience{iss + "/fhir"},
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(life).Unix(), ID: hex.EncodeToString(jti[:]), Scope: scope})
	if err != nil {
		return "", 0, fmt.Errorf("auth: sign the access token: %w", err)
	}
	return tok, life, nil
}

// Issue mints an access token for a configured client directly (the demo's
// ready-to-use tokens), for issuer iss ("" : Config.Issuer or BaseURL).
func (s *Server) Issue(clientID, iss string, life time.Duration) (string, error) {
	cl := s.o.Config.client(clientID)
	if cl == nil {
		return "", fmt.Errorf("auth: no client %q", clientID)
	}
	if life <= 0 || life > s.o.MaxTokenLifetime {
		life = s.o.MaxTokenLifetime
	}
	if iss == "" {
		iss = s.Issuer(&http.Request{Host: "localhost"})
	}
	tok, _, err := s.issue(cl, strings.TrimSuffix(iss, "/"), strings.Join(cl.Scopes, " "), life)
	return tok, err
}

func reason(err error) string {
	var ve *smart.VerifyError
	if errors.As(err, &ve) {
		return ve.Reason.Error() + " (" + ve.Detail + ")"
	}
	return "it cannot be verified"
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func unauthorized(format string, args ...any) error {
	return ww.Errorf(ww.KindUnauthorized, "login", format, args...)
}

// Authenticate returns the principal and grants of a request: its bearer
// token (ours or a trusted issuer's) or, without one, a verified client
// certificate mapped to a client. Errors are 401s (or 503 when a trusted
// issuer's keys cannot be fetched).
func (s *Server) Authenticate(r *http.Request) (*ww.Principal, *Grants, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if p, g, ok := s.fromCertificate(r); ok {
			return p, g, nil
		}
		return nil, nil, unauthorized("this endpoint needs an access token: send Authorization: Bearer <token> (get one at %s%s with the client_credentials grant)", s.Issuer(r), TokenPath)
	}
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "bearer") || tok == "" {
		return nil, nil, unauthorized("the Authorization header must be \"Bearer <token>\"")
	}
	now := s.o.Clock.Now()
	s.mu.Lock()
	v, ok := s.cache[tok]
	s.mu.Unlock()
	if ok && now.Before(v.expiry) {
		return v.p, v.g, nil
	}
	v, err := s.verify(r, tok)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	if len(s.cache) >= maxCached {
		for k, e := range s.cache {
			if !now.Before(e.expiry) || len(s.cache) >= maxCached {
				delete(s.cache, k)
			}
		}
	}
	s.cache[tok] = v
	s.mu.Unlock()
	return v.p, v.g, nil
}

func (s *Server) verify(r *http.Request, tok string) (*verified, error) {
	uc, uh, err := smart.Parse(tok)
	if err != nil {
		return nil, unauthorized("the access token is refused: %s", reason(err))
	}
	ours := s.Issuer(r)
	var keys smart.KeySet
	aud := s.audience(r)
	derived := s.o.Config.Issuer == "" && s.o.BaseURL == ""
	switch {
	case uc.Issuer == ours:
		keys = s.keys
	case derived && s.trusted(uc.Issuer) == nil && s.keys.has(uh.Kid):
		// Without a configured issuer each request's host is the issuer;
		// a token we signed for another name of this host (localhost,
		// 127.0.0.1) is ours when our key verifies it.
		keys, aud = s.keys, uc.Issuer+"/fhir"
	default:
		ti := s.trusted(uc.Issuer)
		if ti == nil {
			return nil, unauthorized("the access token is refused: wrong issuer (iss %q is neither this server (%s) nor a trusted issuer)", clip(uc.Issuer), ours)
		}
		if ti.Audience != "" {
			aud = ti.Audience
		}
		ks, err := s.issuerKeys(r.Context(), ti, false)
		if err != nil {
			return nil, err
		}
		keys = ks
	}
	c, h, err := smart.Verify(tok, keys, smart.VerifyOptions{Issuer: uc.Issuer, Audience: aud, Clock: s.o.Clock})
	if err != nil && errors.Is(err, smart.ErrUnknownKey) && keys != s.keys && h != nil {
		// A trusted issuer may have rotated: fetch its keys once more.
		if ks, ferr := s.issuerKeys(r.Context(), s.trusted(uc.Issuer), true); ferr == nil {
			c, _, err = smart.Verify(tok, ks, smart.VerifyOptions{Issuer: uc.Issuer, Audience: aud, Clock: s.o.Clock})
		}
	}
	if err != nil {
		return nil, unauthorized("the access token is refused: %s", reason(err))
	}
	id := c.ClientID
	if id == "" {
		id = c.Subject
	}
	cl := s.o.Config.client(id)
	if cl == nil {
		return nil, unauthorized("the access token is refused: client %q is not registered here", clip(id))
	}
	tg, _ := ParseGrants(c.Scope)
	g := intersect(tg, cl.allowed)
	p := &ww.Principal{Role: cl.Role, ClientID: cl.ClientID, Organization: cl.Organization, Scopes: g.Scopes}
	exp := time.Unix(c.Expiry, 0)
	return &verified{p: p, g: g, expiry: exp}, nil
}

// intersect is what both grant sets allow.
func intersect(a, b *Grants) *Grants {
	out := &Grants{perm: map[string]Perm{}}
	types := map[string]bool{}
	for t := range a.perm {
		types[t] = true
	}
	for t := range b.perm {
		types[t] = true
	}
	for t := range types {
		var p Perm
		if t == "*" {
			p = a.perm["*"] & b.perm["*"]
		} else {
			p = (a.perm[t] | a.perm["*"]) & (b.perm[t] | b.perm["*"])
		}
		if p != 0 {
			out.perm[t] = p
		}
	}
	for _, s := range a.Scopes {
		if sc, err := ParseScope(s); err == nil && sc.Context == "system" && out.Covers(sc) {
			out.Scopes = append(out.Scopes, s)
		}
	}
	return out
}

func (s *Server) fromCertificate(r *http.Request) (*ww.Principal, *Grants, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
		return nil, nil, false
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	fp := hex.EncodeToString(sum[:])
	for _, cl := range s.o.Config.Clients {
		if cl.CertSHA256 == fp {
			return &ww.Principal{Role: cl.Role, ClientID: cl.ClientID, Organization: cl.Organization, Scopes: cl.Scopes}, cl.allowed, true
		}
	}
	return nil, nil, false
}

func (s *Server) trusted(iss string) *TrustedIssuer {
	for i := range s.o.Config.TrustedIssuers {
		if s.o.Config.TrustedIssuers[i].Issuer == iss {
			return &s.o.Config.TrustedIssuers[i]
		}
	}
	return nil
}

// issuerKeys returns a trusted issuer's JWKS, fetched at most every 10
// minutes (refresh: at most once a minute, for an unknown kid).
func (s *Server) issuerKeys(ctx context.Context, ti *TrustedIssuer, refresh bool) (*smart.JWKS, error) {
	now := s.o.Clock.Now()
	s.issuersMu.Lock()
	c := s.issuers[ti.Issuer]
	s.issuersMu.Unlock()
	if c != nil && (now.Sub(c.fetched) < 10*time.Minute && !refresh || refresh && now.Sub(c.fetched) < time.Minute) {
		return c.set, nil
	}
	resp, err := s.o.Fetcher.Get(ctx, ti.JWKSURL, "application/json", nil)
	if err != nil {
		if c != nil {
			return c.set, nil
		}
		return nil, ww.Wrap("auth.jwks", ww.KindUnavailable, err, "the keys of the token's issuer cannot be fetched now; retry later")
	}
	set, err := smart.ParseJWKS(resp.Body)
	if err != nil {
		return nil, ww.Wrap("auth.jwks", ww.KindUnavailable, err, "the issuer's JWKS is unusable")
	}
	s.issuersMu.Lock()
	s.issuers[ti.Issuer] = &issuerKeys{set: set, fetched: now}
	s.issuersMu.Unlock()
	return set, nil
}

var _ smart.KeySet = (*Keys)(nil)
