package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/wachtwijzer/wachtwijzer/redisstore"
)

func init() {
	Register("reindex", "Build the next index generation while the gateway keeps serving, switch searches to it and delete the old one.", runReindex)
}

func runReindex(ctx context.Context, env Env, args []string) error {
	tuneGC()
	fs := flag.NewFlagSet("reindex", flag.ContinueOnError)
	var rf redisFlags
	rf.register(fs)
	batch := fs.Int("batch", 200, "resources per reindex script call")
	logFormat := fs.String("log-format", "text", "log format: json or text")
	if err := parseFlags(fs, args, env.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(env.Stdout, "reindex [flags]", "Rebuild every search index as a new generation; reads continue on the current one and running gateways switch by themselves.", fs)
		}
		return err
	}
	if fs.NArg() > 0 {
		return usagef("reindex takes no arguments (got %q)", fs.Arg(0))
	}
	if *batch <= 0 {
		return usagef("--batch must be positive")
	}
	log, err := newLogger(env.Stderr, *logFormat)
	if err != nil {
		return err
	}
	store, closeStore, err := rf.connectStore(ctx, log, embeddedServer)
	if err != nil {
		return err
	}
	defer closeStore()
	var mu sync.Mutex
	var bar *progress
	phase := ""
	start := time.Now()
	res, err := store.Reindex(ctx, redisstore.ReindexOptions{Batch: *batch, Progress: func(ph string, total int64, done int) {
		mu.Lock()
		defer mu.Unlock()
		if ph != phase {
			if bar != nil {
				bar.finish()
			}
			what := map[string]string{"build": "indexing resources", "delete": "deleting old index keys"}[ph]
			if total < 0 {
				total = 0
			}
			bar, phase = newProgress(env.Stderr, log, what, total), ph
		}
		bar.add(done)
	}})
	mu.Lock()
	if bar != nil {
		bar.finish()
	}
	mu.Unlock()
	if err != nil {
		return err
	}
	resumed := ""
	if res.Resumed {
		resumed = " (resumed an interrupted build)"
	}
	fmt.Fprintf(env.Stdout, "reindexed %d resources into index generation %d%s; deleted %d keys of generation %d in %s\n",
		res.Resources, res.To, resumed, res.DeletedKeys, res.From, time.Since(start).Truncate(time.Millisecond))
	return nil
}
