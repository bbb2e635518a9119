package redisstore

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

// Projections: state derived from several resources, written in the same
// commit as the writes that change it (GUIDE §2, the first of its two
// options).
//
// A wait's state depends on its ServiceRequest, the Appointments based on it
// (the earliest holding one ends the wait), its subject Patient (BSN → member
// key, home address) and the Coverages of every Patient with the same BSN
// (membership). The insurer operations must order and count waits by
// derived values (excess days of booked waits, membership, region), so the
// store keeps two projections as internal records beside the resources:
//
//	Wait/<ServiceRequest id>   mediation.WaitRecord: the wait's facts, its
//	                           holding appointments, and a snapshot of the
//	                           member's coverages and home
//	Member/<member key>        mediation.MemberRecord: the coverages of all
//	                           Patients with that BSN, and their waits
//	                           ("p-<Patient id>" for a Patient without a BSN)
//
// Commit plans the user's writes, then project reads the projections and
// Patients those writes touch, applies the changes (pure rules in package
// mediation) and appends one write per changed projection record, plus a
// check-only entry (expected version) for every record it read and did not
// write. Commit then runs all of it as one script (standalone) or through
// the Cluster commit protocol, so the projections are never out of step with
// the resources: a concurrent commit that changed anything read fails the
// version check and the Commit re-plans (the store's usual retry). The
// order in which resources arrive does not matter: appointments may come
// before their ServiceRequest, Coverages before their Patient (the lines
// wait under "p-<Patient id>" until the Patient with its BSN arrives), and a
// BSN change moves a Patient's coverages and waits to the new member.
//
// Projection records keep no history (the two trim operations on each
// write remove what install adds) and are not served: their types are not
// FHIR types. Their index entries (projectionEntries) are a pure function
// of the record, so index maintenance, diffs and Cluster recovery work as
// for resources.
const (
	projWait   = "Wait"
	projMember = "Member"
)

// projected are the resource types whose writes change projections.
var projected = map[string]bool{"Patient": true, "Coverage": true, "ServiceRequest": true, "Appointment": true}

type patientState struct {
	facts    *mediation.PatientFacts // nil: absent or deleted
	vid      int64
	inCommit bool
}

type projState[T any] struct {
	rec     T
	old     []byte // body as read ("" when absent)
	vid     int64
	deleted bool
	// blind: not read, taken to be absent; the check of the commit
	// refuses it when it is not, and Commit plans again reading it.
	blind bool
}

type projector struct {
	s        *Store
	patients map[string]*patientState
	waits    map[string]*projState[mediation.WaitRecord]
	members  map[string]*projState[mediation.MemberRecord]
	written  map[string]bool // Type/id written by the user's plans
	refresh  map[string]bool // waits whose member snapshot must be recomputed
	needP    map[string]bool
	needW    map[string]bool
	needM    map[string]bool
}

type patientChange struct {
	id       string
	old, new *mediation.PatientFacts
	// blind: a create planned without reading what is stored.
	blind bool
}

type coverageChange struct {
	id             string
	oldBen, newBen string
	old, new       *mediation.CoverageFact
}

type srChange struct {
	id       string
	old, new *mediation.WaitFacts
}

type apptChange struct {
	id            string
	oldOn, newOn  []string
	oldFact, fact *mediation.ApptFact
}

