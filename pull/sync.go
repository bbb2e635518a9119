package pull

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fetch"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mappings/remote"
)

// DefaultOverlap is how far behind the cursor each incremental search
// starts (--pull-overlap), against late commits and clock skew.
const DefaultOverlap = 5 * time.Minute

// Syncer pulls one source through the store.
type Syncer struct {
	Source *Source
	Client *fetch.Client
	Store  ww.Store
	State  ww.SyncState
	// Key is the deployment key ids are derived with.
	Key     []byte
	Clock   ww.Clock
	Overlap time.Duration
	Log     *slog.Logger
	// MaxPages bounds one run of one type (default 100,000).
	MaxPages int
}

// TypeResult is what one run did for one type.
type TypeResult struct {
	Type     string    `json:"type"`
	Pages    int       `json:"pages"`
	Seen     int       `json:"seen"`
	Written  int       `json:"written"`
	Skipped  int       `json:"skipped"`
	Deleted  int       `json:"deleted"`
	Rejected int       `json:"rejected"`
	Cursor   time.Time `json:"cursor,omitzero"`
	Warnings []string  `json:"warnings,omitempty"`
	// Rejections describe rejected records by type, source id and where
	// validation failed (never the values).
	Rejections []string `json:"rejections,omitempty"`
}

func (s *Syncer) warn(r *TypeResult, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.Warnings = append(r.Warnings, msg)
	s.Log.Warn("pull warning", "source", s.Source.ID, "type", r.Type, "warning", msg)
}

func (s *Syncer) overlap() time.Duration {
	if s.Overlap <= 0 {
		return DefaultOverlap
	}
	return s.Overlap
}

func (s *Syncer) mapper() *remote.Mapper {
	return &remote.Mapper{Key: s.Key, Namespace: s.Source.namespace(), Base: s.Source.BaseURL, SyncTime: s.Clock.Now()}
}

