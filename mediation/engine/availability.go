package engine

import (
	"context"
	"math"
	"sort"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

// AvailabilityQuery is a parsed $availability request.
type AvailabilityQuery struct {
	AsOf       mediation.Day
	Specialism string // "" for all
	Near       *Near
	// From and To bound the Slot start, [From, To) in Unix ms.
	From, To int64
	// ProviderKinds keeps only these kinds (nil: all).
	ProviderKinds map[string]bool
	// Insurer (UZOVI) marks contracted providers; ContractedOnly keeps
	// only those.
	Insurer        string
	ContractedOnly bool
	SortDistance   bool
	Count          int
	After          *SlotCursor
}

// SlotCursor is a position in an $availability order: distance in metres
// (when sorted by distance), start and id.
type SlotCursor struct {
	DistM int64  `json:"d"`
	Start int64  `json:"s"`
	ID    string `json:"i"`
}

// FreeSlot is one Slot in the answer.
type FreeSlot struct {
	ID          string
	Start       int64
	Place       mediation.Place
	DistanceKm  float64
	HasDistance bool
	Contracted  bool
	Resource    *ww.Resource
}

// AvailabilityResult is one page.
type AvailabilityResult struct {
	Slots []FreeSlot
	Next  *SlotCursor
	Snap  *Snapshot
}

// candidate is one free-slot key that qualifies.
type candidate struct {
	key        mediation.SlotRange
	place      mediation.Place
	dist       float64
	hasDist    bool
	distM      int64
	contracted bool
}

// candidates returns the free-slot keys that match the query's
// specialism, kind, distance and contract.
func (e *Engine) candidates(ctx context.Context, snap *Snapshot, q *AvailabilityQuery) ([]candidate, error) {
	keys, err := e.freeKeys(ctx, snap)
	if err != nil {
		return nil, err
	}
	var out []candidate
	contracted := map[string]int8{}
	for i := range keys {
		k := &keys[i]
		pl := &k.place
		if !k.active || q.Specialism != "" && k.eff != q.Specialism || q.ProviderKinds != nil && !q.ProviderKinds[pl.ProviderKind] {
			continue
		}
		c := candidate{key: mediation.SlotRange{Schedule: k.sched, Specialism: k.spec, From: q.From, To: q.To}, place: *pl}
		if q.Near != nil {
			if !pl.HasGeo {
				continue
			}
			d, in := q.Near.within(pl.Point)
			if !in {
				continue
			}
			c.dist, c.hasDist, c.distM = d, true, int64(math.Round(d*1000))
		}
		if q.Insurer != "" {
			v, ok := contracted[pl.Org]
			if !ok {
				v = 0
				if snap.Dir.Contracted(q.Insurer, pl.Org, q.AsOf) {
					v = 1
				}
				contracted[pl.Org] = v
			}
			c.contracted = v == 1
			if q.ContractedOnly && !c.contracted {
				continue
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// mergeFree returns the first n free Slots of the candidates by (start,
// id) after (afterStart, afterID): a first round reads a few per key, and
// only keys that may hide earlier Slots are read further.
func (e *Engine) mergeFree(ctx context.Context, cands []candidate, n int, afterStart int64, afterID string) ([]FreeSlot, error) {
	if n <= 0 || len(cands) == 0 {
		return nil, nil
	}
	type state struct {
		c    *candidate
		hits []mediation.SlotHit
		full bool
	}
	// First the head of every key, then more only from the keys whose
	// last slot read does not lie past the n-th earliest start seen.
	per := min(max(1, int(math.Ceil(2*float64(n)/float64(len(cands))))), n)
	sts := make([]*state, len(cands))
	ranges := make([]mediation.SlotRange, len(cands))
	for i := range cands {
		r := cands[i].key
		r.AfterStart, r.AfterID, r.Limit = afterStart, afterID, per
		ranges[i] = r
		sts[i] = &state{c: &cands[i]}
	}
	idx := make([]int, len(cands))
	for i := range idx {
		idx[i] = i
	}
	for round := 0; round < 8 && len(idx) > 0; round++ {
		batch := make([]mediation.SlotRange, len(idx))
		for j, i := range idx {
			batch[j] = ranges[i]
		}
		got, err := e.index.FreeSlots(ctx, batch)
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			st := sts[i]
			st.hits = append(st.hits, got[j]...)
			st.full = len(got[j]) == batch[j].Limit
			if len(got[j]) > 0 {
				last := got[j][len(got[j])-1]
				ranges[i].AfterStart, ranges[i].AfterID = last.Start, last.ID
			}
		}
		// The n-th smallest start seen so far bounds what can still come.
		var all []mediation.SlotHit
		for _, st := range sts {
			all = append(all, st.hits...)
		}
		sort.Slice(all, func(a, b int) bool { return lessHit(all[a], all[b]) })
		if len(all) < n {
			idx = idx[:0]
			for i, st := range sts {
				if st.full {
					idx = append(idx, i)
					ranges[i].Limit = min(ranges[i].Limit*4, n)
				}
			}
			continue
		}
		bound := all[n-1]
		idx = idx[:0]
		for i, st := range sts {
			if st.full && len(st.hits) > 0 && !lessHit(bound, st.hits[len(st.hits)-1]) {
				idx = append(idx, i)
				ranges[i].Limit = min(ranges[i].Limit*4, n)
			}
		}
	}
	var out []FreeSlot
	for _, st := range sts {
		for _, h := range st.hits {
			out = append(out, FreeSlot{ID: h.ID, Start: h.Start, Place: st.c.place, DistanceKm: st.c.dist, HasDistance: st.c.hasDist, Contracted: st.c.contracted})
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Start != out[b].Start {
			return out[a].Start < out[b].Start
		}
		return out[a].ID < out[b].ID
	})
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

func lessHit(a, b mediation.SlotHit) bool {
	if a.Start != b.Start {
		return a.Start < b.Start
	}
	return a.ID < b.ID
}

// Availability answers $availability.
func (e *Engine) Availability(ctx context.Context, q *AvailabilityQuery) (*AvailabilityResult, error) {
	snap, err := e.Directory(ctx)
	if err != nil {
		return nil, err
	}
	cands, err := e.candidates(ctx, snap, q)
	if err != nil {
		return nil, err
	}
	want := q.Count + 1
	var slots []FreeSlot
	if q.SortDistance && q.Near != nil {
		// Groups of equal distance (one place) in distance order; within a
		// group by start and id.
		sort.Slice(cands, func(a, b int) bool {
			if cands[a].distM != cands[b].distM {
				return cands[a].distM < cands[b].distM
			}
			return cands[a].key.Schedule < cands[b].key.Schedule
		})
		for i := 0; i < len(cands) && len(slots) < want; {
			j := i
			for j < len(cands) && cands[j].distM == cands[i].distM {
				j++
			}
			group := cands[i:j]
			i = j
			var as int64
			var aid string
			if q.After != nil {
				if group[0].distM < q.After.DistM {
					continue
				}
				if group[0].distM == q.After.DistM {
					as, aid = q.After.Start, q.After.ID
				}
			}
			got, err := e.mergeFree(ctx, group, want-len(slots), as, aid)
			if err != nil {
				return nil, err
			}
			slots = append(slots, got...)
		}
	} else {
		var as int64
		var aid string
		if q.After != nil {
			as, aid = q.After.Start, q.After.ID
		}
		// The free slots of the specialism in start order, filtered by
		// place; when few places qualify (a small radius, a rare kind) the
		// scan's budget runs out and the per-schedule merge answers.
		byKey := make(map[string]*candidate, 2*len(cands))
		for i := range cands {
			byKey[cands[i].key.Schedule+"|"+cands[i].key.Specialism] = &cands[i]
			byKey[cands[i].key.Schedule+"|*"] = &cands[i] // place filters are per schedule
		}
		specs := []string{"*"}
		if q.Specialism != "" {
			specs = []string{q.Specialism, "-"}
		}
		hits, done, err := e.index.ScanFreeSlots(ctx, &mediation.FreeScan{Specs: specs, From: q.From, To: q.To, AfterStart: as, AfterID: aid, Limit: want,
			Budget: 40 * want, Accept: func(h *mediation.SlotHit) bool { return byKey[h.Schedule+"|"+h.Spec] != nil }})
		if err != nil {
			return nil, err
		}
		if done || len(hits) >= want {
			for _, h := range hits {
				c := byKey[h.Schedule+"|"+h.Spec]
				slots = append(slots, FreeSlot{ID: h.ID, Start: h.Start, Place: c.place, DistanceKm: c.dist, HasDistance: c.hasDist, Contracted: c.contracted})
			}
		} else if slots, err = e.mergeFree(ctx, cands, want, as, aid); err != nil {
			return nil, err
		}
	}
	res := &AvailabilityResult{Snap: snap}
	if len(slots) > q.Count {
		slots = slots[:q.Count]
		if q.Count > 0 {
			last := slots[len(slots)-1]
			res.Next = &SlotCursor{Start: last.Start, ID: last.ID}
			if q.SortDistance && q.Near != nil {
				res.Next.DistM = int64(math.Round(last.DistanceKm * 1000))
			}
		}
	}
	if err := e.readSlots(ctx, slots); err != nil {
		return nil, err
	}
	res.Slots = slots
	return res, nil
}

// readSlots reads the Slot resources of a page.
func (e *Engine) readSlots(ctx context.Context, slots []FreeSlot) error {
	if len(slots) == 0 {
		return nil
	}
	ids := make([]string, len(slots))
	for i := range slots {
		ids[i] = slots[i].ID
	}
	rs, err := e.index.ReadLive(ctx, "Slot", ids)
	if err != nil {
		return err
	}
	for i := range slots {
		slots[i].Resource = rs[i]
	}
	return nil
}

// Includes returns the directory resources of a page's places: Schedule,
// HealthcareService, Organization and Location, each once.
func (s *Snapshot) Includes(places []mediation.Place) [][2]string {
	seen := map[string]bool{}
	var out [][2]string
	add := func(typ, id string) {
		if id == "" || seen[typ+"/"+id] || s.raw[typ+"/"+id] == nil {
			return
		}
		seen[typ+"/"+id] = true
		out = append(out, [2]string{typ, id})
	}
	for _, p := range places {
		add("Schedule", p.Schedule)
		add("HealthcareService", p.Service)
		add("Organization", p.Org)
		add("Location", p.Location)
	}
	return out
}
