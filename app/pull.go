package app

import (
	"context"
	"flag"
	"log/slog"
	"sync"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fetch"
	"github.com/wachtwijzer/wachtwijzer/gateway"
	"github.com/wachtwijzer/wachtwijzer/pull"
)

// ingestFlags are serve's flags for pull sources, $import and
// $bulk-publish.
type ingestFlags struct {
	sources        string
	overlap        time.Duration
	importMaxBytes int64
	publish        bool
	leaseTTL       time.Duration
}

func (f *ingestFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.sources, "pull-sources", "", "sources file (JSON, or YAML by its .yaml extension) of FHIR servers and SMART Scheduling Links publishers to pull from; empty: pull nothing")
	f.overlap = pull.DefaultOverlap
	fs.Var(durationFlag{&f.overlap}, "pull-overlap", "how far behind its cursor each incremental pull starts (late commits, clock skew)")
	f.leaseTTL = 30 * time.Second
	fs.Var(durationFlag{&f.leaseTTL}, "pull-lease-ttl", "lifetime of the pull leader lock in Redis (renewed every third of it); a gateway that dies is replaced after at most this long")
	fs.Int64Var(&f.importMaxBytes, "import-max-bytes", 256<<20, "largest POST /fhir/$import body, and largest file a $import Parameters lists; larger → 413")
	fs.BoolVar(&f.publish, "bulk-publish", true, "publish the capacity (Location, HealthcareService, PractitionerRole, Schedule, Slot) at GET /fhir/$bulk-publish (SMART Scheduling Links)")
}

// start loads the sources file and starts the pull scheduler; it returns the
// gateway's ingest options and a stop function that waits for the
// scheduler.
func (f *ingestFlags) start(ctx context.Context, store interface {
	ww.Store
	ww.SyncState
	DeploymentKey() []byte
}, log *slog.Logger) (gateway.IngestOptions, func(), error) {
	opts := gateway.IngestOptions{ImportMaxBytes: f.importMaxBytes, PublishOff: !f.publish,
		Fetcher: fetch.New(fetch.Options{Source: "import", MaxBody: f.importMaxBytes, Logger: log})}
	if f.importMaxBytes <= 0 {
		return opts, nil, usagef("--import-max-bytes must be positive")
	}
	if f.leaseTTL < time.Second {
		return opts, nil, usagef("--pull-lease-ttl must be at least 1s")
	}
	if f.overlap < 0 {
		return opts, nil, usagef("--pull-overlap must not be negative")
	}
	if f.sources == "" {
		return opts, func() {}, nil
	}
	file, err := pull.LoadFile(f.sources)
	if err != nil {
		return opts, nil, usagef("--pull-sources: %v", err)
	}
	s, err := pull.New(pull.Options{Sources: file.Sources, Store: store, State: store, Key: store.DeploymentKey(), Overlap: f.overlap, Logger: log, LeaseTTL: f.leaseTTL,
		Client: pull.ClientOptions{UserAgent: "wachtwijzer/" + Version}})
	if err != nil {
		return opts, nil, usagef("--pull-sources: %v", err)
	}
	opts.Status, opts.Annotate, opts.Freshness = s.Board, s.Board, s.Board
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Run(ctx)
	}()
	log.Info("pulling sources", "sources", len(file.Sources), "holder", s.Holder(), "overlap", f.overlap.String())
	return opts, wg.Wait, nil
}
