package redistest

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { os.Exit(RunMain(m)) }

func TestStartSetGet(t *testing.T) {
	ctx := context.Background()
	s := Start(t, Options{UnixSocket: true})
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") || s.Port == 0 || s.URL() != "redis://"+s.Addr {
		t.Fatalf("unexpected address: Addr=%q Port=%d URL=%q", s.Addr, s.Port, s.URL())
	}
	rdb := s.Client(t)
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := rdb.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET k = %q, %v; want v", got, err)
	}
	policy, err := rdb.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil || policy["maxmemory-policy"] != "noeviction" {
		t.Fatalf("maxmemory-policy = %v, %v; want noeviction", policy, err)
	}
	if n := len(s.Socket()); n >= 100 {
		t.Fatalf("socket path %q is %d bytes", s.Socket(), n)
	}
	unix := redis.NewClient(&redis.Options{Network: "unix", Addr: s.Socket()})
	defer unix.Close()
	if got, err := unix.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET k over unix socket = %q, %v; want v", got, err)
	}
}

func TestKillRestartKeepsAOF(t *testing.T) {
	ctx := context.Background()
	s := Start(t, Options{AppendOnly: true, AppendFsync: "always"})
	rdb := s.Client(t)
	if err := rdb.Set(ctx, "durable", "yes", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill(t)
	// A client without retries: go-redis otherwise spends about 2 s (and
	// logs) retrying dials to the dead server.
	probe := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialerRetries: 1})
	defer probe.Close()
	if err := probe.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded after Kill")
	}
	port := s.Port
	s.Restart(t)
	if s.Port != port {
		t.Fatalf("port changed on restart: %d → %d", port, s.Port)
	}
	if got, err := rdb.Get(ctx, "durable").Result(); err != nil || got != "yes" {
		t.Fatalf("GET durable after kill+restart = %q, %v; want yes", got, err)
	}
	// Restart of a running server shuts it down gracefully first.
	s.Restart(t)
	if got, err := rdb.Get(ctx, "durable").Result(); err != nil || got != "yes" {
		t.Fatalf("GET durable after second restart = %q, %v; want yes", got, err)
	}
}

func TestSharedAndPrefix(t *testing.T) {
	ctx := context.Background()
	a, b := Shared(t), Shared(t)
	if a != b {
		t.Fatal("Shared returned two servers")
	}
	valid := regexp.MustCompile(`^[a-z][a-z0-9]+$`)
	seen := map[string]bool{}
	for range 10000 {
		p := Prefix(t)
		if !valid.MatchString(p) || strings.ContainsAny(p, "{}") {
			t.Fatalf("invalid prefix %q", p)
		}
		if seen[p] {
			t.Fatalf("duplicate prefix %q", p)
		}
		seen[p] = true
	}
	p1, p2 := Prefix(t), Prefix(t)
	rdb := a.Client(t)
	rdb.Set(ctx, p1+":k", "one", 0)
	rdb.Set(ctx, p2+":k", "two", 0)
	if got := rdb.Get(ctx, p1+":k").Val(); got != "one" {
		t.Fatalf("prefix isolation broken: %q", got)
	}
}

func TestRequireSkipsWithoutBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(EnvRequireRedis, "")
	skipped := false
	t.Run("inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Require(t)
	})
	if !skipped {
		t.Fatal("Require did not skip with redis-server missing from PATH")
	}
}

// fakeTB records Skip and Fatal instead of acting on them.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestRequireFailsWhenRequired(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, required := range []string{"", "1"} {
		t.Setenv(EnvRequireRedis, required)
		f := &fakeTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Require(f)
		}()
		<-done
		if required == "1" && (f.failed == "" || f.skipped != "") {
			t.Errorf("%s=1: skipped=%q failed=%q; want a failure", EnvRequireRedis, f.skipped, f.failed)
		}
		if required == "" && (f.skipped == "" || f.failed != "") {
			t.Errorf("%s unset: skipped=%q failed=%q; want a skip", EnvRequireRedis, f.skipped, f.failed)
		}
	}
}

func TestCluster(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	c := SharedCluster(t)
	t.Logf("cluster ready in %s", time.Since(start).Round(time.Millisecond))
	if SharedCluster(t) != c {
		t.Fatal("SharedCluster returned two clusters")
	}
	if len(c.Addrs) != 3 {
		t.Fatalf("Addrs = %v, want 3 masters", c.Addrs)
	}
	cc := c.Client(t)
	var masters atomic.Int32 // ForEachMaster runs the callback concurrently
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		info, err := n.ClusterInfo(ctx).Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("%s: %s", n.Options().Addr, info)
		}
		masters.Add(1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := masters.Load(); n != 3 {
		t.Fatalf("%d masters, want 3", n)
	}

	p := Prefix(t)
	if err := cc.Set(ctx, p+":k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := cc.Get(ctx, p+":k").Result(); err != nil || got != "v" {
		t.Fatalf("GET = %q, %v; want v", got, err)
	}

	// Keys under different hash tags spread over the masters; keys under
	// one tag stay together.
	owner := map[string]string{} // key → node address
	for i := range 12 {
		for j := range 2 {
			key := fmt.Sprintf("%s:{tag%d}:%d", p, i, j)
			if err := cc.Set(ctx, key, "x", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, addr := range c.Addrs {
		n := redis.NewClient(&redis.Options{Addr: addr})
		keys, err := n.Keys(ctx, p+":{tag*").Result()
		n.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			owner[k] = addr
		}
	}
	if len(owner) != 24 {
		t.Fatalf("found %d of 24 keys on the nodes", len(owner))
	}
	nodes := map[string]bool{}
	for i := range 12 {
		a, b := owner[fmt.Sprintf("%s:{tag%d}:0", p, i)], owner[fmt.Sprintf("%s:{tag%d}:1", p, i)]
		if a != b {
			t.Fatalf("keys of {tag%d} on different nodes %s and %s", i, a, b)
		}
		nodes[a] = true
	}
	if len(nodes) < 2 {
		t.Fatalf("12 hash tags all landed on %v", nodes)
	}
}
