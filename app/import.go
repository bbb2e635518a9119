package app

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/gateway"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

// Importer is a file format the import command reads; formats registered
// by later packages (waiting-times, csv, …) add themselves with
// RegisterImporter.
type Importer func(ctx context.Context, job *ImportJob, path string) error

var importers = map[string]Importer{}

// RegisterImporter adds an import format.
func RegisterImporter(format string, imp Importer) { importers[format] = imp }

// ImportJob is the running import: the store, a report of rejected records
// and the progress counter.
type ImportJob struct {
	Store   ww.Store
	Key     []byte
	Channel ww.Channel
	Workers int
	Batch   int
	// Geo places Locations that formats create (waiting-times).
	Geo mediation.PC4Geo
	// Stderr receives format notes (nil: none).
	Stderr io.Writer
	prog   *progress
	mu     sync.Mutex
	// Rejected lists the records that could not be imported, with why.
	Rejected []string
	Written  int
}

// Reject records a rejected record.
func (j *ImportJob) Reject(where string, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.Rejected) < 10000 {
		j.Rejected = append(j.Rejected, where+": "+err.Error())
	}
}

// Wrote counts written records.
func (j *ImportJob) Wrote(n int) {
	j.mu.Lock()
	j.Written += n
	j.mu.Unlock()
	if j.prog != nil {
		j.prog.add(n)
	}
}

// Record is one resource to import.
type Record struct {
	Where string // file:line, for the report
	JSON  []byte
}

// WriteRecords validates records and writes them (as updates by id) in
// batches with parallel workers; invalid ones are rejected individually,
// and a batch that fails is retried one by one so one bad record never
// sinks its neighbours.
func (j *ImportJob) WriteRecords(ctx context.Context, in <-chan Record) error {
	workers := j.Workers
	if workers <= 0 {
		workers = 4
	}
	batch := j.Batch
	if batch <= 0 {
		batch = 100
	}
	var wg sync.WaitGroup
	var firstErr error
	var errMu sync.Mutex
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var writes []ww.Write
			var wheres []string
			flush := func() {
				if len(writes) == 0 {
					return
				}
				if err := j.commit(ctx, writes, wheres); err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
				}
				writes, wheres = writes[:0], wheres[:0]
			}
			for rec := range in {
				w, err := j.prepare(ctx, rec)
				if err != nil {
					j.Reject(rec.Where, err)
					j.Wrote(0)
					continue
				}
				writes = append(writes, w)
				wheres = append(wheres, rec.Where)
				if len(writes) >= batch {
					flush()
				}
			}
			flush()
		}()
	}
	wg.Wait()
	return firstErr
}

func (j *ImportJob) prepare(ctx context.Context, rec Record) (ww.Write, error) {
	tree, err := fhirjson.Parse(rec.JSON, fhirjson.Limits{MaxDepth: 100})
	if err != nil {
		return ww.Write{}, err
	}
	typ := tree.GetStr("resourceType")
	id := tree.GetStr("id")
	if !conformance.Supported(typ) {
		return ww.Write{}, fmt.Errorf("resource type %q is not supported", typ)
	}
	if !ww.ValidID(id) {
		return ww.Write{}, fmt.Errorf("%s has no valid id", typ)
	}
	if err := conformance.Validate(ctx, typ, tree); err != nil {
		return ww.Write{}, err
	}
	return ww.Write{Op: ww.OpUpdate, Type: typ, ID: id, JSON: rec.JSON, Provenance: ww.Provenance{Channel: j.Channel, Source: rec.Where}}, nil
}

func (j *ImportJob) commit(ctx context.Context, writes []ww.Write, wheres []string) error {
	_, err := j.Store.Commit(ctx, &ww.Commit{Writes: writes})
	if err == nil {
		j.Wrote(len(writes))
		return nil
	}
	if ww.IsKind(err, ww.KindUnavailable) || errors.Is(err, context.Canceled) {
		return err
	}
	for i := range writes {
		if _, err := j.Store.Commit(ctx, &ww.Commit{Writes: writes[i : i+1]}); err != nil {
			if ww.IsKind(err, ww.KindUnavailable) {
				return err
			}
			j.Reject(wheres[i], err)
			continue
		}
		j.Wrote(1)
	}
	return nil
}

func init() {
	RegisterImporter("ndjson", importNDJSON)
	RegisterImporter("bundle", importBundle)
	Register("import", "Import FHIR NDJSON files or transaction Bundles (and, with other --format values, CSV and waiting-time files) through the store.", runImport)
}

func runImport(ctx context.Context, env Env, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	var rf redisFlags
	rf.register(fs)
	var mf mediationFlags
	mf.register(fs, false)
	format := fs.String("format", "", "file format: "+formatList()+" (default: from the file name, .ndjson or .json)")
	workers := fs.Int("workers", 4, "parallel writers")
	batch := fs.Int("batch", 100, "resources per atomic commit")
	logFormat := fs.String("log-format", "text", "log format: json or text")
	fs.Bool("_positional", false, "")
	if err := parseFlags(fs, args, env.Getenv); err != nil {
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
	conn, err := rf.connect(ctx, log, true)
	if err != nil {
		return err
	}
	defer conn.close(context.WithoutCancel(ctx))
	store, err := rf.openStore(ctx, conn, log, nil)
	if err != nil {
		return err
	}
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
	job := &ImportJob{Store: store, Key: store.DeploymentKey(), Channel: ww.ChannelImport, Workers: *workers, Batch: *batch, Geo: geo, Stderr: env.Stderr}
	job.prog = newProgress(env.Stderr, log, "importing", total)
	start := time.Now()
	for _, f := range files {
		fm := *format
		if fm == "" {
			fm = guessFormat(f)
		}
		imp, ok := importers[fm]
		if !ok {
			job.prog.finish()
			return usagef("unknown --format %q for %s; use %s", fm, f, formatList())
		}
		if err := imp(ctx, job, f); err != nil {
			job.prog.finish()
			return fmt.Errorf("import %s: %w", f, err)
		}
	}
	job.prog.finish()
	el := time.Since(start)
	log.Info("import finished", "written", job.Written, "rejected", len(job.Rejected), "seconds", el.Seconds(), "per_second", int(float64(job.Written)/el.Seconds()))
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
	ch := make(chan Record, 256)
	errc := make(chan error, 1)
	go func() { errc <- job.WriteRecords(ctx, ch) }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	base := filepath.Base(path)
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		select {
		case ch <- Record{Where: fmt.Sprintf("%s:%d", base, line), JSON: append([]byte(nil), b...)}:
		case <-ctx.Done():
			close(ch)
			<-errc
			return ctx.Err()
		}
	}
	close(ch)
	if err := <-errc; err != nil {
		return err
	}
	return sc.Err()
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