// firstURL is the search (or history) of one run.
func (s *Syncer) firstURL(rc *Resource, cursor time.Time) string {
	q := url.Values{}
	for k, vs := range mustQuery(rc.Filter) {
		q[k] = vs
	}
	q.Set("_count", fmt.Sprint(s.Source.PageSize))
	since := ""
	if !cursor.IsZero() {
		since = cursor.Add(-s.overlap()).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if rc.History {
		if since != "" {
			q.Set("_since", since)
		}
		return s.Source.BaseURL + "/" + rc.Type + "/_history?" + q.Encode()
	}
	if since != "" {
		q.Set("_lastUpdated", "ge"+since)
	}
	q.Set("_sort", "_lastUpdated")
	return s.Source.BaseURL + "/" + rc.Type + "?" + q.Encode()
}

// SyncType runs one incremental sync of one type: from the durable cursor
// minus the overlap, page by page to the end of the next links, each page
// written atomically and the cursor advanced only after it is durable.
func (s *Syncer) SyncType(ctx context.Context, rc *Resource) (*TypeResult, error) {
	res := &TypeResult{Type: rc.Type}
	cursor, err := s.State.Cursor(ctx, s.Source.ID, rc.Type)
	if err != nil {
		return res, err
	}
	res.Cursor = cursor
	runMax := cursor     // the newest change seen in this run
	var before time.Time // the newest change of the pages before this one
	disordered := false
	written := map[string]time.Time{} // this run's writes: id → source lastUpdated
	err = s.walk(ctx, res, s.firstURL(rc, cursor), func(b *bundle) error {
		p, err := s.writePage(ctx, rc, b, written, res)
		if err != nil {
			return err
		}
		// The page is durable. With the source sorted by _lastUpdated,
		// everything up to the newest change of the earlier pages has been
		// seen (this page continues from there): the cursor may move there,
		// one page behind, so ties at a page boundary are never skipped. A
		// page older than the pages before it means the order does not
		// hold: then the cursor waits for the end of the walk.
		for _, lu := range p.lastUpdated {
			if !before.IsZero() && lu.Before(before.Add(-s.overlap())) && !disordered && !rc.History {
				disordered = true
				s.warn(res, "the source returned records out of _lastUpdated order; the cursor moves only at the end of this run")
			}
		}
		move := time.Time{}
		if !disordered && !rc.History {
			move = before
		}
		if pm := p.max(); pm.After(before) {
			before = pm
		}
		if before.After(runMax) {
			runMax = before
		}
		if err := s.State.Forget(ctx, s.Source.ID, rc.Type, p.deleted); err != nil {
			return err
		}
		return s.State.Advance(ctx, s.Source.ID, rc.Type, move, p.held)
	})
	if err != nil {
		return res, err
	}
	// Every page of the run is durable: the cursor may move to the newest
	// change seen.
	if err := s.State.Advance(ctx, s.Source.ID, rc.Type, runMax, nil); err != nil {
		return res, err
	}
	res.Cursor = runMax
	return res, nil
}

// bundle is one fetched page.
type bundle struct {
	entries []*fhirjson.Value
	next    string
}

// ErrIncomplete fails a run whose walk could not reach the end of the next
// links (a loop, a link to another host, the page limit): the final cursor
// does not move, and the next run tries again.
var ErrIncomplete = errors.New("the walk did not reach the last page")

// walk fetches first and follows next links to the end, calling page for
// each page; a next link seen before (a loop), one leaving the source's
// host or the page limit end the walk with ErrIncomplete.
func (s *Syncer) walk(ctx context.Context, res *TypeResult, first string, page func(*bundle) error) error {
	maxPages := s.MaxPages
	if maxPages <= 0 {
		maxPages = 100000
	}
	visited := map[string]bool{}
	for u := first; u != ""; {
		if visited[u] {
			s.warn(res, "the next links loop (page %d links back to an earlier page)", res.Pages)
			return fmt.Errorf("source %s: %s: %w: the next links loop back after page %d", s.Source.ID, res.Type, ErrIncomplete, res.Pages)
		}
		if res.Pages >= maxPages {
			return fmt.Errorf("source %s: %s: %w: stopped after %d pages", s.Source.ID, res.Type, ErrIncomplete, maxPages)
		}
		visited[u] = true
		var b *bundle
		_, err := s.Client.Get(ctx, u, "application/fhir+json", func(r *fetch.Response) error {
			var err error
			b, err = parseBundle(r.Body)
			return err
		})
		if err != nil {
			return err
		}
		res.Pages++
		if err := page(b); err != nil {
			return err
		}
		next, err := s.resolveNext(u, b.next)
		if err != nil {
			return fmt.Errorf("source %s: %s: %w: %v", s.Source.ID, res.Type, ErrIncomplete, err)
		}
		u = next
	}
	return nil
}

func (s *Syncer) resolveNext(cur, next string) (string, error) {
	if next == "" {
		return "", nil
	}
	cu, _ := url.Parse(cur)
	nu, err := cu.Parse(next)
	if err != nil {
		return "", fmt.Errorf("the next link is not a URL")
	}
	bu, _ := url.Parse(s.Source.BaseURL)
	if nu.Scheme != bu.Scheme || nu.Host != bu.Host {
		return "", fmt.Errorf("the next link leaves the source's host")
	}
	return nu.String(), nil
}

// parseBundle reads a searchset or history Bundle; anything else is
// refused (and the page fetched again).
func parseBundle(body []byte) (*bundle, error) {
	v, err := fhirjson.Parse(body, fhirjson.Limits{MaxDepth: 200})
	if err != nil {
		return nil, err
	}
	if v.Kind != fhirjson.Object || v.GetStr("resourceType") != "Bundle" {
		return nil, errors.New("the response is not a Bundle")
	}
	b := &bundle{}
	if links := v.Get("link"); links != nil && links.Kind == fhirjson.Array {
		for _, l := range links.Items {
			if l.Kind == fhirjson.Object && l.GetStr("relation") == "next" {
				b.next = l.GetStr("url")
			}
		}
	}
	if es := v.Get("entry"); es != nil && es.Kind != fhirjson.Null {
		if es.Kind != fhirjson.Array {
			return nil, errors.New("Bundle.entry is not an array")
		}
		b.entries = es.Items
	}
	return b, nil
}

// pageResult is what writing one page did.
type pageResult struct {
	held, deleted []string
	lastUpdated   []time.Time
}

func (p *pageResult) max() time.Time {
	var m time.Time
	for _, t := range p.lastUpdated {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// item is one resource change of a page.
type item struct {
	op   ww.WriteOp
	typ  string
	id   string
	prov string
	lu   time.Time
	tree *fhirjson.Value
}

// writePage maps a page's entries, skips versions already stored, and
// writes the rest in one atomic commit.
func (s *Syncer) writePage(ctx context.Context, rc *Resource, b *bundle, written map[string]time.Time, res *TypeResult) (*pageResult, error) {
	m := s.mapper()
	items := map[string]*item{}
	var order []string
	for _, e := range b.entries {
		it := s.entryItem(m, rc, e, res)
		if it == nil {
			continue
		}
		res.Seen++
		if prev, ok := items[it.id]; ok {
			// Twice in one page: the newer version wins.
			if it.lu.Before(prev.lu) {
				continue
			}
			items[it.id] = it
			continue
		}
		items[it.id] = it
		order = append(order, it.id)
	}
	return s.writeItems(ctx, rc.Type, order, items, written, res)
}

// writeItems skips versions already stored and writes the rest of a page
// in one atomic commit.
func (s *Syncer) writeItems(ctx context.Context, typ string, order []string, items map[string]*item, written map[string]time.Time, res *TypeResult) (*pageResult, error) {
	p := &pageResult{}
	for _, id := range order {
		if lu := items[id].lu; !lu.IsZero() {
			p.lastUpdated = append(p.lastUpdated, lu)
		}
	}
	stored, err := s.readMany(ctx, typ, order)
	if err != nil {
		return nil, err
	}
	var writes []ww.Write
	for i, id := range order {
		it := items[id]
		if w, ok := written[id]; ok && (it.lu.IsZero() || !it.lu.After(w)) {
			res.Skipped++ // an older version than one this run wrote (history)
			continue
		}
		cur := stored[i]
		if it.op == ww.OpDelete {
			p.deleted = append(p.deleted, id)
			if cur == nil || cur.Deleted {
				res.Skipped++
				continue
			}
			writes = append(writes, ww.Write{Op: ww.OpDelete, Type: it.typ, ID: id, Provenance: s.prov(it.prov)})
			written[id] = it.lu
			continue
		}
		p.held = append(p.held, id)
		if cur != nil && !cur.Deleted && cur.Provenance.Source == s.Source.ID+":"+it.prov {
			res.Skipped++
			continue
		}
		if err := conformance.Validate(ctx, it.typ, it.tree); err != nil {
			res.Rejected++
			res.Rejections = append(res.Rejections, rejection(it, err))
			p.held = p.held[:len(p.held)-1]
			continue
		}
		writes = append(writes, ww.Write{Op: ww.OpUpdate, Type: it.typ, ID: id, JSON: it.tree.Bytes(), Provenance: s.prov(it.prov)})
		written[id] = it.lu
	}
	if len(writes) == 0 {
		return p, nil
	}
	if _, err := s.Store.Commit(ctx, &ww.Commit{Writes: writes}); err != nil {
		if ww.IsKind(err, ww.KindUnavailable) || ctx.Err() != nil {
			return nil, err
		}
		// One write the store refuses must not sink the page: write them
		// one by one (each still atomic and durable before the cursor).
		for _, w := range writes {
			if _, err := s.Store.Commit(ctx, &ww.Commit{Writes: []ww.Write{w}}); err != nil {
				if ww.IsKind(err, ww.KindUnavailable) || ctx.Err() != nil {
					return nil, err
				}
				res.Rejected++
				res.Rejections = append(res.Rejections, fmt.Sprintf("%s: refused by the store (%s)", w.Type, ww.KindOf(err)))
				continue
			}
			s.count(res, w)
		}
		return p, nil
	}
	for _, w := range writes {
		s.count(res, w)
	}
	return p, nil
}

func (s *Syncer) count(res *TypeResult, w ww.Write) {
	if w.Op == ww.OpDelete {
		res.Deleted++
	} else {
		res.Written++
	}
}

func (s *Syncer) prov(ref string) ww.Provenance {
	return ww.Provenance{Owner: s.Source.Owner, Channel: ww.ChannelPull, Source: s.Source.ID + ":" + ref}
}

// rejection describes a refused record without its values: the type, the
// source id and the FHIRPath of each issue.
func rejection(it *item, err error) string {
	var we *ww.Error
	var where []string
	if errors.As(err, &we) {
		for _, is := range we.Issues {
			where = append(where, is.Code+" at "+strings.Join(is.Expression, ","))
		}
	}
	sort.Strings(where)
	return fmt.Sprintf("%s (%s): %s", it.typ, it.prov, strings.Join(where, "; "))
}

// entryItem turns a Bundle entry into a change: a resource of the pulled
// type (search matches; history versions) or a deletion (history).
func (s *Syncer) entryItem(m *remote.Mapper, rc *Resource, e *fhirjson.Value, res *TypeResult) *item {
	if e == nil || e.Kind != fhirjson.Object {
		return nil
	}
	if mode := e.Get("search"); mode != nil && mode.GetStr("mode") == "outcome" {
		s.warn(res, "the source reported an OperationOutcome in its search results")
		return nil
	}
	r := e.Get("resource")
	if req := e.Get("request"); rc.History && req != nil && req.GetStr("method") == "DELETE" {
		typ, sid, vid := splitURL(req.GetStr("url"))
		if typ != rc.Type || !ww.ValidID(sid) {
			return nil
		}
		var lu time.Time
		if rsp := e.Get("response"); rsp != nil {
			lu, _ = time.Parse(time.RFC3339Nano, rsp.GetStr("lastModified"))
		}
		return &item{op: ww.OpDelete, typ: typ, id: m.ID(typ, sid), prov: typ + "/" + sid + "/_history/v" + vid + "-deleted", lu: lu.UTC()}
	}
	if r == nil || r.Kind != fhirjson.Object {
		return nil
	}
	if r.GetStr("resourceType") != rc.Type {
		return nil // included resources and outcomes are not pulled here
	}
	mr, err := m.Map(r)
	if err != nil {
		res.Rejected++
		res.Rejections = append(res.Rejections, rc.Type+": "+err.Error())
		return nil
	}
	return &item{op: ww.OpUpdate, typ: mr.Type, id: mr.ID, prov: mr.SourceRef(), lu: mr.LastUpdated, tree: mr.Tree}
}

// splitURL splits "Type/id" or "Type/id/_history/vid" (relative or
// absolute).
func splitURL(u string) (typ, id, vid string) {
	if i := strings.Index(u, "?"); i >= 0 {
		u = u[:i]
	}
	parts := strings.Split(strings.Trim(u, "/"), "/")
	for i := len(parts) - 1; i >= 1; i-- {
		if parts[i-1] == "_history" && i >= 3 {
			return parts[i-3], parts[i-2], parts[i]
		}
	}
	if len(parts) >= 2 {
		return parts[len(parts)-2], parts[len(parts)-1], ""
	}
	return "", "", ""
}

func (s *Syncer) readMany(ctx context.Context, typ string, ids []string) ([]*ww.Resource, error) {
	if br, ok := s.Store.(ww.BatchReader); ok {
		return br.ReadMany(ctx, typ, ids)
	}
	out := make([]*ww.Resource, len(ids))
	for i, id := range ids {
		r, err := s.Store.Read(ctx, typ, id)
		switch {
		case err == nil, ww.IsKind(err, ww.KindGone):
			out[i] = r
		case ww.IsKind(err, ww.KindNotFound):
		default:
			return nil, err
		}
	}
	return out, nil
}

// Reconcile lists every id the source has of a type (with the type's
// filter) and tombstones what the gateway holds from the source but the
// source no longer lists. A listing that fails midway tombstones nothing;
// one that would tombstone more than ReconcileMaxDelete of what is held is
// refused.
func (s *Syncer) Reconcile(ctx context.Context, rc *Resource) (*TypeResult, error) {
	res := &TypeResult{Type: rc.Type}
	m := s.mapper()
	q := url.Values{}
	for k, vs := range mustQuery(rc.Filter) {
		q[k] = vs
	}
	q.Set("_count", fmt.Sprint(s.Source.PageSize))
	q.Set("_elements", "id")
	listed := map[string]bool{}
	complete := true
	err := s.walk(ctx, res, s.Source.BaseURL+"/"+rc.Type+"?"+q.Encode(), func(b *bundle) error {
		for _, e := range b.entries {
			if e == nil || e.Kind != fhirjson.Object {
				continue
			}
			if r := e.Get("resource"); r != nil && r.GetStr("resourceType") == rc.Type {
				if sid := r.GetStr("id"); ww.ValidID(sid) {
					listed[m.ID(rc.Type, sid)] = true
				}
			}
		}
		return nil
	})
	if errors.Is(err, ErrIncomplete) {
		complete = false
	} else if err != nil {
		return res, err
	}
	held, err := s.State.Held(ctx, s.Source.ID, rc.Type)
	if err != nil {
		return res, err
	}
	var gone []string
	for _, id := range held {
		if !listed[id] {
			gone = append(gone, id)
		}
	}
	res.Seen = len(listed)
	if len(gone) == 0 {
		return res, nil
	}
	if !complete {
		s.warn(res, "the listing did not complete; %d disappeared resources are not tombstoned", len(gone))
		return res, err
	}
	if float64(len(gone)) > s.Source.ReconcileMaxDelete*float64(len(held)) && len(held) >= 10 {
		return res, fmt.Errorf("reconciliation of %s would tombstone %d of %d held resources (more than reconcileMaxDelete %.0f%%): refused; check the source", rc.Type, len(gone), len(held), 100*s.Source.ReconcileMaxDelete)
	}
	sort.Strings(gone)
	for i := 0; i < len(gone); i += 100 {
		batch := gone[i:min(i+100, len(gone))]
		var writes []ww.Write
		for _, id := range batch {
			writes = append(writes, ww.Write{Op: ww.OpDelete, Type: rc.Type, ID: id, Provenance: s.prov(rc.Type + "/reconciled")})
		}
		out, err := s.Store.Commit(ctx, &ww.Commit{Writes: writes})
		if err != nil {
			return res, err
		}
		for _, o := range out {
			if o.Outcome == ww.Deleted {
				res.Deleted++
			}
		}
		if err := s.State.Forget(ctx, s.Source.ID, rc.Type, batch); err != nil {
			return res, err
		}
	}
	return res, nil
}
