package app

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wachtwijzer/wachtwijzer/redisproc"
	"github.com/wachtwijzer/wachtwijzer/redisstore"
	"github.com/wachtwijzer/wachtwijzer/tenancy"
)

// redisFlags are the connection flags every subcommand that touches the
// data shares.
type redisFlags struct {
	url           string
	cluster       string
	username      string
	password      string
	tls           bool
	prefix        string
	dataDir       string
	allowEviction bool
	noAutoPipe    bool
	fsync         string
	includeCap    int
	regionsFile   string
	// hidePatients hides Patient resources from insurers (serve
	// --pseudonymise); not a flag of its own.
	hidePatients bool
}

func (r *redisFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.url, "redis-url", "", "Redis URL (redis://[user:pass@]host:port/db, rediss:// for TLS, unix:///path.sock)")
	fs.StringVar(&r.cluster, "redis-cluster", "", "Redis Cluster seed nodes, host:port,host:port,…")
	fs.StringVar(&r.username, "redis-username", "", "Redis ACL user for --redis-cluster")
	fs.StringVar(&r.password, "redis-password", "", "Redis password for --redis-cluster")
	fs.BoolVar(&r.tls, "redis-tls", false, "use TLS to the Redis Cluster nodes")
	fs.StringVar(&r.prefix, "key-prefix", "ww", "prefix of every Redis key (letters, digits, -_.:)")
	fs.StringVar(&r.dataDir, "data-dir", "wachtwijzer-data", "directory of the embedded Redis (AOF, unix socket)")
	fs.BoolVar(&r.allowEviction, "allow-eviction", false, "start even when Redis may evict keys (maxmemory-policy is not noeviction)")
	fs.BoolVar(&r.noAutoPipe, "redis-no-autopipeline", false, "read single resources with one round trip each instead of through go-redis's (experimental) autopipeliner")
	fs.StringVar(&r.fsync, "embedded-appendfsync", "everysec", "appendfsync of the embedded redis-server: always (an ACK survives a crash) or everysec")
	fs.IntVar(&r.includeCap, "search-include-cap", redisstore.DefaultIncludeCap, "most resources _include/_revinclude add to one search page (more are left out, with an OperationOutcome entry)")
	fs.StringVar(&r.regionsFile, "regions", "", "region table (JSON; see README) waits are filed under for $regional-capacity; default the 12 provinces by PC4 ranges")
}

// connection is an open Redis, and what to close with it.
type connection struct {
	client    redis.UniversalClient
	embedded  *redisproc.Instance
	inProcess bool
	describe  string
}

func (c *connection) close(ctx context.Context) {
	if c.client != nil {
		c.client.Close()
	}
	if c.embedded != nil {
		if err := c.embedded.Close(ctx); err != nil {
			slog.Warn("embedded Redis did not stop cleanly", "err", err)
		}
	}
}

func (r *redisFlags) validate() error {
	if r.url != "" && r.cluster != "" {
		return usagef("--redis-url and --redis-cluster exclude each other: give one")
	}
	if err := redisstore.ValidPrefix(r.prefix); err != nil {
		return usagef("--key-prefix: %v", err)
	}
	if r.fsync != "always" && r.fsync != "everysec" && r.fsync != "no" {
		return usagef("--embedded-appendfsync must be always, everysec or no")
	}
	if r.includeCap <= 0 {
		return usagef("--search-include-cap must be positive")
	}
	return nil
}

// embeddedMode says what connect may do when neither --redis-url nor
// --redis-cluster is given.
type embeddedMode int

const (
	// noEmbedded only joins the embedded Redis of a running gateway.
	noEmbedded embeddedMode = iota
	// embeddedServer may also start a private redis-server under
	// --data-dir (the data subcommands: what they write must persist).
	embeddedServer
	// embeddedOrInProcess may also fall back to the in-process miniredis
	// when redis-server is not installed (serve --demo/--embedded only).
	embeddedOrInProcess
)

