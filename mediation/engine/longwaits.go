package engine

import (
	"context"
	"math"
	"sort"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

// The $long-waits states.
const (
	StateExceeded = "exceeded"
	StateAtRisk   = "at-risk"
	StateAll      = "all"
)

// LongWaitsQuery is a parsed $long-waits request.
type LongWaitsQuery struct {
	AsOf mediation.Day
	// Insurer is a UZOVI code ("" for all members).
	Insurer    string
	Specialism string   // "" for all
	Kinds      []string // nil for all
	State      string
	Within     int
	// CrossedSince keeps waits whose norm was crossed on or after it
	// (NoDay: no filter).
	CrossedSince mediation.Day
	// Organization is an Organization id performers must belong to ("":
	// any).
	Organization string
	Near         *Near
	Count        int
	After        *mediation.WaitCursor
	// CountOnly counts the matches instead of listing them.
	CountOnly bool
}

// LongWait is one wait in the answer.
type LongWait struct {
	ID   string
	Eval mediation.Evaluation
	Rec  *mediation.WaitRecord
}

// LongWaitsResult is one page.
type LongWaitsResult struct {
	Waits     []LongWait
	Next      *mediation.WaitCursor
	Total     int // -1 unless CountOnly
	Truncated bool
}

// streams builds the wait streams of a query: per insurer key, kind and
// class, with day bounds that select the state. Kinds whose norm some
// specialism overrides get their own streams for those specialisms (and
// the overridden ones are filtered out of the shared stream), so every
// stream has one norm and its day order is the excess order.
func (e *Engine) streams(q *LongWaitsQuery, insurerKeys []string) ([]mediation.WaitStream, map[string]map[string]bool) {
	kinds := q.Kinds
	if kinds == nil {
		kinds = append(append([]string(nil), mediation.WaitKinds...), "")
	}
	exclude := map[string]map[string]bool{} // kind → specialisms served by their own streams
	type sk struct{ spec, kind string }
	var combos []sk
	for _, k := range kinds {
		if q.Specialism != "" {
			combos = append(combos, sk{q.Specialism, k})
			continue
		}
		combos = append(combos, sk{"*", k})
		for spec, m := range e.cfg.Norms.Specialisms {
			kk := k
			if kk == "" {
				kk = mediation.KindOutpatient
			}
			if _, ok := m[kk]; ok {
				if exclude[k] == nil {
					exclude[k] = map[string]bool{}
				}
				exclude[k][spec] = true
				combos = append(combos, sk{spec, k})
			}
		}
	}
	asOf := int64(q.AsOf)
	var out []mediation.WaitStream
	for _, c := range combos {
		normSpec := c.spec
		if normSpec == "*" {
			normSpec = ""
		}
		n := int64(e.cfg.Norms.Days(c.kind, normSpec))
		kindPart := c.kind
		if kindPart == "" {
			kindPart = "-"
		}
		for _, x := range insurerKeys {
			add := func(class string, lo, hi, cc int64) {
				out = append(out, mediation.WaitStream{Family: mediation.FamilyLongWaits, Parts: []string{x, c.spec, kindPart, class}, Lo: lo, Hi: hi, C: cc, Norm: n})
			}
			minD, maxD := int64(math.MinInt32), int64(math.MaxInt32)
			uLo := minD
			if q.CrossedSince != mediation.NoDay {
				uLo = int64(q.CrossedSince) - n - 1
			}
			switch q.State {
			case StateExceeded:
				add(mediation.ClassUnbooked, uLo, asOf-n-1, asOf-n)
				add(mediation.ClassBooked, minD, -(n + 1), -n)
			case StateAtRisk:
				add(mediation.ClassUnbooked, max(uLo, asOf-n), min(asOf-n+int64(q.Within)-1, asOf), asOf-n)
			default:
				add(mediation.ClassUnbooked, uLo, asOf, asOf-n)
				add(mediation.ClassBooked, minD, maxD, -n)
				add(mediation.ClassOnHoldUnbooked, uLo, asOf, asOf-n)
				add(mediation.ClassOnHoldBooked, minD, maxD, -n)
			}
		}
	}
	return out, exclude
}

// LongWaits answers $long-waits.
func (e *Engine) LongWaits(ctx context.Context, q *LongWaitsQuery) (*LongWaitsResult, error) {
	keys := []string{"*"}
	var member map[string]bool
	var snap *Snapshot
	if q.Insurer != "" || q.Organization != "" {
		var err error
		if snap, err = e.Directory(ctx); err != nil {
			return nil, err
		}
	}
	if q.Insurer != "" {
		member = snap.Dir.InsurerKeys(q.Insurer)
		keys = keys[:0]
		for k := range member {
			keys = append(keys, k)
		}
		sort.Strings(keys)
	}
	streams, exclude := e.streams(q, keys)
	res := &LongWaitsResult{Total: -1}
	count := 0
	filter := func(id string, r *mediation.WaitRecord, st *mediation.WaitStream) bool {
		if r == nil || r.SR == nil {
			return false
		}
		if ex := exclude[r.SR.Kind]; ex != nil && st.Parts[1] == "*" && ex[r.SR.Specialism] {
			// The specialism's own stream (its own norm) lists it.
			return false
		}
		ev := mediation.Evaluate(r, q.AsOf, e.cfg.Norms, q.Within)
		if !ev.Open {
			return false
		}
		switch q.State {
		case StateExceeded:
			if !ev.Exceeded {
				return false
			}
		case StateAtRisk:
			if !ev.AtRisk {
				return false
			}
		}
		if member != nil && !r.MemberOf(member, q.AsOf) {
			return false
		}
		if q.CrossedSince != mediation.NoDay && (ev.CrossedOn < q.CrossedSince || ev.CrossedOn > q.AsOf) {
			return false
		}
		if q.Organization != "" {
			ok := false
			for _, p := range r.SR.Performers {
				if snap.Dir.BelongsTo(p, q.Organization) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		}
		if q.Near != nil {
			p, ok := e.cfg.Geo.Locate(r.Home)
			if !ok {
				return false
			}
			if _, in := q.Near.within(p); !in {
				return false
			}
		}
		if q.CountOnly {
			count++
			return false
		}
		return true
	}
	scan := &mediation.WaitScan{Streams: streams, After: q.After, Limit: q.Count, Filter: filter}
	if q.CountOnly {
		scan.Limit, scan.Budget, scan.After = 0, math.MaxInt32, nil
	}
	page, err := e.index.ScanWaits(ctx, scan)
	if err != nil {
		return nil, err
	}
	if q.CountOnly {
		res.Total = count
		return res, nil
	}
	res.Next, res.Truncated = page.Next, page.Truncated
	for _, h := range page.Hits {
		ev := mediation.Evaluate(h.Rec, q.AsOf, e.cfg.Norms, q.Within)
		res.Waits = append(res.Waits, LongWait{ID: h.ID, Eval: ev, Rec: h.Rec})
	}
	return res, nil
}

// Includes reads the subject Patients and holding Appointments of waits.
func (e *Engine) Includes(ctx context.Context, waits []LongWait) ([]*ww.Resource, error) {
	var pats, appts []string
	seen := map[string]bool{}
	for _, w := range waits {
		if p := w.Rec.SR.Patient; p != "" && !seen["P"+p] {
			seen["P"+p] = true
			pats = append(pats, p)
		}
		if a := w.Eval.Appointment; a != "" && !seen["A"+a] {
			seen["A"+a] = true
			appts = append(appts, a)
		}
	}
	var out []*ww.Resource
	for _, x := range []struct {
		typ string
		ids []string
	}{{"Patient", pats}, {"Appointment", appts}} {
		if len(x.ids) == 0 {
			continue
		}
		rs, err := e.index.ReadLive(ctx, x.typ, x.ids)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if r != nil {
				out = append(out, r)
			}
		}
	}
	return out, nil
}
