package pull

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// stateKind is the SyncState kind of source status documents.
const stateKind = "pull-source"

// Status is a source's status, as /status shows it. It is stored in Redis
// (every gateway serves the leader's) and carries no patient data.
type Status struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Leader is the gateway instance that ran the last sync.
	Leader       string    `json:"leader,omitempty"`
	LastRunStart time.Time `json:"lastRunStart,omitzero"`
	LastRunEnd   time.Time `json:"lastRunEnd,omitzero"`
	// LastSuccess is the start of the last run that finished without
	// error: the data is complete up to then.
	LastSuccess         time.Time `json:"lastSuccess,omitzero"`
	LastError           string    `json:"lastError,omitempty"`
	LastErrorAt         time.Time `json:"lastErrorAt,omitzero"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	CircuitOpenUntil    time.Time `json:"circuitOpenUntil,omitzero"`
	LastReconcile       time.Time `json:"lastReconcile,omitzero"`
	// Records is the number of resources held from the source.
	Records int64 `json:"records"`
	// Written, Deleted and Rejected count since the source was added.
	Written  int64         `json:"written"`
	Deleted  int64         `json:"deleted"`
	Rejected int64         `json:"rejected"`
	LastRun  []*TypeResult `json:"lastRun,omitempty"`
	// Computed when served:
	LagSeconds *float64 `json:"lagSeconds,omitempty"`
	Stale      bool     `json:"stale"`
	StaleWhy   string   `json:"staleReason,omitempty"`
	StaleAfter Duration `json:"staleAfter"`
}

// Board reads and writes source statuses and answers freshness questions
// (it implements wachtwijzer.Freshness).
type Board struct {
	State   ww.SyncState
	Clock   ww.Clock
	Sources []*Source
	// CacheFor keeps statuses read from Redis this long (default 5 s), so
	// tagging served resources costs no Redis call per resource.
	CacheFor time.Duration

	mu     sync.Mutex
	cached map[string]*Status
	at     time.Time
}

var _ ww.Freshness = (*Board)(nil)

func (b *Board) source(id string) *Source {
	for _, s := range b.Sources {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// load reads a stored status (a fresh one when none is stored).
func (b *Board) load(ctx context.Context, src *Source) (*Status, error) {
	raw, err := b.State.GetState(ctx, stateKind, src.ID)
	if err != nil {
		return nil, err
	}
	st := &Status{ID: src.ID, Kind: src.Kind}
	if raw != nil {
		if err := json.Unmarshal(raw, st); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func (b *Board) save(ctx context.Context, st *Status) error {
	st.LagSeconds, st.Stale, st.StaleWhy = nil, false, ""
	raw, _ := json.Marshal(st)
	b.mu.Lock()
	b.cached = nil
	b.mu.Unlock()
	return b.State.PutState(ctx, stateKind, st.ID, raw, 0)
}

// compute fills the served fields: lag and staleness.
func (b *Board) compute(src *Source, st *Status) {
	now := b.Clock.Now()
	st.StaleAfter = src.StaleAfter
	switch {
	case st.LastSuccess.IsZero():
		st.Stale, st.StaleWhy = true, "no successful sync yet"
	case now.Sub(st.LastSuccess) > time.Duration(src.StaleAfter):
		st.Stale, st.StaleWhy = true, "no successful sync for "+now.Sub(st.LastSuccess).Truncate(time.Second).String()
	case now.Before(st.CircuitOpenUntil):
		st.Stale, st.StaleWhy = true, "the source is paused after repeated failures"
	}
	if !st.LastSuccess.IsZero() {
		lag := now.Sub(st.LastSuccess).Seconds()
		st.LagSeconds = &lag
	}
}

// Statuses returns every configured source's status with lag and
// staleness computed now, sorted by id.
func (b *Board) Statuses(ctx context.Context) ([]*Status, error) {
	b.mu.Lock()
	cacheFor := b.CacheFor
	if cacheFor == 0 {
		cacheFor = 5 * time.Second
	}
	if b.cached != nil && b.Clock.Now().Sub(b.at) < cacheFor {
		out := make([]*Status, 0, len(b.cached))
		for _, st := range b.cached {
			c := *st
			out = append(out, &c)
		}
		b.mu.Unlock()
		for _, st := range out {
			b.compute(b.source(st.ID), st)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
		return out, nil
	}
	b.mu.Unlock()
	fresh := map[string]*Status{}
	for _, src := range b.Sources {
		st, err := b.load(ctx, src)
		if err != nil {
			return nil, err
		}
		fresh[src.ID] = st
	}
	b.mu.Lock()
	b.cached, b.at = fresh, b.Clock.Now()
	b.mu.Unlock()
	return b.Statuses(ctx)
}

// Source implements wachtwijzer.Freshness.
func (b *Board) Source(ctx context.Context, id string) (ww.Staleness, bool) {
	sts, err := b.Statuses(ctx)
	if err != nil {
		return ww.Staleness{Source: id, Stale: true, Reason: "the source status cannot be read"}, b.source(id) != nil
	}
	for _, st := range sts {
		if st.ID == id {
			return ww.Staleness{Stale: st.Stale, Source: id, LastSuccess: st.LastSuccess, Reason: st.StaleWhy}, true
		}
	}
	return ww.Staleness{}, false
}

// Of implements wachtwijzer.Freshness.
func (b *Board) Of(ctx context.Context, r *ww.Resource) (ww.Staleness, bool) {
	id := ww.PullSource(r.Provenance)
	if id == "" {
		return ww.Staleness{}, false
	}
	return b.Source(ctx, id)
}

// Any implements wachtwijzer.Freshness.
func (b *Board) Any(ctx context.Context) []ww.Staleness {
	sts, err := b.Statuses(ctx)
	if err != nil {
		return []ww.Staleness{{Stale: true, Reason: "the source statuses cannot be read"}}
	}
	var out []ww.Staleness
	for _, st := range sts {
		if st.Stale {
			out = append(out, ww.Staleness{Stale: true, Source: st.ID, LastSuccess: st.LastSuccess, Reason: st.StaleWhy})
		}
	}
	return out
}

// StatusJSON is the /status document: {"sources":[…], "leader":…}.
func (b *Board) StatusJSON(ctx context.Context) ([]byte, error) {
	sts, err := b.Statuses(ctx)
	if err != nil {
		return nil, err
	}
	leader, _ := b.State.LeaseHolder(ctx, leaseName)
	return json.Marshal(map[string]any{"time": b.Clock.Now().UTC(), "leader": leader, "sources": sts})
}

// Annotate tags a served version from a stale source (meta.tag, output
// only; the stored bytes are not changed): system SystemFreshness, code
// "stale". Versions from fresh sources and other channels pass unchanged.
func (b *Board) Annotate(ctx context.Context, r *ww.Resource, body []byte) []byte {
	st, ok := b.Of(ctx, r)
	if !ok || !st.Stale {
		return body
	}
	v, err := fhirjson.Parse(body, fhirjson.Limits{MaxDepth: 200})
	if err != nil || v.Kind != fhirjson.Object {
		return body
	}
	meta := v.Get("meta")
	if meta == nil || meta.Kind != fhirjson.Object {
		meta = fhirjson.NewObject()
		v.SetFirst(2, "meta", meta)
	}
	tags := meta.Get("tag")
	if tags == nil || tags.Kind != fhirjson.Array {
		tags = fhirjson.NewArray()
		meta.Set("tag", tags)
	}
	t := fhirjson.NewObject()
	t.Set("system", fhirjson.NewString(ww.SystemFreshness))
	t.Set("code", fhirjson.NewString("stale"))
	t.Set("display", fhirjson.NewString("source "+st.Source+" is behind: "+st.Reason))
	tags.Items = append(tags.Items, t)
	return v.Bytes()
}
