package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wachtwijzer/wachtwijzer/gateway"
	"github.com/wachtwijzer/wachtwijzer/hl7ingest"
	"github.com/wachtwijzer/wachtwijzer/mllp"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
)

// hl7Flags are the serve flags of the HL7 v2 feed (MLLP).
type hl7Flags struct {
	addr         string
	tlsCert      string
	tlsKey       string
	clientCA     string
	channels     string
	maxBytes     int
	idleTimeout  time.Duration
	senders      string
	sendersWatch time.Duration
	dedupTTL     time.Duration
	writeTimeout time.Duration
}

func (h *hl7Flags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.addr, "mllp-addr", "", "MLLP listen address HOST:PORT for HL7 v2 feeds (empty: no MLLP; port 0 picks a free port and prints it)")
	fs.StringVar(&h.tlsCert, "mllp-tls-cert", "", "PEM certificate of the MLLP listener (with --mllp-tls-key: TLS)")
	fs.StringVar(&h.tlsKey, "mllp-tls-key", "", "PEM private key of the MLLP listener")
	fs.StringVar(&h.clientCA, "mllp-client-ca", "", "PEM CA bundle; when set, MLLP clients must present a certificate it signed (mutual TLS)")
	fs.StringVar(&h.channels, "mllp-channels", "", "MLLP channels file (JSON: client certificate SHA-256 and/or source CIDR → organisation AGB/URA); when set, other connections are refused and MSH-4 must match the connection's organisation, else AR; reloaded on SIGHUP. Production should set it")
	fs.IntVar(&h.maxBytes, "mllp-max-bytes", mllp.DefaultMaxMessageBytes, "largest HL7 message accepted over MLLP; larger ones get AR")
	h.idleTimeout = mllp.DefaultIdleTimeout
	fs.Var(durationFlag{&h.idleTimeout}, "mllp-idle-timeout", "close an MLLP connection on which nothing arrived for this long")
	fs.StringVar(&h.senders, "hl7-senders", "", "HL7 sender configuration file (JSON; reloaded on SIGHUP and when it changes)")
	h.sendersWatch = 10 * time.Second
	fs.Var(durationFlag{&h.sendersWatch}, "hl7-senders-watch", "how often the sender configuration file is checked for changes (0: only on SIGHUP)")
	h.dedupTTL = hl7ingest.DefaultDedupTTL
	fs.Var(durationFlag{&h.dedupTTL}, "hl7-dedup-ttl", "how long a message's deduplication and trace record is kept (e.g. 168h)")
	h.writeTimeout = hl7ingest.DefaultWriteTimeout
	fs.Var(durationFlag{&h.writeTimeout}, "hl7-write-timeout", "store time allowed per HL7 message; past it the message gets AR 207 and the sender resends")
}

func (h *hl7Flags) validate() error {
	if h.addr != "" {
		if _, _, err := net.SplitHostPort(h.addr); err != nil {
			return usagef("--mllp-addr %q: %v", h.addr, err)
		}
	}
	if (h.tlsCert == "") != (h.tlsKey == "") {
		return usagef("--mllp-tls-cert and --mllp-tls-key go together")
	}
	if h.clientCA != "" && h.tlsCert == "" {
		return usagef("--mllp-client-ca needs --mllp-tls-cert and --mllp-tls-key")
	}
	if h.channels != "" && h.addr == "" {
		return usagef("--mllp-channels needs --mllp-addr")
	}
	if h.maxBytes <= 0 {
		return usagef("--mllp-max-bytes must be positive")
	}
	if h.dedupTTL < time.Minute {
		return usagef("--hl7-dedup-ttl must be at least a minute")
	}
	return nil
}

