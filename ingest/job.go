package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// MaxRejections bounds the rejection report kept in memory.
const MaxRejections = 10000

// Job is a running import: the store, a report of rejected records, counts
// and the progress callback.
type Job struct {
	Store   ww.Store
	Key     []byte
	Channel ww.Channel
	// Owner is recorded as the writing organisation of every version.
	Owner   string
	Workers int
	Batch   int
	// Progress, when set, receives the number of records handled (written
	// or rejected) as they are.
	Progress func(n int)
	// Log is for importers that report more than records (nil: discard).
	Log *slog.Logger
	// Prepare, when set, replaces the default preparation of a record
	// (parse, type and id checks, validation).
	Prepare func(ctx context.Context, rec Record) (ww.Write, error)

	mu sync.Mutex
	// Rejected lists the records that could not be imported, with why.
	Rejected []string
	// Written counts written records.
	Written int
	byType  map[string]int
	errors  int
}

// Reject records a rejected record.
func (j *Job) Reject(where string, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.errors++
	if len(j.Rejected) < MaxRejections {
		j.Rejected = append(j.Rejected, where+": "+err.Error())
	}
}

// Wrote counts n written records (and reports progress).
func (j *Job) Wrote(n int) {
	j.mu.Lock()
	j.Written += n
	j.mu.Unlock()
	if j.Progress != nil {
		j.Progress(n)
	}
}

func (j *Job) wroteTypes(ws []ww.Write) {
	j.mu.Lock()
	if j.byType == nil {
		j.byType = map[string]int{}
	}
	for _, w := range ws {
		j.byType[w.Type]++
	}
	j.mu.Unlock()
	j.Wrote(len(ws))
}

// Logger returns Log, or a logger that discards.
func (j *Job) Logger() *slog.Logger {
	if j.Log != nil {
		return j.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Counts returns the written records per type.
func (j *Job) Counts() map[string]int {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make(map[string]int, len(j.byType))
	for k, v := range j.byType {
		out[k] = v
	}
	return out
}

// Errors is the number of rejected records (also beyond MaxRejections).
func (j *Job) Errors() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.errors
}

// Types lists the written types, sorted.
func (j *Job) Types() []string {
	c := j.Counts()
	out := make([]string, 0, len(c))
	for t := range c {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Record is one resource to import.
type Record struct {
	Where string // file:line, for the report
	JSON  []byte
}

// WriteRecords validates records and writes them (as updates by id) in
// batches with parallel workers; invalid ones are rejected individually,
// and a batch that fails is retried one by one so one bad record never
// sinks its neighbours. It returns the first error that stops the import
// (Redis unavailable, the context cancelled).
func (j *Job) WriteRecords(ctx context.Context, in <-chan Record) error {
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
			seen := map[string]int{}
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
				clear(seen)
			}
			for rec := range in {
				errMu.Lock()
				stop := firstErr != nil
				errMu.Unlock()
				if stop {
					continue // drain: the import is failing
				}
				w, err := j.prepare(ctx, rec)
				if err != nil {
					j.Reject(rec.Where, err)
					if j.Progress != nil {
						j.Progress(1)
					}
					continue
				}
				k := w.Type + "/" + w.ID
				if i, dup := seen[k]; dup {
					// The same resource twice in one batch: the later line
					// wins, as it would in two batches.
					writes[i], wheres[i] = w, rec.Where
					continue
				}
				seen[k] = len(writes)
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

func (j *Job) prepare(ctx context.Context, rec Record) (ww.Write, error) {
	if j.Prepare != nil {
		return j.Prepare(ctx, rec)
	}
	return PrepareRecord(ctx, rec, ww.Provenance{Owner: j.Owner, Channel: j.Channel, Source: rec.Where})
}

// PrepareRecord parses and validates one resource and returns its write (an
// update by its id).
func PrepareRecord(ctx context.Context, rec Record, prov ww.Provenance) (ww.Write, error) {
	tree, err := fhirjson.Parse(rec.JSON, fhirjson.Limits{MaxDepth: 100})
	if err != nil {
		return ww.Write{}, err
	}
	if tree.Kind != fhirjson.Object {
		return ww.Write{}, fmt.Errorf("a line must hold one JSON object (a FHIR resource)")
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
	return ww.Write{Op: ww.OpUpdate, Type: typ, ID: id, JSON: rec.JSON, Tree: tree, Provenance: prov}, nil
}

func (j *Job) commit(ctx context.Context, writes []ww.Write, wheres []string) error {
	_, err := j.Store.Commit(ctx, &ww.Commit{Writes: writes})
	if err == nil {
		j.wroteTypes(writes)
		return nil
	}
	if ww.IsKind(err, ww.KindUnavailable) || errors.Is(err, context.Canceled) {
		return err
	}
	for i := range writes {
		if _, err := j.Store.Commit(ctx, &ww.Commit{Writes: writes[i : i+1]}); err != nil {
			if ww.IsKind(err, ww.KindUnavailable) || errors.Is(err, context.Canceled) {
				return err
			}
			j.Reject(wheres[i], err)
			if j.Progress != nil {
				j.Progress(1)
			}
			continue
		}
		j.wroteTypes(writes[i : i+1])
	}
	return nil
}

// ReadNDJSON feeds the lines of r (one resource per line; blank lines
// skipped) through WriteRecords; name prefixes each record's location in
// the report ("name:line").
func (j *Job) ReadNDJSON(ctx context.Context, r io.Reader, name string) error {
	ch := make(chan Record, 256)
	errc := make(chan error, 1)
	go func() { errc <- j.WriteRecords(ctx, ch) }()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		select {
		case ch <- Record{Where: fmt.Sprintf("%s:%d", name, line), JSON: append([]byte(nil), b...)}:
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
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: line %d: %w", name, line+1, err)
	}
	return nil
}