// connect opens the configured Redis. With neither URL nor cluster it joins
// the embedded Redis of a gateway running on --data-dir, else, as mode
// allows, starts a private redis-server there or the in-process fallback.
func (r *redisFlags) connect(ctx context.Context, log *slog.Logger, mode embeddedMode) (*connection, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	switch {
	case r.url != "":
		opt, err := redis.ParseURL(r.url)
		if err != nil {
			return nil, usagef("--redis-url: %v", err)
		}
		tune(opt)
		return &connection{client: redis.NewClient(opt), describe: "Redis at " + redactURL(r.url)}, nil
	case r.cluster != "":
		opt := &redis.ClusterOptions{Addrs: splitList(r.cluster), Username: r.username, Password: r.password,
			ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second, PoolSize: 64}
		if r.tls {
			opt.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		return &connection{client: redis.NewClusterClient(opt), describe: "Redis Cluster at " + r.cluster}, nil
	}
	if inst, err := redisproc.Connect(ctx, r.dataDir); err == nil {
		log.Info("using the embedded Redis of a running gateway", "data_dir", r.dataDir)
		return r.fromInstance(inst), nil
	} else if !errors.Is(err, redisproc.ErrNotRunning) {
		return nil, fmt.Errorf("embedded Redis in %s: %w", r.dataDir, err)
	}
	if mode == noEmbedded {
		return nil, usagef("no Redis configured: give --redis-url or --redis-cluster (or WACHTWIJZER_REDIS_URL), or run with --demo or --embedded to start a private redis-server under --data-dir")
	}
	inst, err := redisproc.Start(ctx, redisproc.Options{DataDir: r.dataDir, AppendFsync: r.fsync, AllowInProcess: mode == embeddedOrInProcess, Logger: log})
	if errors.Is(err, redisproc.ErrNoRedisServer) {
		return nil, usagef("no Redis configured and redis-server is not installed: give --redis-url or --redis-cluster, start `wachtwijzer serve --demo` first (its data is then reached through --data-dir), or install redis-server; this command does not write into a throwaway in-process Redis")
	}
	if err != nil {
		return nil, fmt.Errorf("start the embedded Redis: %w", err)
	}
	c := r.fromInstance(inst)
	c.embedded = inst
	if inst.Kind == redisproc.KindMiniredis {
		log.Warn("RUNNING ON THE IN-PROCESS miniredis: data is NOT persisted and it does not scale past a demo; install redis-server for a real default")
	} else {
		log.Info("started an embedded redis-server", "data_dir", inst.DataDir, "socket", inst.Socket, "appendfsync", r.fsync)
	}
	return c, nil
}

func (r *redisFlags) fromInstance(inst *redisproc.Instance) *connection {
	opt := &redis.Options{Network: inst.Network, Addr: inst.Addr}
	tune(opt)
	c := &connection{client: redis.NewClient(opt), describe: string(inst.Kind) + " at " + inst.Addr, inProcess: inst.Kind == redisproc.KindMiniredis}
	return c
}

// tune sizes the pool for throughput and keeps timeouts short enough that a
// dead Redis fails requests fast with 503.
func tune(opt *redis.Options) {
	if opt.PoolSize == 0 {
		opt.PoolSize = 64
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = 3 * time.Second
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = 3 * time.Second
	}
	opt.MinIdleConns = 4
}

func (r *redisFlags) openStore(ctx context.Context, c *connection, log *slog.Logger, observe func(string, time.Duration, error)) (*redisstore.Store, error) {
	regions, err := r.regions()
	if err != nil {
		return nil, err
	}
	// The tenancy Policy gives the system and admin principals everything;
	// hospitals and insurers see what tenancy allows (tenancy/doc.go).
	pol := tenancy.New(tenancy.Options{HidePatients: r.hidePatients})
	st, err := redisstore.Open(ctx, redisstore.Options{Client: c.client, Prefix: r.prefix, AllowEviction: r.allowEviction, NoAutoPipeline: r.noAutoPipe, InProcess: c.inProcess, Logger: log, Observe: observe,
		Limits: redisstore.Limits{IncludeCap: r.includeCap}, Regions: regions, Policy: pol})
	if err != nil {
		return nil, err
	}
	pol.Bind(st)
	return st, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// redactURL hides a password in a Redis URL for logs.
func redactURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			return u[:i+3] + "***@" + rest[at+1:]
		}
	}
	return u
}

// connectStore connects as mode allows and opens the store on it, for the
// commands that work on one store and end; closeFn closes the connection
// (and an embedded server it started).
func (r *redisFlags) connectStore(ctx context.Context, log *slog.Logger, mode embeddedMode) (store *redisstore.Store, closeFn func(), err error) {
	conn, err := r.connect(ctx, log, mode)
	if err != nil {
		return nil, nil, err
	}
	closeFn = func() { conn.close(context.WithoutCancel(ctx)) }
	store, err = r.openStore(ctx, conn, log, nil)
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	return store, closeFn, nil
}
