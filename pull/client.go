package pull

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fetch"
	"github.com/wachtwijzer/wachtwijzer/smart"
)

// ClientOptions are what every source's client shares.
type ClientOptions struct {
	Clock     ww.Clock
	Sleeper   fetch.Sleeper
	Logger    *slog.Logger
	Transport http.RoundTripper
	Getenv    func(string) string
	UserAgent string
}

// NewClient builds the retrying client of a source, with its authorizer.
func NewClient(s *Source, o ClientOptions) (*fetch.Client, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	fo := fetch.Options{
		Source: s.ID, Transport: o.Transport, Clock: o.Clock, Sleeper: o.Sleeper, Logger: o.Logger, UserAgent: o.UserAgent,
		Timeout: time.Duration(s.HTTP.Timeout), Deadline: time.Duration(s.HTTP.Deadline), RetryMax: s.HTTP.RetryMax,
		WaitMin: time.Duration(s.HTTP.WaitMin), WaitMax: time.Duration(s.HTTP.WaitMax), MaxRetryAfter: time.Duration(s.HTTP.MaxRetryAfter),
		Breaker: fetch.BreakerOptions{Failures: s.HTTP.BreakerFailures, Cooldown: time.Duration(s.HTTP.BreakerCooldown)},
	}
	switch s.Auth.Type {
	case "bearer":
		tok := s.Auth.Token
		if s.Auth.TokenEnv != "" {
			tok = o.Getenv(s.Auth.TokenEnv)
		}
		if strings.TrimSpace(tok) == "" {
			return nil, fmt.Errorf("source %s: the bearer token (%s) is empty", s.ID, s.Auth.TokenEnv)
		}
		fo.Auth = bearer(strings.TrimSpace(tok))
	case "smart-backend":
		pem, err := os.ReadFile(s.keyFile())
		if err != nil {
			return nil, fmt.Errorf("source %s: private key: %w", s.ID, err)
		}
		key, err := smart.ParsePrivateKeyPEM(pem)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", s.ID, err)
		}
		kid := s.Auth.KeyID
		if kid == "" {
			j, err := smart.PublicJWK(key.Public(), "")
			if err != nil {
				return nil, fmt.Errorf("source %s: %w", s.ID, err)
			}
			kid = j.Kid
		}
		to := fo
		to.Source = s.ID + "-token"
		to.Auth = nil
		tokens := fetch.New(to)
		fo.Auth = &smartAuth{cc: &smart.ClientCredentials{TokenURL: s.Auth.TokenURL, ClientID: s.Auth.ClientID, Key: key, KeyID: kid,
			Scopes: s.Auth.Scopes, Clock: o.Clock, HTTP: tokens.Doer()}}
	}
	return fetch.New(fo), nil
}

type bearer string

func (b bearer) Authorize(_ context.Context, r *http.Request) error {
	r.Header.Set("Authorization", "Bearer "+string(b))
	return nil
}

func (bearer) Invalidate() {}

type smartAuth struct{ cc *smart.ClientCredentials }

func (a *smartAuth) Authorize(ctx context.Context, r *http.Request) error {
	tok, err := a.cc.Token(ctx)
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

func (a *smartAuth) Invalidate() { a.cc.Invalidate() }
