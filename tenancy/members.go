package tenancy

import (
	"context"
	"sort"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

// Members is what an insurer may see of patient-level data on one day.
type Members struct {
	// Patients are the ids of every Patient resource of a member (all
	// resources carrying a member's BSN, plus the Coverages' beneficiaries).
	Patients map[string]bool
	// Coverages are the ids of the Coverages the insurer is the payor of
	// (any status or period).
	Coverages map[string]bool
	// Orgs are the insurer's Organization ids (identifier UZOVI).
	Orgs map[string]bool

	day     mediation.Day
	version int64
}

// membershipTypes are the types whose writes can change a member set.
var membershipTypes = []string{"Patient", "Coverage", "Organization"}

// pageSize is the page size of the Policy's own searches.
const pageSize = 1000

// Members returns the member set of the insurer with this UZOVI today,
// from the cache when no Patient, Coverage or Organization was written since
// (checked once per request when the context carries a wachtwijzer.Memo).
func (p *Policy) Members(ctx context.Context, uzovi string) (*Members, error) {
	memo := ww.MemoFrom(ctx)
	if memo != nil {
		if m, ok := memo.Load(memoKey{uzovi}); ok {
			return m.(*Members), nil
		}
	}
	m, err := p.members(ctx, uzovi)
	if err == nil && memo != nil {
		memo.Store(memoKey{uzovi}, m)
	}
	return m, err
}

// memoKey keys a request's resolved member set.
type memoKey struct{ uzovi string }

func (p *Policy) members(ctx context.Context, uzovi string) (*Members, error) {
	p.mu.RLock()
	s, vers := p.store, p.vers
	cached := p.cache[uzovi]
	p.mu.RUnlock()
	if s == nil || uzovi == "" {
		return &Members{Patients: map[string]bool{}, Coverages: map[string]bool{}, Orgs: map[string]bool{}}, nil
	}
	day := mediation.DayOf(p.o.Clock.Now())
	var version int64 = -1
	if vers != nil {
		v, err := vers.Versions(ctx, membershipTypes)
		if err != nil {
			return nil, err
		}
		version = v
		if cached != nil && cached.day == day && cached.version == v {
			return cached, nil
		}
	}
	m, err := p.resolve(ctx, s, uzovi, day)
	if err != nil {
		return nil, err
	}
	m.version = version
	if version >= 0 {
		p.mu.Lock()
		p.cache[uzovi] = m
		p.mu.Unlock()
	}
	return m, nil
}

func (p *Policy) insurerOrgs(ctx context.Context, uzovi string) (map[string]bool, error) {
	p.mu.RLock()
	s := p.store
	p.mu.RUnlock()
	out := map[string]bool{}
	if s == nil {
		return out, nil
	}
	err := searchAll(ctx, s, "Organization", []ww.Clause{{Param: "identifier", Values: []string{ww.SystemUZOVI + "|" + uzovi}}}, 0, func(r *ww.Resource) error {
		out[r.ID] = true
		return nil
	})
	return out, err
}

// resolve computes a member set: the insurer's Organizations, the Coverages
// paid by it (by payor reference or by UZOVI identifier), the beneficiaries
// of those covering day, their BSNs, and every Patient with one of them.
func (p *Policy) resolve(ctx context.Context, s ww.Store, uzovi string, day mediation.Day) (*Members, error) {
	m := &Members{Patients: map[string]bool{}, Coverages: map[string]bool{}, day: day}
	orgs, err := p.insurerOrgs(ctx, uzovi)
	if err != nil {
		return nil, err
	}
	m.Orgs = orgs
	beneficiaries := map[string]bool{}
	addCoverage := func(r *ww.Resource) error {
		tree, err := fhirjson.Parse(r.JSON, fhirjson.Limits{})
		if err != nil {
			return nil
		}
		f, ben := mediation.CoverageFactOf(r.ID, tree)
		if f.UZOVI != uzovi && !orgs[f.PayorOrg] {
			return nil
		}
		m.Coverages[r.ID] = true
		if ben != "" && f.Covers(day) {
			beneficiaries[ben] = true
		}
		return nil
	}
	if len(orgs) > 0 {
		var refs []string
		for _, id := range sortedKeys(orgs) {
			refs = append(refs, "Organization/"+id)
		}
		if err := searchAll(ctx, s, "Coverage", []ww.Clause{{Param: "payor", Values: refs}}, p.o.MaxMembers, addCoverage); err != nil {
			return nil, err
		}
	}
	if err := searchAll(ctx, s, "Coverage", []ww.Clause{{Param: "payor", Modifier: "identifier", Values: []string{ww.SystemUZOVI + "|" + uzovi}}}, p.o.MaxMembers, addCoverage); err != nil {
		return nil, err
	}
	// The beneficiaries' BSNs, then every Patient carrying one of them.
	bsns := map[string]bool{}
	ids := sortedKeys(beneficiaries)
	for len(ids) > 0 {
		n := min(len(ids), 200)
		batch := ids[:n]
		ids = ids[n:]
		err := searchAll(ctx, s, "Patient", []ww.Clause{{Param: "_id", Values: batch}}, 0, func(r *ww.Resource) error {
			m.Patients[r.ID] = true
			for _, b := range bsnsOf(r.JSON) {
				bsns[b] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	all := sortedKeys(bsns)
	for len(all) > 0 {
		n := min(len(all), 100)
		vals := make([]string, n)
		for i, b := range all[:n] {
			vals[i] = ww.SystemBSN + "|" + b
		}
		all = all[n:]
		err := searchAll(ctx, s, "Patient", []ww.Clause{{Param: "identifier", Values: vals}}, 0, func(r *ww.Resource) error {
			m.Patients[r.ID] = true
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(m.Patients) > p.o.MaxMembers {
			return nil, ww.Errorf(ww.KindUnavailable, "too-costly", "the insurer has more than %d member Patients, more than the access policy is configured to filter by", p.o.MaxMembers)
		}
	}
	return m, nil
}

// bsnsOf returns the BSN identifiers of a Patient.
func bsnsOf(body []byte) []string {
	tree, err := fhirjson.Parse(body, fhirjson.Limits{})
	if err != nil {
		return nil
	}
	var out []string
	if ids := tree.Get("identifier"); ids != nil && ids.Kind == fhirjson.Array {
		for _, id := range ids.Items {
			if id.GetStr("system") == ww.SystemBSN {
				if v := id.GetStr("value"); v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// searchAll runs a search as the system and calls fn for every match, page
// by page; more than limit matches (when limit > 0) is an error.
func searchAll(ctx context.Context, s ww.Store, typ string, clauses []ww.Clause, limit int, fn func(*ww.Resource) error) error {
	sctx := systemCtx(ctx)
	q := &ww.Query{Type: typ, Clauses: clauses, Count: pageSize}
	n := 0
	for {
		res, err := s.Search(sctx, q)
		if err != nil {
			return ww.Wrap("tenancy.members", ww.KindOf(err), err, "the access policy cannot resolve the insurer's members")
		}
		for _, r := range res.Resources {
			n++
			if limit > 0 && n > limit {
				return ww.Errorf(ww.KindUnavailable, "too-costly", "the insurer has more than %d %s resources, more than the access policy is configured to filter by", limit, typ)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if res.Next == nil {
			return nil
		}
		q.After = res.Next
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
