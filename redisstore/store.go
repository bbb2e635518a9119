package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

// Options configure a Store.
type Options struct {
	// Client is a *redis.Client (standalone) or *redis.ClusterClient.
	Client redis.UniversalClient
	// Prefix is the key prefix (default "ww").
	Prefix string
	// Shards per resource type (default 16); fixed for the life of the data.
	Shards int
	Clock  ww.Clock
	Policy ww.Policy
	// Registry is the search-parameter registry (default conformance.Params()).
	Registry *conformance.Registry
	// AllowEviction lets the store open a Redis whose maxmemory-policy is not
	// noeviction (an evicted index entry silently loses data).
	AllowEviction bool
	// InProcess marks the in-process miniredis: no CONFIG, no script flags.
	InProcess bool
	// NoAutoPipeline reads single resources with a round trip each instead
	// of through go-redis's autopipeliner (an experimental API of the
	// library; this is the way back should it misbehave).
	NoAutoPipeline bool
	Logger         *slog.Logger
	// TxTimeout bounds a Cluster transaction from prepare to commit; a
	// transaction still preparing after it is rolled back (default 10 s).
	TxTimeout time.Duration
	// Observe, when set, receives the duration of each script run.
	Observe func(script string, d time.Duration, err error)
	// Limits bound the work of one search (zero fields: DefaultLimits).
	Limits Limits
	// Regions files each wait under its member's region for
	// $regional-capacity (default mediation.DefaultRegions()).
	Regions *mediation.Regions
}

// Store is the Redis implementation of wachtwijzer.Store.
type Store struct {
	rdb redis.UniversalClient
	// reads serves the hot single-key reads through go-redis's
	// autopipeliner: concurrent requests' GETs share one round trip.
	reads     redis.Cmdable
	cluster   *redis.ClusterClient
	keys      keys
	clock     ww.Clock
	policy    ww.Policy
	reg       *conformance.Registry
	log       *slog.Logger
	scripts   *scripts
	dkey      []byte
	txTimeout time.Duration
	observe   func(string, time.Duration, error)
	lim       Limits
	// gen is the index generation searches read (refreshed when a search
	// script reports its fence moved); fences caches each fence key's
	// expected members (see generation.go).
	gen    atomic.Int64
	fences sync.Map
	// compoundsOK: the compound indexes hold every resource (they were
	// built under this registry's compound definitions); else searches
	// use the plain indexes until a reindex.
	compoundsOK atomic.Bool
	// lean maps an index generation to whether it is written lean (see
	// layoutScheme); a generation not in it is not.
	lean    sync.Map
	regions *mediation.Regions
	// streamKeyCache maps a wait stream to its key names (mediation.go);
	// streams are few (bounded by the cells seen), their names costly.
	streamKeyCache sync.Map
	// batch groups concurrent commits (batch.go).
	batch batcher

	closeOnce sync.Once
}

var _ ww.Store = (*Store)(nil)

// Open checks the Redis it is given (noeviction, layout version and shard
// count), creates the layout and deployment key on first use, loads the
// scripts and, on a Cluster, finishes or rolls back half-done transactions.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Client == nil {
		return nil, errors.New("redisstore: open: no Redis client")
	}
	if o.Prefix == "" {
		o.Prefix = "ww"
	}
	if err := validPrefix(o.Prefix); err != nil {
		return nil, fmt.Errorf("redisstore: open: %w", err)
	}
	if o.Shards <= 0 {
		o.Shards = DefaultShards
	}
	if o.Clock == nil {
		o.Clock = ww.SystemClock{}
	}
	if o.Policy == nil {
		o.Policy = ww.AllowAll{}
	}
	if o.Registry == nil {
		o.Registry = conformance.Params()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.TxTimeout <= 0 {
		o.TxTimeout = 10 * time.Second
	}
	if o.Regions == nil {
		o.Regions = mediation.DefaultRegions()
	}
	s := &Store{
		rdb: o.Client, keys: keys{prefix: o.Prefix, shards: o.Shards, gen: 1},
		clock: o.Clock, policy: o.Policy, reg: o.Registry, log: o.Logger,
		scripts: loadScripts(!o.InProcess), txTimeout: o.TxTimeout, observe: o.Observe, lim: o.Limits.withDefaults(), regions: o.Regions,
	}
	s.reads = o.Client
	if !o.NoAutoPipeline {
		if ap, err := o.Client.AutoPipeline(); err == nil {
			s.reads = ap
		}
	}
	if cc, ok := o.Client.(*redis.ClusterClient); ok {
		s.cluster = cc
		s.keys.cluster = true
	}
	if err := s.checkEviction(ctx, o.AllowEviction, o.InProcess); err != nil {
		return nil, err
	}
	if err := s.initLayout(ctx); err != nil {
		return nil, err
	}
	if err := s.loadScripts(ctx); err != nil {
		return nil, err
	}
	if err := s.initFences(ctx); err != nil {
		return nil, err
	}
	if s.cluster != nil {
		if err := s.RecoverTransactions(ctx, true); err != nil {
			return nil, fmt.Errorf("redisstore: open: recover transactions: %w", err)
		}
	}
	return s, nil
}

