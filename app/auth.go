package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/auth"
	"github.com/wachtwijzer/wachtwijzer/smart"
)

// authFlags are serve's security flags.
type authFlags struct {
	config       string
	insecureDev  bool
	demoClients  bool
	adminAddr    string
	tlsCert      string
	tlsKey       string
	clientCA     string
	privateBulk  bool
	readTimeout  time.Duration
	writeTimeout time.Duration
	maxDepth     int
	maxItems     int
}

func (a *authFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.config, "auth-config", "", "authentication config (JSON: clients with role, organization, scopes and JWKS; trusted issuers; see README)")
	fs.BoolVar(&a.insecureDev, "insecure-dev", false, "NO authentication, for local trials only: refused unless --addr is a loopback address")
	fs.BoolVar(&a.demoClients, "demo-clients", false, "register the demo clients (insurer, hospital, admin) and print ready-to-use tokens (implied by --demo without --auth-config)")
	fs.StringVar(&a.adminAddr, "admin-addr", "", "optional HOST:PORT serving /metrics, /status and /admin/* without tokens (then not on --addr); keep it on a private network")
	fs.StringVar(&a.tlsCert, "tls-cert", "", "TLS certificate (PEM) of the HTTP listener; with --tls-key")
	fs.StringVar(&a.tlsKey, "tls-key", "", "TLS private key (PEM) of the HTTP listener")
	fs.StringVar(&a.clientCA, "client-ca", "", "CA bundle (PEM) for mTLS client certificates; a client's cert_sha256 maps its certificate to it")
	fs.BoolVar(&a.privateBulk, "private-bulk-publish", false, "make $bulk-publish need a token (default: public, as SMART Scheduling Links expects)")
	a.readTimeout, a.writeTimeout = 5*time.Minute, 10*time.Minute
	fs.Var(durationFlag{&a.readTimeout}, "read-timeout", "longest time to read a request, body included")
	fs.Var(durationFlag{&a.writeTimeout}, "write-timeout", "longest time to serve a request")
	fs.IntVar(&a.maxDepth, "max-json-depth", 64, "deepest JSON nesting accepted in a request; deeper → 400")
	fs.IntVar(&a.maxItems, "max-json-items", 100000, "longest JSON array (and largest object) accepted in a request; longer → 400")
}

