package redistest

import (
	"context"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Costs is what a redis-server has spent so far, for benchmarks to report
// per operation: CPU seconds (user + system), commands run (INFO itself
// left out) and the microseconds of the script commands (EVAL, EVALSHA).
type Costs struct {
	CPU        float64
	Calls      int64
	ScriptUsec int64
}

// ServerCosts reads INFO cpu and commandstats of c's server (zero on a
// Cluster client: the figures are per node).
func ServerCosts(ctx context.Context, c redis.UniversalClient) Costs {
	var out Costs
	if _, ok := c.(*redis.ClusterClient); ok {
		return out
	}
	cpu, _ := c.Info(ctx, "cpu").Result()
	for _, line := range strings.Split(cpu, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_user" || k == "used_cpu_sys" {
			f, _ := strconv.ParseFloat(v, 64)
			out.CPU += f
		}
	}
	info, _ := c.Info(ctx, "commandstats").Result()
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") || name == "cmdstat_info" {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch {
			case k == "calls":
				out.Calls += n
			case k == "usec" && strings.HasPrefix(name, "cmdstat_eval"):
				out.ScriptUsec += n
			}
		}
	}
	return out
}
