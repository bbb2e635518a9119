package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/gateway"
	"github.com/wachtwijzer/wachtwijzer/ingest"
)

// Importer is a file format the import command reads; formats registered
// by later packages (waiting-times, csv, …) add themselves with
// RegisterImporter.
type Importer func(ctx context.Context, job *ImportJob, path string) error

var importers = map[string]Importer{}

// RegisterImporter adds an import format.
func RegisterImporter(format string, imp Importer) { importers[format] = imp }

// ImportJob is the running import: the store, a report of rejected records
// and the progress counter (the write pipeline lives in package ingest, so
// that POST /fhir/$import and the pull adapter share it).
type ImportJob = ingest.Job

// Record is one resource to import.
type Record = ingest.Record

// importFlags are the flags of the import command that importers read
// (--mapping, --close-missing, …); importers register their own with
// RegisterImportFlags.
var importFlagSets []func(fs *flag.FlagSet)

// RegisterImportFlags adds flags to the import command (call from init).
func RegisterImportFlags(fn func(fs *flag.FlagSet)) { importFlagSets = append(importFlagSets, fn) }

func init() {
	RegisterImporter("ndjson", importNDJSON)
	RegisterImporter("bundle", importBundle)
	Register("import", "Import files through the store: FHIR NDJSON or transaction Bundles, and each format --format lists.", runImport)
}

func runImport(ctx context.Context, env Env, args []string) error {
	tuneGC()
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	var rf redisFlags
	rf.register(fs)
	var mf mediationFlags
	mf.register(fs, false)
	format := fs.String("format", "", "file format: "+formatList()+" (default: from the file name, .ndjson or .json)")
	workers := fs.Int("workers", 4, "parallel writers")
	batch := fs.Int("batch", 100, "resources per atomic commit")
	logFormat := fs.String("log-format", "text", "log format: json or text")
	cpuProfile := fs.String("cpu-profile", "", "write a Go CPU profile of the import to this file (for benchmarks)")
	for _, fn := range importFlagSets {
		fn(fs)
	}
	if err := parseFlagsAndArgs(fs, args, env.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(env.Stdout, "import [flags] FILE…", "Import files through the store (validation and indexes included).", fs)
		}
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		return usagef("give one or more files to import")
	}
	log, err := newLogger(env.Stderr, *logFormat)
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	store, closeStore, err := rf.connectStore(ctx, log, embeddedServer)
	if err != nil {
		return err
	}
	defer closeStore()
	total := int64(0)
	for _, f := range files {
		if n, err := countRecords(f); err == nil {
			total += n
		}
	}
	geo, err := mf.geo()
	if err != nil {
		return err
	}
	importGeo = geo
	job := &ImportJob{Store: store, Key: store.DeploymentKey(), Channel: ww.ChannelImport, Workers: *workers, Batch: *batch, Log: log}
	prog := newProgress(env.Stderr, log, "importing", total)
	job.Progress = prog.add
	start := time.Now()
	for _, f := range files {
		fileStart, before := time.Now(), job.Counts()
		fm := *format
		if fm == "" {
			fm = guessFormat(f)
		}
		imp, ok := importers[fm]
		if !ok {
			prog.finish()
			return usagef("unknown --format %q for %s; use %s", fm, f, formatList())
		}
		if err := imp(ctx, job, f); err != nil {
			prog.finish()
			return fmt.Errorf("import %s: %w", f, err)
		}
		logFileDone(log, f, fm, time.Since(fileStart), before, job.Counts())
	}
	prog.finish()
	el := time.Since(start)
	log.Info("import finished", "written", job.Written, "rejected", job.Errors(), "seconds", el.Seconds(), "per_second", int(float64(job.Written)/el.Seconds()), "per_type", job.Counts())
	for _, r := range job.Rejected {
		fmt.Fprintln(env.Stderr, "rejected:", r)
	}
	if len(job.Rejected) > 0 {
		return fmt.Errorf("%d records rejected (listed above); the valid ones were imported", len(job.Rejected))
	}
	return nil
}

func formatList() string {
	var fs []string
	for f := range importers {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	return strings.Join(fs, ", ")
}

func guessFormat(path string) string {
	switch {
	case strings.HasSuffix(path, "$bulk-publish"):
		return "bulk-publish"
	case strings.HasSuffix(path, ".ndjson"):
		return "ndjson"
	case strings.HasSuffix(path, ".json"):
		return "bundle"
	}
	return ""
}

// countRecords estimates the records in a file for the progress bar (lines
// of NDJSON; entries are not counted for other formats).
func countRecords(path string) (int64, error) {
	if !strings.HasSuffix(path, ".ndjson") {
		return 0, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	buf := make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func importNDJSON(ctx context.Context, job *ImportJob, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return job.ReadNDJSON(ctx, f, filepath.Base(path))
}

// logFileDone logs one file's written records per type and its rate (the
// benchmark harness reads these lines for per-type figures).
func logFileDone(log *slog.Logger, path, format string, el time.Duration, before, after map[string]int) {
	per := map[string]int{}
	n := 0
	for t, c := range after {
		if d := c - before[t]; d > 0 {
			per[t] = d
			n += d
		}
	}
	rate := 0
	if el > 0 {
		rate = int(float64(n) / el.Seconds())
	}
	log.Info("import file finished", "file", filepath.Base(path), "format", format, "written", n, "seconds", el.Seconds(), "per_second", rate, "per_type", per)
}

// importBundle posts a batch or transaction Bundle to an in-process gateway,
// so a file gets exactly the semantics of POST [base].
func importBundle(ctx context.Context, job *ImportJob, path string) error {
	body, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	gw, err := gateway.New(gateway.Options{Store: job.Store, DeploymentKey: job.Key, MaxBodyBytes: 1 << 30})
	if err != nil {
		return err
	}
	req := httptest.NewRequest(http.MethodPost, "http://import.local/fhir", bytes.NewReader(body)).WithContext(ctx)
	req.Header.Set("Content-Type", "application/fhir+json")
	rec := httptest.NewRecorder()
	gw.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		job.Reject(filepath.Base(path), fmt.Errorf("HTTP %d: %s", rec.Code, strings.TrimSpace(rec.Body.String())))
		return nil
	}
	n := bytes.Count(rec.Body.Bytes(), []byte(`"response":`))
	job.Wrote(n)
	return nil
}