// project appends the projection writes and checks for plans.
func (s *Store) project(ctx context.Context, plans []*wplan) ([]*wplan, error) {
	p := &projector{s: s, patients: map[string]*patientState{}, waits: map[string]*projState[mediation.WaitRecord]{},
		members: map[string]*projState[mediation.MemberRecord]{}, written: map[string]bool{}, refresh: map[string]bool{},
		needP: map[string]bool{}, needW: map[string]bool{}, needM: map[string]bool{}}
	var pats []patientChange
	var covs []coverageChange
	var srs []srChange
	var appts []apptChange
	for _, pl := range plans {
		if !pl.write || !projected[pl.w.Type] {
			continue
		}
		p.written[pl.w.Type+"/"+pl.w.ID] = true
		oldT, newT, err := pl.trees()
		if err != nil {
			return nil, err
		}
		id := pl.w.ID
		switch pl.w.Type {
		case "Patient":
			var o, n *mediation.PatientFacts
			if oldT != nil {
				o = mediation.PatientFactsOf(oldT, s.regions)
			}
			if newT != nil {
				n = mediation.PatientFactsOf(newT, s.regions)
			}
			p.patients[id] = &patientState{facts: n, inCommit: true}
			if !reflect.DeepEqual(o, n) {
				pats = append(pats, patientChange{id, o, n, pl.blind})
			}
		case "Coverage":
			c := coverageChange{id: id}
			if oldT != nil {
				f, ben := mediation.CoverageFactOf(id, oldT)
				c.old, c.oldBen = &f, ben
			}
			if newT != nil {
				f, ben := mediation.CoverageFactOf(id, newT)
				c.new, c.newBen = &f, ben
			}
			if !reflect.DeepEqual(c.old, c.new) {
				covs = append(covs, c)
			}
		case "ServiceRequest":
			c := srChange{id: id}
			if oldT != nil {
				c.old = mediation.SRFacts(oldT)
			}
			if newT != nil {
				c.new = mediation.SRFacts(newT)
			}
			if !reflect.DeepEqual(c.old, c.new) {
				srs = append(srs, c)
			}
		case "Appointment":
			c := apptChange{id: id}
			if oldT != nil {
				c.oldOn, c.oldFact = mediation.AppointmentFacts(id, oldT)
			}
			if newT != nil {
				c.newOn, c.fact = mediation.AppointmentFacts(id, newT)
			}
			if !reflect.DeepEqual(c.oldOn, c.newOn) || !reflect.DeepEqual(c.oldFact, c.fact) {
				appts = append(appts, c)
			}
		}
	}
	if len(pats)+len(covs)+len(srs)+len(appts) == 0 {
		return plans, nil
	}
	key := s.dkey
	// The waits rounds 1 and 2 below read, and the members of their
	// Patients when those are written in this commit (their member keys
	// are known now), are read with what quietPatients reads: one round
	// trip instead of up to three. The same records are read either way.
	for _, c := range srs {
		p.needW[c.id] = true
		for _, f := range []*mediation.WaitFacts{c.old, c.new} {
			if f != nil && f.Patient != "" && p.patients[f.Patient] != nil {
				p.needM[p.memberOf(f.Patient)] = true
			}
		}
	}
	for _, c := range appts {
		for _, x := range c.oldOn {
			p.needW[x] = true
		}
		for _, x := range c.newOn {
			p.needW[x] = true
		}
	}
	pats, err := p.quietPatients(ctx, pats)
	if err != nil {
		return nil, err
	}
	if len(pats)+len(covs)+len(srs)+len(appts) == 0 {
		return p.emit(plans)
	}
	// Round 1: the Patients the changes refer to, the waits they touch and
	// the members of changed Patients.
	for _, c := range covs {
		p.wantPatient(c.oldBen)
		p.wantPatient(c.newBen)
	}
	for _, c := range srs {
		p.needW[c.id] = true
		if c.old != nil {
			p.wantPatient(c.old.Patient)
		}
		if c.new != nil {
			p.wantPatient(c.new.Patient)
		}
	}
	for _, c := range appts {
		for _, x := range append(append([]string(nil), c.oldOn...), c.newOn...) {
			p.needW[x] = true
		}
	}
	for _, c := range pats {
		p.needM[mediation.PatientMemberKey(key, c.id, c.old)] = true
		p.needM[mediation.PatientMemberKey(key, c.id, c.new)] = true
	}
	if err := p.load(ctx); err != nil {
		return nil, err
	}
	// Patient changes first: after them every line of a Patient lives under
	// the member key of its new version, which the other changes use.
	for _, c := range pats {
		ko, kn := mediation.PatientMemberKey(key, c.id, c.old), mediation.PatientMemberKey(key, c.id, c.new)
		mo, mn := p.members[ko], p.members[kn]
		var waits []mediation.MemberWait
		if ko != kn {
			cv, ws := mo.rec.TakePatient(c.id)
			for i := range cv {
				mn.rec.SetCoverage(cv[i].ID, &cv[i])
			}
			for _, w := range ws {
				mn.rec.SetWait(w.SR, w.Patient, true)
			}
			waits = ws
		} else {
			for _, w := range mn.rec.Waits {
				if w.Patient == c.id {
					waits = append(waits, w)
				}
			}
		}
		for _, w := range waits {
			p.refresh[w.SR] = true
		}
		if ko != kn {
			// The coverages moved: every wait of the new member sees them.
			for _, w := range mn.rec.Waits {
				p.refresh[w.SR] = true
			}
			for _, w := range mo.rec.Waits {
				p.refresh[w.SR] = true
			}
		}
	}
	// Round 2: the members of the Patients the other changes refer to.
	for _, c := range covs {
		if c.oldBen != "" {
			p.needM[p.memberOf(c.oldBen)] = true
		}
		if c.newBen != "" {
			p.needM[p.memberOf(c.newBen)] = true
		}
	}
	for _, c := range srs {
		if c.old != nil {
			p.needM[p.memberOf(c.old.Patient)] = true
		}
		if c.new != nil {
			p.needM[p.memberOf(c.new.Patient)] = true
		}
	}
	if err := p.load(ctx); err != nil {
		return nil, err
	}
	for _, c := range covs {
		// A Coverage whose beneficiary is no Patient makes no member.
		if c.old != nil && c.oldBen != "" {
			m := p.members[p.memberOf(c.oldBen)]
			m.rec.SetCoverage(c.id, nil)
			p.refreshMember(m)
		}
		if c.new != nil && c.newBen != "" {
			m := p.members[p.memberOf(c.newBen)]
			m.rec.SetCoverage(c.id, c.new)
			p.refreshMember(m)
		}
	}
	for _, c := range srs {
		w := p.waits[c.id]
		w.rec.SR = c.new
		if c.old != nil && c.old.Patient != "" {
			p.members[p.memberOf(c.old.Patient)].rec.SetWait(c.id, c.old.Patient, false)
		}
		if c.new != nil && c.new.Patient != "" {
			p.members[p.memberOf(c.new.Patient)].rec.SetWait(c.id, c.new.Patient, true)
		}
		p.refresh[c.id] = true
	}
	for _, c := range appts {
		for _, x := range c.oldOn {
			p.waits[x].rec.SetAppt(c.id, nil)
		}
		for _, x := range c.newOn {
			p.waits[x].rec.SetAppt(c.id, c.fact)
		}
	}
	// Refresh the member snapshot of every wait whose member changed:
	// load the waits, then their Patients, then those Patients' members.
	for round := 0; round < 3; round++ {
		for sr := range p.refresh {
			if _, ok := p.waits[sr]; !ok {
				p.needW[sr] = true
			}
		}
		if err := p.load(ctx); err != nil {
			return nil, err
		}
		for sr := range p.refresh {
			if f := p.waits[sr].rec.SR; f != nil && f.Patient != "" {
				p.wantPatient(f.Patient)
			}
		}
		if err := p.load(ctx); err != nil {
			return nil, err
		}
		for sr := range p.refresh {
			if f := p.waits[sr].rec.SR; f != nil && f.Patient != "" {
				if k := p.memberOf(f.Patient); p.members[k] == nil {
					p.needM[k] = true
				}
			}
		}
		if err := p.load(ctx); err != nil {
			return nil, err
		}
	}
	for sr := range p.refresh {
		w := &p.waits[sr].rec
		w.Member, w.Home, w.Cov = "", nil, nil
		if w.SR == nil || w.SR.Patient == "" {
			continue
		}
		ps := p.patients[w.SR.Patient]
		k := p.memberOf(w.SR.Patient)
		w.Member = k
		if ps != nil && ps.facts != nil {
			w.Home = ps.facts.Home
		}
		if m := p.members[k]; m != nil && len(m.rec.Cov) > 0 {
			w.Cov = append([]mediation.CoverageFact(nil), m.rec.Cov...)
		}
	}
	return p.emit(plans)
}

