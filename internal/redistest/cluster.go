package redistest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wachtwijzer/wachtwijzer/internal/resp"
)

// clusterMasters is the number of masters in a test cluster.
const clusterMasters = 3

// clusterReadyTimeout bounds the wait for cluster_state:ok on every node.
const clusterReadyTimeout = 30 * time.Second

// Cluster is a real Redis Cluster of three masters (no replicas), each a
// redis-server child process.
type Cluster struct {
	Addrs []string // 127.0.0.1:port of each master

	nodes []*Server
	once  sync.Once
}

// StartCluster starts a private three-master cluster, created with
// redis-cli --cluster create, and returns once every node reports
// cluster_state:ok with all 16384 slots assigned. It is stopped when the test
// ends. Start-up takes one to a few seconds (redis-cli polls once a second
// while the nodes gossip); prefer SharedCluster.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	requireBinaries(tb, "redis-server", "redis-cli")
	c, err := newCluster()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.stop)
	return c
}

// SharedCluster returns the test binary's shared cluster, starting it on
// first use. RunMain stops it.
func SharedCluster(tb testing.TB) *Cluster {
	tb.Helper()
	requireBinaries(tb, "redis-server", "redis-cli")
	sharedClusterOnce.Do(func() {
		sharedCluster, sharedClusterErr = newCluster()
	})
	if sharedClusterErr != nil {
		tb.Fatalf("redistest: shared cluster: %v", sharedClusterErr)
	}
	return sharedCluster
}

func newCluster() (*Cluster, error) {
	c := &Cluster{nodes: make([]*Server, clusterMasters)}
	errs := make([]error, clusterMasters)
	var wg sync.WaitGroup
	for i := range clusterMasters {
		wg.Go(func() { c.nodes[i], errs[i] = newServer(Options{}, true) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.stop()
		return nil, fmt.Errorf("redistest: start cluster node: %w", err)
	}
	for _, n := range c.nodes {
		c.Addrs = append(c.Addrs, n.Addr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), clusterReadyTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput()
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("redistest: redis-cli --cluster create %s: %w\n%s", strings.Join(c.Addrs, " "), err, out)
	}
	if err := c.waitOK(ctx); err != nil {
		c.stop()
		return nil, fmt.Errorf("redistest: cluster %s: %w\nredis-cli output:\n%s", strings.Join(c.Addrs, " "), err, out)
	}
	return c, nil
}

// waitOK polls CLUSTER INFO on every node until each reports state ok, all
// slots assigned and ok, and knows every master.
func (c *Cluster) waitOK(ctx context.Context) error {
	want := map[string]string{
		"cluster_state":          "ok",
		"cluster_slots_assigned": "16384",
		"cluster_slots_ok":       "16384",
		"cluster_known_nodes":    fmt.Sprint(clusterMasters),
		"cluster_size":           fmt.Sprint(clusterMasters),
	}
	var last string
	for {
		ready := true
		for _, addr := range c.Addrs {
			v, err := resp.Command(ctx, addr, "CLUSTER", "INFO")
			if err != nil {
				ready, last = false, fmt.Sprintf("%s: CLUSTER INFO: %v", addr, err)
				break
			}
			info, _ := v.(string)
			for field, value := range want {
				if got, _ := resp.InfoField(info, field); got != value {
					ready, last = false, fmt.Sprintf("%s: %s:%s, want %s", addr, field, got, value)
					break
				}
			}
			if !ready {
				break
			}
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %s", last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Client returns a go-redis cluster client for the cluster, closed when the
// test ends.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	tb.Cleanup(func() { cc.Close() })
	return cc
}

// stop kills every node and removes their directories. It is idempotent.
func (c *Cluster) stop() {
	c.once.Do(func() {
		for _, n := range c.nodes {
			if n != nil {
				n.stop()
			}
		}
	})
}
