package redistest

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/wachtwijzer/wachtwijzer/internal/redisinfo"
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
	st, err := redisinfo.Read(ctx, c)
	if err != nil {
		return out
	}
	out.CPU = st.CPU
	for cmd, n := range st.Calls {
		if cmd != "info" {
			out.Calls += n
		}
	}
	for cmd, u := range st.Usec {
		if strings.HasPrefix(cmd, "eval") {
			out.ScriptUsec += u
		}
	}
	return out
}
