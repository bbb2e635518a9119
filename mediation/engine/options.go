package engine

import (
	"context"
	"sort"
	"strings"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

// OptionsQuery is a parsed $mediation-options request.
type OptionsQuery struct {
	AsOf  mediation.Day
	MaxKm float64
	Count int
}

// OptionsResult is the answer: the wait, how its expected date was set,
// and the ranked options (best first).
type OptionsResult struct {
	Wait     LongWait
	Expected mediation.Day
	Basis    string // booked, published or norm
	Insurer  string
	Options  []mediation.Option
	Slots    map[string]FreeSlot
	Snap     *Snapshot
}

// MediationOptions answers $mediation-options for a ServiceRequest: the
// earliest qualifying free Slot per HealthcareService of the wait's
// specialism that beats the member's expected date, within reach of the
// member's home, never at the current provider, and no ZBC for care of
// complexity high; ranked by the Ranking.
func (e *Engine) MediationOptions(ctx context.Context, srID string, q *OptionsQuery) (*OptionsResult, error) {
	if _, err := e.store.Read(ctx, "ServiceRequest", srID); err != nil {
		return nil, err
	}
	recs, err := e.index.Waits(ctx, []string{srID})
	if err != nil {
		return nil, err
	}
	rec := recs[0]
	if rec == nil || rec.SR == nil {
		return nil, ww.Errorf(ww.KindUnprocessable, "processing", "ServiceRequest/%s is not a wait (no order date, subject or status known)", srID)
	}
	ev := mediation.Evaluate(rec, q.AsOf, e.cfg.Norms, 14)
	if !ev.Open {
		return nil, ww.Errorf(ww.KindUnprocessable, "business-rule", "ServiceRequest/%s is not an open wait on %s (status %s, authoredOn %s): there is nothing to mediate", srID, q.AsOf, rec.SR.Status, rec.SR.Authored)
	}
	if rec.SR.Specialism == "" {
		return nil, ww.Errorf(ww.KindUnprocessable, "business-rule", "ServiceRequest/%s names no AGB specialism (performerType or code): no alternative can be matched", srID).At("ServiceRequest.performerType")
	}
	home, ok := e.cfg.Geo.Locate(rec.Home)
	if !ok {
		return nil, ww.Errorf(ww.KindUnprocessable, "business-rule",
			"the member's home of ServiceRequest/%s cannot be placed: the Patient's home address has no geolocation extension and its postcode is not in the PC4 coordinates (start the gateway with --geo-pc4)", srID)
	}
	snap, err := e.Directory(ctx)
	if err != nil {
		return nil, err
	}
	res := &OptionsResult{Wait: LongWait{ID: srID, Eval: ev, Rec: rec}, Snap: snap, Slots: map[string]FreeSlot{}}
	// The member's insurer on asOf, for "contracted".
	for i := range rec.Cov {
		if c := &rec.Cov[i]; c.Covers(q.AsOf) {
			if c.UZOVI != "" {
				res.Insurer = c.UZOVI
			} else if o := snap.Dir.Orgs[c.PayorOrg]; o != nil {
				res.Insurer = o.UZOVI
			}
			if res.Insurer != "" {
				break
			}
		}
	}
	// The current provider and its published wait.
	current := map[string]bool{}
	for _, p := range rec.SR.Performers {
		if o := snap.Dir.OrgOfPerformer(p); o != "" {
			current[o] = true
			if of := snap.Dir.Orgs[o]; of != nil && of.PartOf != "" {
				current[of.PartOf] = true
			}
		}
	}
	published, hasPublished := 0, false
	if pk := mediation.PublishedKind(rec.SR.Kind); pk != "" {
		if svc := e.currentService(snap, rec); svc != nil {
			published, hasPublished = svc.PublishedDays(pk)
		}
	}
	res.Expected, res.Basis = mediation.ExpectedDate(ev, q.AsOf, published, hasPublished)
	from, to := dayStartMs(q.AsOf), dayStartMs(res.Expected)
	if to <= from {
		return res, nil
	}
	keys, err := e.index.FreeSlotKeys(ctx)
	if err != nil {
		return nil, err
	}
	bySched := map[string][]string{}
	for _, k := range keys {
		sched, spec, _ := strings.Cut(k, "|")
		bySched[sched] = append(bySched[sched], spec)
	}
	type cand struct {
		svc   *mediation.ServiceFacts
		dist  float64
		place mediation.Place
	}
	visit := mediation.VisitKind(rec.SR.Kind)
	var cands []cand
	var ranges []mediation.SlotRange
	var owner []int
	for _, svc := range snap.Dir.Services {
		if !svc.Active || !contains(svc.Specialisms, rec.SR.Specialism) || current[svc.Org] {
			continue
		}
		if o := snap.Dir.Orgs[svc.Org]; o != nil && o.PartOf != "" && current[o.PartOf] {
			continue
		}
		if rec.SR.High && e.cfg.Kinds.Of(snap.Dir.Orgs[svc.Org]) == mediation.ProviderZBC {
			continue
		}
		var best *mediation.Place
		bestD := 0.0
		for _, sc := range snap.ServiceSchedules[svc.ID] {
			pl := snap.Places[sc]
			if !pl.HasGeo {
				continue
			}
			if f := snap.Dir.Schedules[sc]; f == nil || !f.Active || !f.Serves(visit) {
				continue
			}
			d := mediation.DistanceKm(home.Lat, home.Lon, pl.Point.Lat, pl.Point.Lon)
			if d > q.MaxKm {
				continue
			}
			p := pl
			if best == nil || d < bestD {
				best, bestD = &p, d
			}
			for _, spec := range bySched[sc] {
				if eff := spec; eff == rec.SR.Specialism || eff == "-" && pl.Specialism == rec.SR.Specialism {
					ranges = append(ranges, mediation.SlotRange{Schedule: sc, Specialism: spec, From: from, To: to, Limit: 1})
					owner = append(owner, len(cands))
				}
			}
		}
		if best != nil {
			cands = append(cands, cand{svc: svc, dist: bestD, place: *best})
		}
	}
	hits, err := e.index.FreeSlots(ctx, ranges)
	if err != nil {
		return nil, err
	}
	earliest := map[int]mediation.SlotHit{}
	earliestPlace := map[int]mediation.Place{}
	for j, hs := range hits {
		if len(hs) == 0 {
			continue
		}
		i := owner[j]
		if cur, ok := earliest[i]; !ok || lessHit(hs[0], cur) {
			earliest[i] = hs[0]
			earliestPlace[i] = snap.Places[ranges[j].Schedule]
		}
	}
	for i, h := range earliest {
		c := cands[i]
		pl := earliestPlace[i]
		slotDay := mediation.DayOf(msToTime(h.Start))
		gained := int(res.Expected - slotDay)
		if gained <= 0 {
			continue
		}
		d := mediation.DistanceKm(home.Lat, home.Lon, pl.Point.Lat, pl.Point.Lon)
		opt := mediation.Option{Slot: h.ID, Service: c.svc.ID, Org: c.svc.Org, SlotDay: slotDay,
			SlotStart: msToTime(h.Start).Format("2006-01-02T15:04:05"), DaysGained: gained, DistanceKm: round1(d), HasDistance: true}
		if res.Insurer != "" {
			opt.Contracted = snap.Dir.Contracted(res.Insurer, c.svc.Org, q.AsOf)
		}
		res.Options = append(res.Options, opt)
		res.Slots[h.ID] = FreeSlot{ID: h.ID, Start: h.Start, Place: pl, DistanceKm: opt.DistanceKm, HasDistance: true, Contracted: opt.Contracted}
	}
	e.cfg.Ranking.Rank(res.Options)
	if len(res.Options) > q.Count {
		res.Options = res.Options[:q.Count]
	}
	ids := make([]string, len(res.Options))
	for i, o := range res.Options {
		ids[i] = o.Slot
	}
	if len(ids) > 0 {
		rs, err := e.index.ReadLive(ctx, "Slot", ids)
		if err != nil {
			return nil, err
		}
		for i, r := range rs {
			fs := res.Slots[ids[i]]
			fs.Resource = r
			res.Slots[ids[i]] = fs
		}
	}
	return res, nil
}

// currentService is the HealthcareService the member waits at: of the
// wait's location and specialism (else of the performer's organisation and
// specialism, the first by id).
func (e *Engine) currentService(snap *Snapshot, rec *mediation.WaitRecord) *mediation.ServiceFacts {
	var best *mediation.ServiceFacts
	orgs := map[string]bool{}
	for _, p := range rec.SR.Performers {
		if o := snap.Dir.OrgOfPerformer(p); o != "" {
			orgs[o] = true
		}
	}
	ids := make([]string, 0, len(snap.Dir.Services))
	for id := range snap.Dir.Services {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s := snap.Dir.Services[id]
		if !contains(s.Specialisms, rec.SR.Specialism) {
			continue
		}
		if rec.SR.Location != "" && contains(s.Locations, rec.SR.Location) {
			return s
		}
		if best == nil && orgs[s.Org] {
			best = s
		}
	}
	return best
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func round1(x float64) float64 {
	return float64(int64(x*10+0.5)) / 10
}