func (h *hl7Flags) tlsConfig() (*tls.Config, error) {
	if h.tlsCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(h.tlsCert, h.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("MLLP TLS certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if h.clientCA != "" {
		pem, err := os.ReadFile(h.clientCA)
		if err != nil {
			return nil, fmt.Errorf("MLLP client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("MLLP client CA %s holds no PEM certificate", h.clientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// newProcessor builds the HL7 ingest over the store.
func newProcessor(store *redisstore.Store, h *hl7Flags, log *slog.Logger, reg prometheus.Registerer) (*hl7ingest.Processor, *hl7ingest.Metrics, error) {
	senders, err := hl7ingest.NewSenders(h.senders, log)
	if err != nil {
		return nil, nil, err
	}
	metrics := hl7ingest.NewMetrics(reg)
	p, err := hl7ingest.New(hl7ingest.Options{Store: store, DeploymentKey: store.DeploymentKey(), Senders: senders, Logger: log,
		DedupTTL: h.dedupTTL, WriteTimeout: h.writeTimeout, Metrics: metrics})
	return p, metrics, err
}

// hl7Feed is the running MLLP side of serve.
type hl7Feed struct {
	srv  *mllp.Server
	proc *hl7ingest.Processor
	done chan error
}

// startHL7 mounts the admin routes and, with --mllp-addr, starts the MLLP
// listener, the SIGHUP reload (senders and channels) and the senders' file
// watch. It prints
// "listening on mllp://HOST:PORT".
func startHL7(ctx context.Context, env Env, h *hl7Flags, store *redisstore.Store, gw *gateway.Gateway, log *slog.Logger, reg prometheus.Registerer) (*hl7Feed, error) {
	p, metrics, err := newProcessor(store, h, log, reg)
	if err != nil {
		return nil, err
	}
	p.Routes(gw.Engine().Group("/admin/hl7"))
	var channels *hl7ingest.ChannelsFile
	if h.channels != "" {
		if channels, err = hl7ingest.OpenChannels(h.channels, log); err != nil {
			return nil, usagef("--mllp-channels: %v", err)
		}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading the hl7 sender configuration", "file", h.senders)
				_ = p.Senders().Reload()
				if channels != nil {
					log.Info("SIGHUP: reloading the mllp channels", "file", channels.Path())
					_ = channels.Reload()
				}
			}
		}
	}()
	go p.Senders().Watch(ctx, h.sendersWatch)
	if h.addr == "" {
		return nil, nil
	}
	tc, err := h.tlsConfig()
	if err != nil {
		return nil, err
	}
	var admit func(*mllp.ConnInfo) (string, error)
	if channels != nil {
		admit = channels.Admit
		log.Info("mllp channels enforced: unmapped connections are refused, MSH-4 must match the connection's organisation; reloaded on SIGHUP", "file", h.channels)
	} else {
		log.Warn("mllp channels not configured (--mllp-channels): every connection may send for every organisation; configure it in production")
	}
	srv, err := mllp.Listen(mllp.Options{Addr: h.addr, TLSConfig: tc, MaxMessageBytes: h.maxBytes, IdleTimeout: h.idleTimeout,
		Logger: log, Metrics: metrics.MLLP(), Admit: admit})
	if err != nil {
		return nil, err
	}
	f := &hl7Feed{srv: srv, proc: p, done: make(chan error, 1)}
	// Handlers run on a context that outlives SIGTERM: Shutdown drains them.
	go func() { f.done <- srv.Serve(context.WithoutCancel(ctx), hl7ingest.Handler{P: p, Channels: channels}) }()
	suffix := ""
	if tc != nil {
		suffix = " (TLS)"
		if h.clientCA != "" {
			suffix = " (mutual TLS)"
		}
	}
	fmt.Fprintf(env.Stderr, "wachtwijzer %s listening on mllp://%s%s\n", Version, srv.Addr().String(), suffix)
	return f, nil
}

// shutdown drains the listener: in-flight messages finish and are ACKed.
func (f *hl7Feed) shutdown(ctx context.Context) error {
	if f == nil {
		return nil
	}
	err := f.srv.Shutdown(ctx)
	if serr := <-f.done; serr != nil && !errors.Is(serr, mllp.ErrServerClosed) && err == nil {
		err = serr
	}
	f.proc.Wait()
	return err
}
