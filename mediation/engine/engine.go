package engine

import (
	"context"
	"strings"
	"sync"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

// Config is the engine's configuration: the domain tables.
type Config struct {
	Norms   mediation.Norms
	Kinds   mediation.ProviderKinds
	Regions *mediation.Regions
	// Geo maps PC4 postcodes to coordinates (nil: members and locations
	// without a geolocation cannot be placed).
	Geo     mediation.PC4Geo
	Ranking mediation.Ranking
	Clock   ww.Clock
}

// DefaultConfig returns the default tables.
func DefaultConfig() Config {
	return Config{Norms: mediation.DefaultNorms(), Kinds: mediation.DefaultProviderKinds(), Regions: mediation.DefaultRegions(),
		Ranking: mediation.DefaultRanking(), Clock: ww.SystemClock{}}
}

// Engine answers the insurer operations.
type Engine struct {
	store ww.Store
	index mediation.Index
	cfg   Config

	mu   sync.Mutex
	snap *Snapshot

	fkMu  sync.Mutex
	fk    []freeKey
	fkN   int64
	fkGen int64

	// capFlights are the $regional-capacity computations in progress, by
	// query (capacity.go); capHook and capJoin, when set (tests), run at the
	// start of each computation and when a call joins one.
	capMu      sync.Mutex
	capFlights map[CapacityQuery]*capFlight
	capHook    func()
	capJoin    func()
}

// freeKey is one key of the free-slot index with what the snapshot says
// about its schedule.
type freeKey struct {
	sched, spec string
	eff         string // the specialism: the slot's own, else the schedule's
	place       mediation.Place
	active      bool
}

// freeKeys returns the free-slot keys joined with the snapshot's places,
// rebuilt when the registry grows or the snapshot changes.
func (e *Engine) freeKeys(ctx context.Context, snap *Snapshot) ([]freeKey, error) {
	n, err := e.index.FreeSlotKeyCount(ctx)
	if err != nil {
		return nil, err
	}
	e.fkMu.Lock()
	defer e.fkMu.Unlock()
	if e.fk != nil && e.fkN == n && e.fkGen == snap.Gen {
		return e.fk, nil
	}
	keys, err := e.index.FreeSlotKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]freeKey, 0, len(keys))
	for _, k := range keys {
		sched, spec, ok := strings.Cut(k, "|")
		if !ok {
			continue
		}
		pl, ok := snap.Places[sched]
		if !ok {
			continue
		}
		fk := freeKey{sched: sched, spec: spec, eff: spec, place: pl, active: true}
		if fk.eff == "-" {
			fk.eff = pl.Specialism
		}
		if sc := snap.Dir.Schedules[sched]; sc != nil && !sc.Active {
			fk.active = false
		}
		out = append(out, fk)
	}
	e.fk, e.fkN, e.fkGen = out, int64(len(keys)), snap.Gen
	if int64(len(keys)) < n {
		e.fkN = -1 // grew while read: read again next time
	}
	return out, nil
}

// New returns an engine over a store that implements mediation.Index; ok
// is false when it does not.
func New(store ww.Store, cfg Config) (*Engine, bool) {
	idx, ok := store.(mediation.Index)
	if !ok {
		return nil, false
	}
	def := DefaultConfig()
	if cfg.Norms.Kinds == nil {
		cfg.Norms = def.Norms
	}
	if cfg.Kinds.Codes == nil && cfg.Kinds.AGBPrefixes == nil {
		cfg.Kinds = def.Kinds
	}
	if cfg.Regions == nil {
		cfg.Regions = def.Regions
	}
	if cfg.Ranking == (mediation.Ranking{}) {
		cfg.Ranking = def.Ranking
	}
	if cfg.Clock == nil {
		cfg.Clock = def.Clock
	}
	return &Engine{store: store, index: idx, cfg: cfg}, true
}

// Config returns the engine's configuration.
func (e *Engine) Config() Config { return e.cfg }

// Today is the Europe/Amsterdam date of the engine's clock.
func (e *Engine) Today() mediation.Day { return mediation.DayOf(e.cfg.Clock.Now()) }

// Snapshot is the provider side of the world at one generation: the
// directory, the places of the schedules and the raw resources (for
// Bundle includes).
type Snapshot struct {
	Gen    int64
	Dir    *mediation.Directory
	Places map[string]mediation.Place // by Schedule id
	// ServiceSchedules lists the schedules of each HealthcareService.
	ServiceSchedules map[string][]string
	raw              map[string][]byte // Type/id → JSON
}

// Raw returns a directory resource's JSON.
func (s *Snapshot) Raw(typ, id string) []byte { return s.raw[typ+"/"+id] }

// Refresh brings the engine's view of the store up to date before an
// operation (the index generation a reindex may have moved).
func (e *Engine) Refresh(ctx context.Context) error { return e.index.Refresh(ctx) }

// Directory returns the current snapshot, rebuilding it when the store's
// directory types changed.
func (e *Engine) Directory(ctx context.Context) (*Snapshot, error) {
	gen, err := e.index.Versions(ctx, mediation.DirectoryTypes)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.snap != nil && e.snap.Gen == gen {
		return e.snap, nil
	}
	snap, err := e.loadSnapshot(ctx, gen)
	if err != nil {
		return nil, err
	}
	e.snap = snap
	return snap, nil
}

func (e *Engine) loadSnapshot(ctx context.Context, gen int64) (*Snapshot, error) {
	snap := &Snapshot{Gen: gen, Dir: mediation.NewDirectory(), Places: map[string]mediation.Place{},
		ServiceSchedules: map[string][]string{}, raw: map[string][]byte{}}
	for _, typ := range mediation.DirectoryTypes {
		q := &ww.Query{Type: typ, Count: 1000}
		for {
			res, err := e.store.Search(ctx, q)
			if err != nil {
				return nil, err
			}
			for _, r := range res.Resources {
				tree, err := fhirjson.Parse(r.JSON, fhirjson.Limits{MaxDepth: 200})
				if err != nil {
					continue
				}
				snap.Dir.Add(typ, r.ID, tree)
				snap.raw[typ+"/"+r.ID] = r.JSON
			}
			if res.Next == nil || len(res.Resources) == 0 {
				break
			}
			q.After = res.Next
		}
	}
	for id := range snap.Dir.Schedules {
		if p, ok := snap.Dir.ResolveSchedule(id, e.cfg.Kinds, e.cfg.Geo, e.cfg.Regions); ok {
			snap.Places[id] = p
			if p.Service != "" {
				snap.ServiceSchedules[p.Service] = append(snap.ServiceSchedules[p.Service], id)
			}
		}
	}
	return snap, nil
}

// dayStartMs is the first instant of a day in Amsterdam, as Unix ms.
func dayStartMs(d mediation.Day) int64 { return d.Start().UnixMilli() }

// Near is a distance filter around a point.
type Near struct {
	Lat, Lon, Km float64
}

func (n *Near) within(p mediation.Point) (float64, bool) {
	d := mediation.DistanceKm(n.Lat, n.Lon, p.Lat, p.Lon)
	return d, d <= n.Km
}

func msToTime(ms int64) time.Time { return time.UnixMilli(ms).In(ww.Amsterdam) }

// ReadMany reads resources through the index (Policy applied).
func (e *Engine) ReadLive(ctx context.Context, typ string, ids []string) ([]*ww.Resource, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return e.index.ReadLive(ctx, typ, ids)
}
