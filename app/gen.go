package app

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wachtwijzer/wachtwijzer/gen"
)

func init() {
	Register("gen", "Generate a deterministic synthetic Dutch world (NDJSON, transaction Bundles, HL7 v2, NZa and hospital CSV).", runGen)
}

func runGen(ctx context.Context, env Env, args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	var rf redisFlags
	rf.register(fs)
	out := fs.String("out", "world", "output directory")
	appts := fs.Int("appointments", 100_000, "scale: number of Appointments (everything else scales from it)")
	seed := fs.Int64("seed", 1, "seed: the same seed and scale give byte-identical output")
	formats := fs.String("formats", "ndjson", "comma-separated: ndjson, bundle, hl7, nza-csv, hospital-csv")
	asOf := fs.String("as-of", "", "the world's today (YYYY-MM-DD, Europe/Amsterdam; default today)")
	keyHex := fs.String("deployment-key", "", "hex deployment key for the ids; default: read from the configured Redis (so ids match the gateway's)")
	perBundle := fs.Int("bundle-size", 500, "entries per transaction Bundle")
	hospital := fs.String("hospital-agb", "", "AGB of the hospital whose waiting-list CSV to write (default: the first hospital)")
	logFormat := fs.String("log-format", "text", "log format: json or text")
	if err := parseFlags(fs, args, env.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(env.Stdout, "gen", "Generate a synthetic world.", fs)
		}
		return err
	}
	log, err := newLogger(env.Stderr, *logFormat)
	if err != nil {
		return err
	}
	cfg := gen.Config{Seed: *seed, Appointments: *appts}
	if *asOf != "" {
		t, err := time.Parse("2006-01-02", *asOf)
		if err != nil {
			return usagef("--as-of %q: use YYYY-MM-DD", *asOf)
		}
		cfg.AsOf = t
	}
	switch {
	case *keyHex != "":
		k, err := hex.DecodeString(*keyHex)
		if err != nil {
			return usagef("--deployment-key: %v", err)
		}
		cfg.DeploymentKey = k
	default:
		store, closeStore, err := rf.connectStore(ctx, log, embeddedServer)
		if err != nil {
			return err
		}
		cfg.DeploymentKey = store.DeploymentKey()
		closeStore()
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	start := time.Now()
	for _, f := range strings.Split(*formats, ",") {
		switch strings.TrimSpace(f) {
		case "ndjson":
			counts, err := gen.WriteNDJSON(*out, cfg)
			if err != nil {
				return fmt.Errorf("gen ndjson: %w", err)
			}
			log.Info("wrote NDJSON", "dir", *out, "resources", counts)
		case "bundle":
			n, err := gen.WriteBundles(filepath.Join(*out, "bundles"), cfg, *perBundle)
			if err != nil {
				return fmt.Errorf("gen bundles: %w", err)
			}
			log.Info("wrote transaction Bundles", "files", n)
		case "hl7":
			if err := writeFile(filepath.Join(*out, "messages.hl7"), func(f *os.File) (int, error) { return gen.WriteHL7(f, cfg) }, log, "HL7 v2 messages"); err != nil {
				return err
			}
		case "nza-csv":
			if err := writeFile(filepath.Join(*out, "nza-wachttijden.csv"), func(f *os.File) (int, error) { return gen.WriteNZaCSV(f, cfg) }, log, "NZa waiting-time rows"); err != nil {
				return err
			}
		case "hospital-csv":
			agb := *hospital
			if agb == "" {
				ps, err := gen.Providers(cfg)
				if err != nil || len(ps) == 0 {
					return fmt.Errorf("gen: no providers: %v", err)
				}
				agb = ps[0].AGB
			}
			if err := writeFile(filepath.Join(*out, "wachtlijst-"+agb+".csv"), func(f *os.File) (int, error) { return gen.WriteHospitalCSV(f, cfg, agb) }, log, "waiting-list rows"); err != nil {
				return err
			}
		default:
			return usagef("unknown format %q in --formats", f)
		}
	}
	log.Info("generated", "seconds", time.Since(start).Seconds())
	return nil
}

func writeFile(path string, fn func(*os.File) (int, error), log interface{ Info(string, ...any) }, what string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	n, err := fn(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("gen %s: %w", path, err)
	}
	log.Info("wrote "+what, "file", path, "count", n)
	return nil
}