func (s *Store) checkEviction(ctx context.Context, allow, inProcess bool) error {
	if inProcess {
		s.log.Warn("in-process Redis has no CONFIG: the maxmemory-policy=noeviction check is skipped")
		return nil
	}
	check := func(ctx context.Context, c *redis.Client) error {
		v, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
		if err != nil {
			return fmt.Errorf("redisstore: open: CONFIG GET maxmemory-policy on %s: %w", c.Options().Addr, err)
		}
		if p := v["maxmemory-policy"]; p != "noeviction" {
			if allow {
				s.log.Warn("Redis may evict keys: an evicted index entry or version silently loses data", "addr", c.Options().Addr, "maxmemory-policy", p)
				return nil
			}
			return fmt.Errorf("redisstore: open: Redis at %s has maxmemory-policy %q; set it to noeviction (an evicted key loses data) or pass --allow-eviction", c.Options().Addr, p)
		}
		return nil
	}
	if s.cluster != nil {
		return s.cluster.ForEachMaster(ctx, check)
	}
	c, ok := s.rdb.(*redis.Client)
	if !ok {
		return nil
	}
	return check(ctx, c)
}

// initLayoutScript creates P:layout when it is missing (version, shards, gen
// 1, deployment key, creation time; a new layout builds every index as data
// comes, so it holds the compound fingerprint and generation 1 is lean) and
// returns the layout's fields.
const initLayoutScript = `
if redis.call('HSETNX', KEYS[1], 'version', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'shards', ARGV[2], 'gen', 1, 'dkey', ARGV[3], 'created', ARGV[4],
    'compounds', ARGV[5], ARGV[6], ARGV[7])
end
return redis.call('HGETALL', KEYS[1])`

func (s *Store) initLayout(ctx context.Context) error {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return fmt.Errorf("redisstore: open: deployment key: %w", err)
	}
	lk := s.keys.layout()
	// One script, so that a layout is fresh for exactly one gateway and its
	// generation 1 is marked lean (layoutScheme) before anyone writes to it.
	v, err := s.rdb.Eval(ctx, initLayoutScript, []string{lk}, LayoutVersion, s.keys.shards,
		base64.StdEncoding.EncodeToString(key[:]), s.clock.Now().UTC().Format(time.RFC3339),
		s.reg.CompoundsFingerprint(), layoutScheme+"1", s.scheme()).StringSlice()
	if err != nil {
		return fmt.Errorf("redisstore: open: layout %s: %w", lk, err)
	}
	l := make(map[string]string, len(v)/2)
	for i := 0; i+1 < len(v); i += 2 {
		l[v[i]] = v[i+1]
	}
	s.setCompounds(l[layoutCompounds], true)
	s.setSchemes(l)
	if v, _ := strconv.Atoi(l["version"]); v != LayoutVersion {
		return fmt.Errorf("redisstore: open: %s holds layout version %q, this gateway writes %d; migrate or use another --key-prefix", lk, l["version"], LayoutVersion)
	}
	if n, _ := strconv.Atoi(l["shards"]); n != s.keys.shards {
		return fmt.Errorf("redisstore: open: %s was created with %s shards, this gateway uses %d", lk, l["shards"], s.keys.shards)
	}
	if g, err := strconv.Atoi(l["gen"]); err == nil && g > 0 {
		s.keys.gen = g
	}
	s.gen.Store(int64(s.keys.gen))
	dk, err := base64.StdEncoding.DecodeString(l["dkey"])
	if err != nil || len(dk) < 16 {
		return fmt.Errorf("redisstore: open: %s has a corrupt deployment key", lk)
	}
	s.dkey = dk
	return nil
}

func (s *Store) loadScripts(ctx context.Context) error {
	load := func(ctx context.Context, c redis.Scripter) error {
		for _, sc := range s.scripts.all() {
			if err := sc.Load(ctx, c).Err(); err != nil {
				return fmt.Errorf("redisstore: open: load script: %w", err)
			}
		}
		return nil
	}
	if s.cluster != nil {
		return s.cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return load(ctx, c) })
	}
	return load(ctx, s.rdb)
}

// DeploymentKey is the key ids of ingested resources are derived with
// (wachtwijzer.DeriveID); every gateway on one Redis shares it.
func (s *Store) DeploymentKey() []byte { return s.dkey }

// Prefix is the key prefix.
func (s *Store) Prefix() string { return s.keys.prefix }

// Client is the Redis client (for metrics and health checks).
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Ping reports whether Redis answers and the scripts are loaded.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return ww.Wrap("redisstore.Ping", ww.KindUnavailable, err, "Redis does not answer")
	}
	ok, err := s.scripts.commit.Exists(ctx, s.rdb).Result()
	if err != nil {
		return ww.Wrap("redisstore.Ping", ww.KindUnavailable, err, "Redis does not answer SCRIPT EXISTS")
	}
	if len(ok) == 0 || !ok[0] {
		if err := s.loadScripts(ctx); err != nil {
			return ww.Wrap("redisstore.Ping", ww.KindUnavailable, err, "scripts are not loaded")
		}
	}
	return nil
}

// Close closes the Redis client.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.batch.close()
		err = s.rdb.Close()
	})
	return err
}

// redisErr classifies a Redis failure: timeouts and connection errors are
// KindUnavailable (the client may retry), the rest internal.
func redisErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var we *ww.Error
	if errors.As(err, &we) {
		return err
	}
	msg := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return ww.Wrap(op, ww.KindUnavailable, err, "the request timed out waiting for Redis")
	case strings.Contains(msg, "OOM"):
		return ww.Wrap(op, ww.KindUnavailable, err, "Redis is out of memory; nothing was written")
	case strings.Contains(msg, "connection refused"), strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "EOF"),
		strings.Contains(msg, "broken pipe"), strings.Contains(msg, "connection reset"), strings.Contains(msg, "LOADING"),
		strings.Contains(msg, "CLUSTERDOWN"), strings.Contains(msg, "TRYAGAIN"), strings.Contains(msg, "use of closed"):
		return ww.Wrap(op, ww.KindUnavailable, err, "Redis is unavailable")
	}
	return ww.Wrap(op, ww.KindInternal, err, "storage error")
}