// isLoopback reports whether a listen address binds only loopback: an IP
// in 127.0.0.0/8 or ::1, or localhost. An empty host binds every
// interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// check validates the flags that need no Redis.
func (a *authFlags) check(addr string, demo bool, w io.Writer) error {
	if a.insecureDev {
		if a.config != "" || a.demoClients {
			return usagef("--insecure-dev turns authentication off; it cannot be combined with --auth-config or --demo-clients")
		}
		if !isLoopback(addr) {
			return usagef("--insecure-dev (no authentication) is refused on %q: bind a loopback address (127.0.0.1:PORT, [::1]:PORT, localhost:PORT); an empty host means every interface", addr)
		}
		if a.adminAddr != "" && !isLoopback(a.adminAddr) {
			return usagef("--insecure-dev is refused with --admin-addr %q: bind it to a loopback address", a.adminAddr)
		}
		fmt.Fprintln(w, "!!! INSECURE: --insecure-dev: authentication is OFF. Every client may read and write every patient's data. Local trials only. !!!")
	}
	if (a.tlsCert == "") != (a.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	if a.clientCA != "" && a.tlsCert == "" {
		return usagef("--client-ca needs --tls-cert and --tls-key")
	}
	if demo && a.config == "" && !a.insecureDev {
		a.demoClients = true
	}
	return nil
}

// demoClient is a demo client with its private key.
type demoClient struct {
	client *auth.Client
	key    *ecdsa.PrivateKey
}

func demoClients() ([]demoClient, error) {
	specs := []struct {
		id     string
		role   ww.Role
		org    string
		scopes []string
	}{
		{"demo-insurer", ww.RoleInsurer, "7119", []string{"system/*.rs", "system/Coverage.cud", "system/Task.cud"}},
		{"demo-hospital", ww.RoleHospital, "06990101", []string{"system/*.cruds"}},
		{"demo-admin", ww.RoleAdmin, "", []string{"system/*.*"}},
	}
	var out []demoClient
	for _, s := range specs {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		j, err := smart.PublicJWK(k.Public(), "")
		if err != nil {
			return nil, err
		}
		out = append(out, demoClient{client: &auth.Client{ClientID: s.id, Role: s.role, Organization: s.org, Scopes: s.scopes, JWKS: &smart.JWKS{Keys: []smart.JWK{j}}}, key: k})
	}
	return out, nil
}

// demoTokenLife is how long the printed demo tokens live.
const demoTokenLife = 12 * time.Hour

// buildAuth makes the authorisation server (nil with --insecure-dev) and
// the demo clients it registered.
func (a *authFlags) build(client redis.UniversalClient, prefix, baseURL string, seed []byte, log *slog.Logger) (*auth.Server, []demoClient, error) {
	if a.insecureDev {
		return nil, nil, nil
	}
	if a.config == "" && !a.demoClients {
		return nil, nil, usagef("authentication is on: give --auth-config FILE (see README), or --demo-clients for a trial, or --insecure-dev on a loopback address")
	}
	cfg := &auth.Config{}
	if a.config != "" {
		var err error
		if cfg, err = auth.LoadConfig(a.config); err != nil {
			return nil, nil, usagef("%v", err)
		}
	}
	var demo []demoClient
	maxLife := time.Duration(0)
	if a.demoClients {
		var err error
		if demo, err = demoClients(); err != nil {
			return nil, nil, fmt.Errorf("demo clients: %w", err)
		}
		for _, d := range demo {
			cfg.Clients = append(cfg.Clients, d.client)
		}
		maxLife = demoTokenLife
	}
	s, err := auth.New(auth.Options{Config: cfg, Redis: client, Prefix: prefix, BaseURL: baseURL, Logger: log, MaxTokenLifetime: maxLife, SigningSeed: seed})
	if err != nil {
		return nil, nil, usagef("%v", err)
	}
	return s, demo, nil
}

// printDemoTokens prints a token per demo client, for the listening address.
func printDemoTokens(w io.Writer, s *auth.Server, demo []demoClient, base string) error {
	if len(demo) == 0 {
		return nil
	}
	iss := base
	fmt.Fprintf(w, "\nDemo clients (authentication is ON; tokens valid %s; the keys live in this process only):\n", demoTokenLife)
	for _, d := range demo {
		tok, err := s.Issue(d.client.ClientID, iss, demoTokenLife)
		if err != nil {
			return err
		}
		env := map[string]string{"demo-insurer": "INSURER", "demo-hospital": "HOSPITAL", "demo-admin": "ADMIN"}[d.client.ClientID]
		fmt.Fprintf(w, "  %s (%s %s, %v):\n    export %s_TOKEN=%s\n", d.client.ClientID, d.client.Role, d.client.Organization, d.client.Scopes, env, tok)
	}
	fmt.Fprintf(w, "Use one with curl:\n  curl -H \"Authorization: Bearer $HOSPITAL_TOKEN\" %s/fhir/ServiceRequest/demo-sr-0001\n\n", iss)
	return nil
}

// tlsConfig is the listener's TLS setup (nil without --tls-cert).
func (a *authFlags) tlsConfig() (*tls.Config, error) {
	if a.tlsCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(a.tlsCert, a.tlsKey)
	if err != nil {
		return nil, usagef("--tls-cert/--tls-key: %v", err)
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if a.clientCA != "" {
		pem, err := os.ReadFile(a.clientCA)
		if err != nil {
			return nil, usagef("--client-ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usagef("--client-ca %s holds no PEM certificate", a.clientCA)
		}
		c.ClientCAs, c.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return c, nil
}
