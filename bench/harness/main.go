// Command harness is the Wachtwijzer benchmark behind bench/run: it starts
// its own real redis-server (or a 3-master Redis Cluster), generates and
// imports a synthetic Dutch world (the ingest benchmark), starts the gateway
// and runs every registered workload with wrk, each beside a raw Redis
// baseline taken in the same minute, then writes the results as Markdown
// and JSON.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"
)

type config struct {
	quick        bool
	cluster      bool
	appointments int
	out          string
	duration     time.Duration
	clients      int
	only         map[string]bool
	seed         int64
	keepWorld    bool
	profile      bool
	noWorld      bool
	auth         bool
	serveArgs    []string
}

func main() {
	var c config
	var only string
	flag.BoolVar(&c.quick, "quick", false, "100k appointments and short workloads (under 5 minutes)")
	flag.BoolVar(&c.cluster, "cluster", false, "run on a local 3-master Redis Cluster instead of one redis-server")
	flag.IntVar(&c.appointments, "appointments", 0, "scale (default 1,000,000; 100,000 with --quick)")
	flag.StringVar(&c.out, "out", "bench/out", "output directory")
	flag.DurationVar(&c.duration, "duration", 0, "duration of each workload (default 20s; 8s with --quick)")
	flag.IntVar(&c.clients, "clients", 16, "concurrent clients for throughput workloads")
	flag.StringVar(&only, "only", "", "comma-separated workloads to run, each a prefix of the workload's slug (e.g. read,search-b,hl7; default all)")
	flag.Int64Var(&c.seed, "seed", 1, "world seed")
	flag.BoolVar(&c.keepWorld, "keep-world", false, "reuse the generated world files in --out when present")
	flag.BoolVar(&c.noWorld, "no-world", false, "skip generating and importing the world (for workloads that bring their own data, e.g. --only hl7)")
	flag.BoolVar(&c.profile, "profile", false, "take a CPU profile of the gateway during each 16-client run and of the import (profile-*.pb.gz and profile-*.txt in --out)")
	flag.BoolVar(&c.auth, "auth", false, "run the gateway with authentication on (an admin client; every request carries its bearer token) instead of --insecure-dev")
	var serveArgs string
	flag.StringVar(&serveArgs, "serve-args", "", "extra space-separated flags for the gateway's serve command (e.g. \"--audit=false\"), to compare a setting against the default")
	flag.Parse()
	c.serveArgs = strings.Fields(serveArgs)
	if c.appointments == 0 {
		c.appointments = 1_000_000
		if c.quick {
			c.appointments = 100_000
		}
	}
	if c.duration == 0 {
		c.duration = 20 * time.Second
		if c.quick {
			c.duration = 8 * time.Second
		}
	}
	if only != "" {
		c.only = map[string]bool{}
		for _, w := range strings.Split(only, ",") {
			c.only[strings.TrimSpace(w)] = true
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	started := time.Now()
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	abs, _ := filepath.Abs(c.out)
	c.out = abs
	env, err := setup(ctx, c)
	if err != nil {
		return err
	}
	defer env.close()
	rep := &report{Config: describe(c), Machine: machine(), Started: started.UTC().Format(time.RFC3339)}
	if !c.noWorld {
		if err := env.loadWorld(ctx, rep); err != nil {
			return err
		}
	}
	if err := env.startGateway(ctx); err != nil {
		return err
	}
	for _, w := range workloads {
		if c.only != nil && !c.selected(w.Name) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		logf("workload %s", w.Name)
		res, err := env.runWorkload(ctx, w)
		if err != nil {
			logf("workload %s failed: %v", w.Name, err)
			rep.Results = append(rep.Results, result{Name: w.Name, Issue: w.Issue, Error: err.Error()})
			continue
		}
		rep.Results = append(rep.Results, res...)
	}
	rep.Seconds = time.Since(started).Seconds()
	return rep.write(c.out)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func describe(c config) map[string]any {
	return map[string]any{"quick": c.quick, "cluster": c.cluster, "appointments": c.appointments, "duration": c.duration.String(), "clients": c.clients, "seed": c.seed, "auth": c.auth}
}

// selected reports whether --only names the workload: a token is a prefix
// of its slug ("search-b" selects "search (b) free Slots …").
func (c config) selected(name string) bool {
	s := slug(name)
	for tok := range c.only {
		if tok != "" && strings.HasPrefix(s, slug(tok)) {
			return true
		}
	}
	return false
}
