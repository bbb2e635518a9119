package pull

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/url"
	"sort"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fetch"
	"github.com/wachtwijzer/wachtwijzer/mappings/smartscheduling"
)

// manifestCursor is the cursor "type" of a publisher: the transactionTime
// of the last manifest imported completely.
const manifestCursor = "manifest"

// SyncBulkPublish imports a SMART Scheduling Links publisher: its manifest
// (with _since the last complete import's transactionTime, unless full),
// then each file of the configured types, in pages of PageSize written
// atomically. A full import also tombstones what the publisher no longer
// lists (reconciliation; increments cannot express deletions).
func (s *Syncer) SyncBulkPublish(ctx context.Context, full bool) ([]*TypeResult, error) {
	mres := &TypeResult{Type: manifestCursor}
	results := []*TypeResult{mres}
	cursor, err := s.State.Cursor(ctx, s.Source.ID, manifestCursor)
	if err != nil {
		return results, err
	}
	u := s.Source.BaseURL
	if !full && !cursor.IsZero() {
		u = addQuery(u, "_since", cursor.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	var m *smartscheduling.Manifest
	if _, err := s.Client.Get(ctx, u, "application/json", func(r *fetch.Response) error {
		var err error
		m, err = smartscheduling.ParseManifest(r.Body, s.Source.BaseURL)
		return err
	}); err != nil {
		return results, err
	}
	mres.Pages = 1
	if m.Errors > 0 {
		s.warn(mres, "the publisher's manifest lists %d errors", m.Errors)
	}
	want := map[string]bool{}
	for _, rc := range s.Source.Resources {
		want[rc.Type] = true
	}
	listed := map[string]map[string]bool{}
	for _, o := range m.Outputs() {
		if !want[o.Type] {
			continue
		}
		res := &TypeResult{Type: o.Type}
		results = append(results, res)
		if listed[o.Type] == nil {
			listed[o.Type] = map[string]bool{}
		}
		if err := s.importFile(ctx, o, res, listed[o.Type]); err != nil {
			return results, err
		}
	}
	if full {
		for _, rc := range s.Source.Resources {
			if err := s.tombstoneUnlisted(ctx, rc.Type, listed[rc.Type], resultFor(&results, rc.Type)); err != nil {
				return results, err
			}
		}
	}
	mres.Cursor = m.TransactionTime
	return results, s.State.Advance(ctx, s.Source.ID, manifestCursor, m.TransactionTime, nil)
}

func resultFor(rs *[]*TypeResult, typ string) *TypeResult {
	for _, r := range *rs {
		if r.Type == typ {
			return r
		}
	}
	r := &TypeResult{Type: typ}
	*rs = append(*rs, r)
	return r
}

func addQuery(u, k, v string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := pu.Query()
	q.Set(k, v)
	pu.RawQuery = q.Encode()
	return pu.String()
}

// importFile fetches one NDJSON file and writes it in pages.
func (s *Syncer) importFile(ctx context.Context, o smartscheduling.Output, res *TypeResult, listed map[string]bool) error {
	if _, err := s.resolveNext(s.Source.BaseURL, o.URL); err != nil {
		s.warn(res, "the %s file is on another host; skipped", o.Type)
		return nil
	}
	resp, err := s.Client.Get(ctx, o.URL, "application/fhir+ndjson", nil)
	if err != nil {
		return err
	}
	res.Pages = 1
	m := s.mapper()
	written := map[string]time.Time{}
	items := map[string]*item{}
	var order []string
	flush := func() error {
		if len(order) == 0 {
			return nil
		}
		p, err := s.writeItems(ctx, o.Type, order, items, written, res)
		if err != nil {
			return err
		}
		if err := s.State.Advance(ctx, s.Source.ID, o.Type, time.Time{}, p.held); err != nil {
			return err
		}
		items, order = map[string]*item{}, order[:0]
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(resp.Body))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		r, err := smartscheduling.Map(m, b, o.Type)
		if err != nil {
			res.Rejected++
			res.Rejections = append(res.Rejections, fmt.Sprintf("%s line %d: %v", o.Type, line, err))
			continue
		}
		res.Seen++
		listed[r.ID] = true
		if _, dup := items[r.ID]; !dup {
			order = append(order, r.ID)
		}
		items[r.ID] = &item{op: ww.OpUpdate, typ: r.Type, id: r.ID, prov: r.SourceRef(), lu: r.LastUpdated, tree: r.Tree}
		if len(order) >= s.Source.PageSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("source %s: the %s file: %w", s.Source.ID, o.Type, err)
	}
	return flush()
}

// tombstoneUnlisted deletes what is held from the source of typ but was not
// listed, within the ReconcileMaxDelete guard.
func (s *Syncer) tombstoneUnlisted(ctx context.Context, typ string, listed map[string]bool, res *TypeResult) error {
	held, err := s.State.Held(ctx, s.Source.ID, typ)
	if err != nil {
		return err
	}
	var gone []string
	for _, id := range held {
		if !listed[id] {
			gone = append(gone, id)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	if float64(len(gone)) > s.Source.ReconcileMaxDelete*float64(len(held)) && len(held) >= 10 {
		return fmt.Errorf("source %s: the publisher no longer lists %d of %d held %s resources (more than reconcileMaxDelete): refused", s.Source.ID, len(gone), len(held), typ)
	}
	sort.Strings(gone)
	for i := 0; i < len(gone); i += 100 {
		batch := gone[i:min(i+100, len(gone))]
		var writes []ww.Write
		for _, id := range batch {
			writes = append(writes, ww.Write{Op: ww.OpDelete, Type: typ, ID: id, Provenance: s.prov(typ + "/unlisted")})
		}
		out, err := s.Store.Commit(ctx, &ww.Commit{Writes: writes})
		if err != nil {
			return err
		}
		for _, o := range out {
			if o.Outcome == ww.Deleted {
				res.Deleted++
			}
		}
		if err := s.State.Forget(ctx, s.Source.ID, typ, batch); err != nil {
			return err
		}
	}
	return nil
}
