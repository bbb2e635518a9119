package smart

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// Doer sends HTTP requests (a retrying client in production).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// AssertionType is the client_assertion_type of private_key_jwt.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ClientCredentials is a SMART Backend Services client: it obtains access
// tokens with the client_credentials grant, authenticating with a JWT
// assertion signed by its private key, and caches each token until shortly
// before it expires.
type ClientCredentials struct {
	TokenURL string
	ClientID string
	Key      crypto.Signer
	// KeyID is the kid in the assertion header (the key's id in the JWKS
	// the client registered).
	KeyID  string
	Scopes []string
	Clock  ww.Clock
	HTTP   Doer
	// Skew renews a token this long before it expires (default 30 s).
	Skew time.Duration

	mu      sync.Mutex
	token   string
	expires time.Time
}

// TokenError is a refusal by the token endpoint (OAuth error response).
type TokenError struct {
	Status      int
	Code        string
	Description string
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("smart: token endpoint answered %d %s: %s", e.Status, e.Code, e.Description)
}

// Token returns a valid access token, from the cache when it has one.
func (c *ClientCredentials) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	clock := c.Clock
	if clock == nil {
		clock = ww.SystemClock{}
	}
	skew := c.Skew
	if skew == 0 {
		skew = 30 * time.Second
	}
	now := clock.Now()
	if c.token != "" && now.Add(skew).Before(c.expires) {
		return c.token, nil
	}
	assertion, err := c.Assertion(now)
	if err != nil {
		return "", err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {AssertionType},
		"client_assertion":      {assertion},
	}
	if len(c.Scopes) > 0 {
		form.Set("scope", strings.Join(c.Scopes, " "))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("smart: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	doer := c.HTTP
	if doer == nil {
		doer = http.DefaultClient
	}
	resp, err := doer.Do(req)
	if err != nil {
		return "", fmt.Errorf("smart: token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("smart: token response: %w", err)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK {
		return "", &TokenError{Status: resp.StatusCode, Code: tr.Error, Description: tr.Description}
	}
	if tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "bearer") {
		return "", &TokenError{Status: resp.StatusCode, Code: "invalid_response", Description: "no bearer access_token in the response"}
	}
	if tr.ExpiresIn <= 0 {
		tr.ExpiresIn = 300
	}
	c.token, c.expires = tr.AccessToken, now.Add(time.Duration(tr.ExpiresIn)*time.Second)
	return c.token, nil
}

// Invalidate drops the cached token (after a 401 from the resource server).
func (c *ClientCredentials) Invalidate() {
	c.mu.Lock()
	c.token = ""
	c.mu.Unlock()
}

// Assertion builds the signed client assertion: iss and sub the client id,
// aud the token URL, a random jti, valid for five minutes from now.
func (c *ClientCredentials) Assertion(now time.Time) (string, error) {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	return Sign(c.Key, c.KeyID, &Claims{
		Issuer: c.ClientID, Subject: c.ClientID, Audience: Audience{c.TokenURL},
		IssuedAt: now.Unix(), Expiry: now.Add(5 * time.Minute).Unix(), ID: hex.EncodeToString(jti[:]),
	})
}