// quietPatients drops the changes of Patients that were not live (a
// create, or a create after a delete) and find nothing filed under their
// "p-<id>" member, and returns the rest.
//
// Every line of a Patient that is not live lives under "p-<id>" (a
// Coverage or wait that arrives first waits there; a delete moves them
// there), so when that member is empty no coverage or wait refers to the
// Patient: its BSN and home change no member and no wait snapshot, and the
// member of its BSN need not be read. The empty member is still checked (it
// stays in p.members, unchanged), so a concurrent commit that files a line
// under it makes this one plan again.
//
// A blind create (planned without reading, on the first attempt) does not
// read "p-<id>" either: it expects it absent, as it expects the Patient
// absent. When it is not, the script refuses the check and Commit plans
// again, reading both.
func (p *projector) quietPatients(ctx context.Context, pats []patientChange) ([]patientChange, error) {
	fresh := 0
	keys := make([]string, len(pats)) // the "p-<id>" member of each create
	for i, c := range pats {
		if c.old == nil {
			k := mediation.PatientMemberKey(p.s.dkey, c.id, nil)
			keys[i] = k
			if c.blind {
				if _, ok := p.members[k]; !ok {
					p.members[k] = &projState[mediation.MemberRecord]{blind: true}
				}
				continue
			}
			p.needM[k] = true
			fresh++
		}
	}
	if fresh > 0 {
		if err := p.load(ctx); err != nil {
			return nil, err
		}
	}
	out := pats[:0]
	for i, c := range pats {
		if c.old == nil {
			if m := p.members[keys[i]]; m.old == nil || m.rec.Empty() {
				continue
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// trees parses the old (live) and new versions of a planned write.
func (pl *wplan) trees() (old, new *fhirjson.Value, err error) {
	if pl.tree != nil && (pl.prev == nil || pl.prevTree != nil) && pl.rec != nil && !pl.rec.deleted {
		return pl.prevTree, pl.tree, nil
	}
	if pl.prev != nil {
		if old, err = parseStored(pl.prev); err != nil {
			return nil, nil, ww.Wrap("redisstore.Commit", ww.KindInternal, err, "corrupt stored version")
		}
	}
	if pl.rec != nil && !pl.rec.deleted {
		if new, err = parseStored(pl.rec.json); err != nil {
			return nil, nil, ww.Wrap("redisstore.Commit", ww.KindInternal, err, "corrupt new version")
		}
	}
	return old, new, nil
}

func (p *projector) wantPatient(id string) {
	if id == "" {
		return
	}
	if _, ok := p.patients[id]; !ok {
		p.needP[id] = true
	}
}

// memberOf returns the member key of a loaded Patient ("p-<id>" when it is
// absent or has no BSN).
func (p *projector) memberOf(id string) string {
	var f *mediation.PatientFacts
	if ps := p.patients[id]; ps != nil {
		f = ps.facts
	}
	return mediation.PatientMemberKey(p.s.dkey, id, f)
}

func (p *projector) refreshMember(m *projState[mediation.MemberRecord]) {
	for _, w := range m.rec.Waits {
		p.refresh[w.SR] = true
	}
}

// load reads what is wanted and not loaded yet: Patients, waits and members.
func (p *projector) load(ctx context.Context) error {
	pids := pending(p.needP, func(id string) bool { _, ok := p.patients[id]; return ok })
	wids := pending(p.needW, func(id string) bool { _, ok := p.waits[id]; return ok })
	mids := pending(p.needM, func(id string) bool { _, ok := p.members[id]; return ok })
	if len(pids)+len(wids)+len(mids) == 0 {
		return nil
	}
	recs, err := p.s.readRecordsOf(ctx, []recordsOf{{"Patient", pids}, {projWait, wids}, {projMember, mids}})
	if err != nil {
		return err
	}
	for i, id := range pids {
		ps := &patientState{}
		if r := recs[0][i]; r != nil {
			ps.vid = r.vid
			if !r.deleted && r.vid > 0 {
				tree, err := parseStored(r.json)
				if err != nil {
					return ww.Wrap("redisstore.Commit", ww.KindInternal, err, "corrupt stored Patient")
				}
				ps.facts = mediation.PatientFactsOf(tree, p.s.regions)
			}
		}
		p.patients[id] = ps
	}
	if err := loadProj(projWait, wids, recs[1], p.waits); err != nil {
		return err
	}
	return loadProj(projMember, mids, recs[2], p.members)
}

func pending(need map[string]bool, have func(string) bool) []string {
	var ids []string
	for id := range need {
		if id != "" && !have(id) {
			ids = append(ids, id)
		}
		delete(need, id)
	}
	return ids
}

func loadProj[T any](typ string, ids []string, recs []*record, into map[string]*projState[T]) error {
	for i, id := range ids {
		st := &projState[T]{}
		if r := recs[i]; r != nil {
			st.vid = r.vid
			st.deleted = r.deleted
			if !r.deleted && r.vid > 0 {
				st.old = append([]byte(nil), r.json...)
				if err := json.Unmarshal(r.json, &st.rec); err != nil {
					return ww.Wrap("redisstore.Commit", ww.KindInternal, err, "corrupt "+typ+" projection")
				}
			}
		}
		into[id] = st
	}
	return nil
}

// emit appends a write for every changed projection record and a check for
// every record read and left unchanged.
func (p *projector) emit(plans []*wplan) ([]*wplan, error) {
	now := p.s.clock.Now().UnixMilli()
	for id, st := range p.patients {
		if st.inCommit || p.written["Patient/"+id] {
			continue
		}
		plans = append(plans, p.s.checkPlan("Patient", id, st.vid))
	}
	for id, st := range p.waits {
		pl, err := projWrite(p.s, projWait, id, st, st.rec.Empty(), now)
		if err != nil {
			return nil, err
		}
		plans = append(plans, pl)
	}
	for id, st := range p.members {
		pl, err := projWrite(p.s, projMember, id, st, st.rec.Empty(), now)
		if err != nil {
			return nil, err
		}
		pl.blind = st.blind
		plans = append(plans, pl)
	}
	return plans, nil
}

// checkPlan is a check-only entry: the record must still be at vid.
func (s *Store) checkPlan(typ, id string, vid int64) *wplan {
	return &wplan{w: &ww.Write{Op: ww.OpUpdate, Type: typ, ID: id}, shard: s.keys.shard(id), expect: vid}
}

// projWrite plans the new version of a projection record (a tombstone when
// empty), or only checks it when unchanged.
func projWrite[T any](s *Store, typ, id string, st *projState[T], empty bool, now int64) (*wplan, error) {
	var body []byte
	if !empty {
		b, err := json.Marshal(&st.rec)
		if err != nil {
			return nil, ww.Wrap("redisstore.Commit", ww.KindInternal, err, "encode "+typ+" projection")
		}
		body = b
	}
	live := st.old != nil
	if string(body) == string(st.old) && (live || empty) {
		return s.checkPlan(typ, id, st.vid), nil
	}
	pl := &wplan{w: &ww.Write{Op: ww.OpUpdate, Type: typ, ID: id}, shard: s.keys.shard(id), expect: st.vid, write: true}
	rec := &record{vid: st.vid + 1, ms: now, deleted: empty, json: body}
	pl.rec = rec
	var oldIx, newIx []ixop
	if live {
		oldIx = s.projectionEntries(typ, id, st.old)
	}
	if !empty {
		if w, ok := any(&st.rec).(*mediation.WaitRecord); ok && typ == projWait {
			// The record itself, not its JSON decoded again.
			newIx = s.waitEntries(id, w)
		} else {
			newIx = s.projectionEntries(typ, id, body)
		}
	}
	pl.ix = diff(oldIx, newIx)
	if empty {
		pl.ix = removals(oldIx)
	}
	// No history for projections: install adds none.
	pl.nohist = true
	pl.result = ww.WriteResult{Outcome: ww.Updated}
	return pl, nil
}

// ProjectionTypes are the internal record types of the projections. A
// reindex must rebuild their index entries too (entries() computes them
// from the record like any resource's), or the insurer operations see an
// empty generation.
var ProjectionTypes = []string{projWait, projMember}

// isProjection reports whether typ is an internal projection type.
func isProjection(typ string) bool { return typ == projWait || typ == projMember }

// projectionEntries returns the index entries of a projection record: for a
// wait, its places in the $long-waits and $regional-capacity orders.
//
// It gives the entries of every generation the shard's write fence names.
func (s *Store) projectionEntries(typ, id string, body []byte) []ixop {
	if typ != projWait || len(body) == 0 {
		return nil
	}
	var r mediation.WaitRecord
	if err := json.Unmarshal(body, &r); err != nil {
		return nil
	}
	return s.waitEntries(id, &r)
}

// waitEntries is projectionEntries of a decoded wait record.
func (s *Store) waitEntries(id string, r *mediation.WaitRecord) []ixop {
	var out []ixop
	for _, g := range s.writeGens(projWait, s.keys.shard(id)) {
		out = append(out, s.waitEntriesIn(s.keys.withGen(g), id, r)...)
	}
	return out
}

// projectionEntriesIn is projectionEntries in one generation (keys k).
func (s *Store) projectionEntriesIn(k keys, typ, id string, body []byte) []ixop {
	if typ != projWait || len(body) == 0 {
		return nil
	}
	var r mediation.WaitRecord
	if err := json.Unmarshal(body, &r); err != nil {
		return nil
	}
	return s.waitEntriesIn(k, id, &r)
}

// waitEntriesIn is projectionEntriesIn of a decoded wait record.
func (s *Store) waitEntriesIn(k keys, id string, r *mediation.WaitRecord) []ixop {
	if !r.Open() {
		return nil
	}
	shard := k.shard(id)
	class := "u"
	primary := int64(r.SR.Authored)
	if h, ok := r.Hold(); ok {
		class = "b"
		primary = -int64(h.Day - r.SR.Authored)
	}
	if r.SR.Status == "on-hold" {
		class = "h" + class
	}
	score := strconv.FormatInt(WaitScore(primary, id), 10)
	spec, kind := orDash(r.SR.Specialism), orDash(r.SR.Kind)
	var out []ixop
	for _, x := range append([]string{"*"}, r.Insurers()...) {
		for _, sp := range []string{"*", spec} {
			out = append(out, ixop{kind: 'z', key: k.med("wait", projWait, shard, "~wl", x, sp, kind, class), member: id, score: score})
		}
	}
	if r.Home != nil && r.Home.Region != "" {
		// Partitions: "*" (every member), and per active coverage its
		// insurer key by the period's end ("k@e<day>") and by its start
		// ("k@s<day>"): the members on a day are those under the ends on
		// or after it, less those under the starts after it (a coverage
		// starting after the day ends after it too). The members of these
		// carry the coverage ("srid|coverage"), so one wait with two
		// coverages of one insurer counts once per coverage and the
		// subtraction stays exact.
		type part struct{ name, member string }
		parts := []part{{"*", id}}
		for i := range r.Cov {
			c := &r.Cov[i]
			if k := c.CanonicalKey(); k != "" && c.Status == "active" {
				parts = append(parts, part{k + "@e" + dayPart(c.To), id + "|" + c.ID}, part{k + "@s" + dayPart(c.From), id + "|" + c.ID})
			}
		}
		for _, pt := range parts {
			// Per kind (the exceeded counts need the kind's norm) and for
			// all kinds together (counts and percentiles of the cell).
			out = append(out, ixop{kind: 'z', key: k.med("wait", projWait, shard, "~wr", pt.name, r.Home.Region, spec, kind, class), member: pt.member, score: score},
				ixop{kind: 'z', key: k.med("wait", projWait, shard, "~wr", pt.name, r.Home.Region, spec, "*", class), member: pt.member, score: score},
				ixop{kind: 's', key: k.med("wait", projWait, shard, "~wrc", pt.name), member: r.Home.Region + "|" + spec + "|" + kind, sticky: true},
				ixop{kind: 's', key: k.med("wait", projWait, shard, "~wrp"), member: pt.name, sticky: true})
		}
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dayPart(d mediation.Day) string {
	if d == mediation.NoDay {
		return "-"
	}
	return strconv.Itoa(int(d))
}

// WaitScore is the score of a wait in a $long-waits order: the day value
// (authoredOn for unbooked waits, −waitDays for booked ones) in the high
// bits and the id's first four bytes below, so that equal days order by id
// (Redis orders equal scores by member, which completes the id order).
func WaitScore(primary int64, id string) int64 {
	var pre int64
	for i := 0; i < 4; i++ {
		pre <<= 8
		if i < len(id) {
			pre |= int64(id[i])
		}
	}
	return primary<<32 | pre
}
