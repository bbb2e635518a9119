// Package redisinfo reads what a redis-server has spent from its INFO: CPU
// seconds and, per command, calls and microseconds. The benchmark harness
// and the test benchmarks report per-operation costs from two readings.
package redisinfo

import (
	"context"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Stats is one reading of a server (or the sum of several).
type Stats struct {
	// CPU is used_cpu_user + used_cpu_sys, in seconds.
	CPU float64
	// Calls and Usec are INFO commandstats by command name ("get",
	// "evalsha", ...).
	Calls, Usec map[string]int64
}

// Read reads INFO cpu and commandstats of c's server.
func Read(ctx context.Context, c redis.Cmdable) (Stats, error) {
	info, err := c.Info(ctx, "cpu", "commandstats").Result()
	if err != nil {
		return Stats{}, err
	}
	return Parse(info), nil
}

// Parse reads the cpu and commandstats sections of an INFO reply.
func Parse(info string) Stats {
	s := Stats{Calls: map[string]int64{}, Usec: map[string]int64{}}
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch {
		case k == "used_cpu_sys" || k == "used_cpu_user":
			f, _ := strconv.ParseFloat(v, 64)
			s.CPU += f
		case strings.HasPrefix(k, "cmdstat_"):
			cmd := strings.TrimPrefix(k, "cmdstat_")
			for _, kv := range strings.Split(v, ",") {
				name, val, _ := strings.Cut(kv, "=")
				n, _ := strconv.ParseInt(val, 10, 64)
				switch name {
				case "calls":
					s.Calls[cmd] += n
				case "usec":
					s.Usec[cmd] += n
				}
			}
		}
	}
	return s
}

// Add sums o into s.
func (s *Stats) Add(o Stats) {
	s.CPU += o.CPU
	for k, v := range o.Calls {
		s.Calls[k] += v
	}
	for k, v := range o.Usec {
		s.Usec[k] += v
	}
}
