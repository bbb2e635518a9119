package app

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/extra/redisprometheus/v9"

	"github.com/wachtwijzer/wachtwijzer/audit"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/gateway"
	"github.com/wachtwijzer/wachtwijzer/pseudonym"
)

type serveConfig struct {
	addr            string
	redis           redisFlags
	demo            bool
	embedded        bool
	logFormat       string
	shutdownTimeout time.Duration
	maxBody         int64
	baseURL         string
	debugAddr       string
	trustedProxies  []string
	audit           bool
	pseudonymise    bool
	pseudonymKeys   string
	hl7             hl7Flags
	ingest          ingestFlags
	mediation       mediationFlags
	auth            authFlags
}

// gcPercent is the GOGC of serve, import and reindex when the environment
// sets none: their live heap is small (tens of MB) and nearly all they
// allocate is garbage of one request or one batch, so collecting at 4× the
// live heap instead of 2× halves the collector's share of the CPU for a few
// tens of MB (an import of 40,000 resources: importer CPU −23 %). GOGC and
// GOMEMLIMIT in the environment win.
const gcPercent = 400

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

func runServe(ctx context.Context, env Env, args []string) error {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "HTTP listen address HOST:PORT (port 0 picks a free port and prints it)")
	cfg.redis.register(fs)
	cfg.mediation.register(fs, true)
	fs.BoolVar(&cfg.demo, "demo", false, "load the demo dataset (idempotently) and, without a configured Redis, start the embedded one")
	fs.BoolVar(&cfg.embedded, "embedded", false, "without a configured Redis, start the embedded one under --data-dir")
	fs.StringVar(&cfg.logFormat, "log-format", "text", "log format: json or text")
	cfg.shutdownTimeout = 20 * time.Second
	fs.Var(durationFlag{&cfg.shutdownTimeout}, "shutdown-timeout", "how long SIGTERM waits for in-flight requests (e.g. 20s)")
	fs.Int64Var(&cfg.maxBody, "max-body-bytes", 10<<20, "largest accepted request body; larger → 413")
	fs.StringVar(&cfg.baseURL, "base-url", "", "public base URL of the FHIR API (e.g. https://gw.example.nl/fhir); default: from each request")
	fs.Func("trusted-proxies", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client in the audit log (default: none; the peer address is logged)", func(v string) error {
		cfg.trustedProxies = append(cfg.trustedProxies, splitList(v)...)
		return nil
	})
	fs.StringVar(&cfg.debugAddr, "debug-addr", "", "optional loopback HOST:PORT serving Go's /debug/pprof profiles (for benchmarks; empty: off)")
	fs.BoolVar(&cfg.audit, "audit", true, "log every access to patient data (NEN 7513) to the hash-chained audit stream; a failed log write fails the request")
	fs.BoolVar(&cfg.pseudonymise, "pseudonymise", true, "insurers see waits pseudonymised: member pseudonyms instead of Patients, identity only through $reidentify")
	fs.StringVar(&cfg.pseudonymKeys, "pseudonym-keys", "", "JSON file of per-insurer versioned pseudonym keys (see README); default: keys derived from the deployment key")
	cfg.hl7.register(fs)
	cfg.ingest.register(fs)
	cfg.auth.register(fs)
	if err := parseFlags(fs, args, env.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(env.Stdout, "serve", "Run the FHIR gateway.", fs)
		}
		return err
	}
	log, err := newLogger(env.Stderr, cfg.logFormat)
	if err != nil {
		return err
	}
	// The access log is one line per request: batched into one write every
	// 100 ms (or 32 KiB), flushed at shutdown.
	accessBuf := newLineBuffer(env.Stderr, 32<<10, 100*time.Millisecond)
	defer accessBuf.Close()
	accessLog, _ := newLogger(accessBuf, cfg.logFormat)
	if _, _, err := net.SplitHostPort(cfg.addr); err != nil {
		return usagef("--addr %q: %v", cfg.addr, err)
	}
	if err := cfg.auth.check(cfg.addr, cfg.demo, env.Stderr); err != nil {
		return err
	}
	tlsCfg, err := cfg.auth.tlsConfig()
	if err != nil {
		return err
	}
	if err := cfg.hl7.validate(); err != nil {
		return err
	}
	regions, err := cfg.redis.regions()
	if err != nil {
		return err
	}
	medCfg, err := cfg.mediation.config(regions)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	tuneGC()

	conn, err := cfg.redis.connect(ctx, log, embeddedModeFor(cfg.demo || cfg.embedded))
	if err != nil {
		return err
	}
	defer conn.close(context.WithoutCancel(ctx))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		redisprometheus.NewCollector("wachtwijzer", "redis", conn.client))
	scriptTime := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "wachtwijzer", Subsystem: "redis", Name: "script_duration_seconds",
		Help: "Duration of store scripts by script and outcome.", Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
	}, []string{"script", "outcome"})
	reg.MustRegister(scriptTime)
	observe := func(script string, d time.Duration, err error) {
		outcome := "ok"
		if err != nil {
			outcome = "error"
		}
		scriptTime.WithLabelValues(script, outcome).Observe(d.Seconds())
	}
	cfg.redis.hidePatients = cfg.pseudonymise
	store, err := cfg.redis.openStore(ctx, conn, log, observe)
	if err != nil {
		return err
	}
	log.Info("store ready", "redis", conn.describe, "key_prefix", cfg.redis.prefix)
	authSrv, demoCl, err := cfg.auth.build(conn.client, cfg.redis.prefix, cfg.baseURL, store.DeploymentKey(), log)
	if err != nil {
		return err
	}
	if authSrv == nil {
		log.Warn("AUTHENTICATION IS OFF (--insecure-dev): every client may read and write; local trials only", "addr", cfg.addr)
	}
	if cfg.demo {
		n, err := loadDemo(ctx, store, time.Now())
		if err != nil {
			return fmt.Errorf("load the demo data: %w", err)
		}
		log.Info("demo data loaded", "written", n)
	}
	ingest, stopPull, err := cfg.ingest.start(ctx, store, log)
	if err != nil {
		return err
	}
	defer stopPull()
	var keys *pseudonym.Keys
	switch {
	case !cfg.pseudonymise:
		log.Warn("pseudonymisation is off (--pseudonymise=false): insurers see their members' Patients")
	case cfg.pseudonymKeys != "":
		if keys, err = pseudonym.Load(cfg.pseudonymKeys, store.DeploymentKey()); err != nil {
			return usagef("--pseudonym-keys: %v", err)
		}
	default:
		keys = pseudonym.Derived(store.DeploymentKey())
	}
	var auditLog *audit.Log
	if cfg.audit {
		auditLog = audit.New(store, nil)
	} else {
		log.Warn("the NEN 7513 access log is off (--audit=false): accesses to patient data are not recorded")
	}
	gw, err := gateway.New(gateway.Options{
		Store: store, DeploymentKey: store.DeploymentKey(), Logger: log, AccessLog: accessLog, MaxBodyBytes: cfg.maxBody,
		BaseURL: cfg.baseURL, Version: Version, Registerer: reg, Gatherer: reg, Ingest: ingest, Mediation: medCfg,
		Limits: fhirjson.Limits{MaxDepth: cfg.auth.maxDepth, MaxItems: cfg.auth.maxItems},
		Access: gateway.SecurityOptions{Auth: authSrv, PrivateBulkPublish: cfg.auth.privateBulk, SeparateAdmin: cfg.auth.adminAddr != ""},
		Audit:  auditLog, Pseudonyms: keys, TrustedProxies: cfg.trustedProxies,
	})
	if err != nil {
		return err
	}
	if cfg.debugAddr != "" {
		stopDebug, err := serveDebug(cfg.debugAddr, env, log)
		if err != nil {
			return err
		}
		defer stopDebug()
	}
	feed, err := startHL7(ctx, env, &cfg.hl7, store, gw, log, reg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	srv := &http.Server{Handler: gw.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: cfg.auth.readTimeout,
		WriteTimeout: cfg.auth.writeTimeout, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10, TLSConfig: tlsCfg}
	errc := make(chan error, 2)
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
		ln = tls.NewListener(ln, tlsCfg)
	}
	go func() { errc <- srv.Serve(ln) }()
	var adminSrv *http.Server
	if cfg.auth.adminAddr != "" {
		aln, err := net.Listen("tcp", cfg.auth.adminAddr)
		if err != nil {
			return fmt.Errorf("listen on --admin-addr %s: %w", cfg.auth.adminAddr, err)
		}
		adminSrv = &http.Server{Handler: gw.AdminHandler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute}
		go func() { errc <- adminSrv.Serve(aln) }()
		fmt.Fprintf(env.Stderr, "admin surface (/metrics, /status, /admin/*) served at http://%s\n", aln.Addr().String())
	}
	self := scheme + "://" + ln.Addr().String()
	if host, port, _ := net.SplitHostPort(ln.Addr().String()); host == "::" || host == "0.0.0.0" {
		self = scheme + "://localhost:" + port
	}
	if cfg.baseURL != "" {
		self = strings.TrimSuffix(strings.TrimSuffix(cfg.baseURL, "/"), "/fhir")
	}
	if err := printDemoTokens(env.Stderr, authSrv, demoCl, self); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "wachtwijzer %s listening on %s://%s\n", Version, scheme, ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests and messages", "timeout", cfg.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
	defer cancel()
	mllpDone := make(chan error, 1)
	go func() { mllpDone <- feed.shutdown(sctx) }()
	if adminSrv != nil {
		defer adminSrv.Close()
	}
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-mllpDone; err != nil {
		return fmt.Errorf("shutdown of the MLLP listener: %w", err)
	}
	log.Info("stopped")
	return nil
}

func runHealthcheck(ctx context.Context, env Env, args []string) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address of the gateway to probe (an all-interfaces host probes 127.0.0.1)")
	timeout := 3 * time.Second
	fs.Var(durationFlag{&timeout}, "timeout", "probe timeout")
	if err := parseFlags(fs, args, env.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(env.Stdout, "healthcheck", "Probe a running gateway's /readyz.", fs)
		}
		return err
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return usagef("--addr %q: %v", *addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	c := &http.Client{Timeout: timeout}
	resp, err := c.Get("http://" + net.JoinHostPort(host, port) + "/readyz")
	if err != nil {
		return fmt.Errorf("gateway not reachable: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("gateway not ready: HTTP %d", resp.StatusCode)
	}
	fmt.Fprintln(env.Stdout, "ready")
	return nil
}

// embeddedModeFor is what serve may start when no Redis is configured: with
// --demo or --embedded a private redis-server, or the in-process fallback
// when the binary is missing; otherwise nothing.
func embeddedModeFor(embedded bool) embeddedMode {
	if embedded {
		return embeddedOrInProcess
	}
	return noEmbedded
}
