package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

func pat(id, bsn, postal string, geo bool) ww.Write {
	addr := ""
	if postal != "" {
		ext := ""
		if geo {
			ext = `"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/geolocation","extension":[{"url":"latitude","valueDecimal":51.84},{"url":"longitude","valueDecimal":5.85}]}],`
		}
		addr = fmt.Sprintf(`,"address":[{%s"use":"home","postalCode":%q}]`, ext, postal)
	}
	ident := ""
	if bsn != "" {
		ident = fmt.Sprintf(`"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":%q}],`, bsn)
	}
	return ww.Write{Op: ww.OpUpdate, Type: "Patient", ID: id, JSON: []byte(fmt.Sprintf(`{"resourceType":"Patient",%s"active":true%s}`, ident, addr))}
}

func cov(id, patient, uzovi, start, end string) ww.Write {
	per := fmt.Sprintf(`"start":%q`, start)
	if end != "" {
		per += fmt.Sprintf(`,"end":%q`, end)
	}
	return ww.Write{Op: ww.OpUpdate, Type: "Coverage", ID: id, JSON: []byte(fmt.Sprintf(`{"resourceType":"Coverage","status":"active","beneficiary":{"reference":"Patient/%s"},"period":{%s},"payor":[{"identifier":{"system":"http://fhir.nl/fhir/NamingSystem/uzovi","value":%q}}]}`, patient, per, uzovi))}
}

func srw(id, status, patient, kind, spec, authored string) ww.Write {
	return ww.Write{Op: ww.OpUpdate, Type: "ServiceRequest", ID: id, JSON: []byte(fmt.Sprintf(`{"resourceType":"ServiceRequest","status":%q,"intent":"order","category":[{"coding":[{"system":"https://wachtwijzer.nl/fhir/CodeSystem/wait-kind","code":%q}]}],"subject":{"reference":"Patient/%s"},"authoredOn":%q,"performerType":{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":%q}]},"performer":[{"reference":"Organization/o1"}]}`, status, kind, patient, authored, spec))}
}

func apw(id, sr, status, start string) ww.Write {
	st := ""
	if start != "" {
		st = fmt.Sprintf(`,"start":%q,"end":%q`, start, start)
	}
	return ww.Write{Op: ww.OpUpdate, Type: "Appointment", ID: id, JSON: []byte(fmt.Sprintf(`{"resourceType":"Appointment","status":%q,"basedOn":[{"reference":"ServiceRequest/%s"}]%s,"participant":[{"status":"accepted"}]}`, status, sr, st))}
}

func commitAll(t *testing.T, s *Store, ws ...ww.Write) {
	t.Helper()
	if _, err := s.Commit(context.Background(), &ww.Commit{Writes: ws}); err != nil {
		t.Fatal(err)
	}
}

func waitRec(t *testing.T, s *Store, id string) *mediation.WaitRecord {
	t.Helper()
	rs, err := s.Waits(context.Background(), []string{id})
	if err != nil {
		t.Fatal(err)
	}
	return rs[0]
}

func covIDs(r *mediation.WaitRecord) string {
	var ids []string
	for _, c := range r.Cov {
		ids = append(ids, c.ID)
	}
	return strings.Join(ids, ",")
}

// streamIDs reads one $long-waits stream whole.
func streamIDs(t *testing.T, s *Store, insurer, spec, kind, class string) []string {
	t.Helper()
	pg, err := s.ScanWaits(context.Background(), &mediation.WaitScan{Limit: 1000, Streams: []mediation.WaitStream{
		{Family: mediation.FamilyLongWaits, Parts: []string{insurer, spec, kind, class}, Lo: math.MinInt32, Hi: math.MaxInt32}}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range pg.Hits {
		ids = append(ids, h.ID)
	}
	return ids
}

// world is a small member graph: one person with a hospital record (pA,
// with a wait) and an insurer record (pB, with the Coverage); another person
// (pC) with a wait and a Coverage.
func world() []ww.Write {
	return []ww.Write{
		pat("pA", "999911120", "6525 GA", true),
		pat("pB", "999911120", "", false),
		pat("pC", "123456782", "3511AB", false),
		cov("c1", "pB", "7119", "2026-01-01", ""),
		cov("c2", "pC", "3332", "2025-01-01", ""),
		srw("s1", "active", "pA", "outpatient", "0305", "2026-10-01"),
		srw("s2", "active", "pC", "treatment", "0301", "2026-09-01"),
		apw("a1", "s1", "booked", "2026-12-10T09:00:00+01:00"),
		apw("a2", "s2", "cancelled", "2026-10-10T09:00:00+02:00"),
	}
}

func checkWorld(t *testing.T, s *Store) {
	t.Helper()
	mk := ww.MemberKey(s.DeploymentKey(), "999911120")
	r1 := waitRec(t, s, "s1")
	if r1 == nil || r1.SR == nil || r1.Member != mk || covIDs(r1) != "c1" || len(r1.Appts) != 1 || r1.Appts[0].ID != "a1" ||
		r1.Home == nil || r1.Home.Region != "NL-GE" || !r1.Home.HasGeo {
		t.Fatalf("wait s1: %+v", r1)
	}
	r2 := waitRec(t, s, "s2")
	if r2 == nil || covIDs(r2) != "c2" || len(r2.Appts) != 0 || r2.Home.Region != "NL-UT" {
		t.Fatalf("wait s2: %+v", r2)
	}
	if got := streamIDs(t, s, "7119", "0305", "outpatient", "b"); strings.Join(got, ",") != "s1" {
		t.Errorf("7119 booked orthopedie: %v", got)
	}
	if got := streamIDs(t, s, "3332", "*", "treatment", "u"); strings.Join(got, ",") != "s2" {
		t.Errorf("3332 unbooked treatment: %v", got)
	}
	if got := streamIDs(t, s, "*", "*", "outpatient", "u"); len(got) != 0 {
		t.Errorf("an unbooked outpatient wait appears: %v", got)
	}
}

func TestProjectionsAnyOrder(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ws := world()
		rng := rand.New(rand.NewPCG(1, 2))
		for trial := 0; trial < 4; trial++ {
			t.Run(fmt.Sprintf("order-%d", trial), func(t *testing.T) {
				ss := openStore(t, s.Client())
				order := rng.Perm(len(ws))
				if trial == 0 { // every resource before what refers to it, reversed
					for i := range order {
						order[i] = len(ws) - 1 - i
					}
				}
				if trial == 3 { // all in one commit
					commitAll(t, ss, ws...)
				} else {
					for _, i := range order {
						commitAll(t, ss, ws[i])
					}
				}
				checkWorld(t, ss)
			})
		}
	})
}

func TestProjectionsFollowChanges(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		commitAll(t, s, world()...)
		checkWorld(t, s)
		// The insurer's record gets another BSN: the Coverage leaves the
		// member, and the hospital's wait loses its insurer.
		commitAll(t, s, pat("pB", "111222333", "", false))
		if r := waitRec(t, s, "s1"); covIDs(r) != "" {
			t.Fatalf("after the BSN change s1 still has coverages %s", covIDs(r))
		}
		if got := streamIDs(t, s, "7119", "*", "outpatient", "b"); len(got) != 0 {
			t.Errorf("s1 still filed under 7119: %v", got)
		}
		// And back (a correction): the Coverage returns.
		commitAll(t, s, pat("pB", "999911120", "", false))
		if r := waitRec(t, s, "s1"); covIDs(r) != "c1" {
			t.Fatalf("after the correction s1 has coverages %q", covIDs(r))
		}
		// The booked appointment is cancelled and a later one waitlisted:
		// the wait is unbooked again.
		commitAll(t, s, apw("a1", "s1", "cancelled", "2026-12-10T09:00:00+01:00"), apw("a3", "s1", "waitlist", ""))
		if r := waitRec(t, s, "s1"); len(r.Appts) != 0 {
			t.Fatalf("cancelled appointment still holds: %+v", r.Appts)
		}
		if got := streamIDs(t, s, "7119", "0305", "outpatient", "u"); strings.Join(got, ",") != "s1" {
			t.Errorf("unbooked s1: %v", got)
		}
		// Rebooked, then the appointment moves to another referral.
		commitAll(t, s, apw("a4", "s1", "booked", "2026-12-20T09:00:00+01:00"))
		commitAll(t, s, apw("a4", "s2", "booked", "2026-12-20T09:00:00+01:00"))
		if r1, r2 := waitRec(t, s, "s1"), waitRec(t, s, "s2"); len(r1.Appts) != 0 || len(r2.Appts) != 1 {
			t.Fatalf("moved appointment: s1 %+v, s2 %+v", r1.Appts, r2.Appts)
		}
		// The wait is completed: it leaves every order.
		commitAll(t, s, srw("s1", "completed", "pA", "outpatient", "0305", "2026-10-01"))
		if got := streamIDs(t, s, "*", "*", "outpatient", "u"); len(got) != 0 {
			t.Errorf("completed wait still listed: %v", got)
		}
		// Coverage deleted; Patient deleted.
		commitAll(t, s, ww.Write{Op: ww.OpDelete, Type: "Coverage", ID: "c2"})
		if r := waitRec(t, s, "s2"); covIDs(r) != "" {
			t.Fatalf("deleted coverage still on s2: %s", covIDs(r))
		}
		commitAll(t, s, ww.Write{Op: ww.OpDelete, Type: "Patient", ID: "pC"})
		if r := waitRec(t, s, "s2"); r.Home != nil || !strings.HasPrefix(r.Member, "p-") {
			t.Fatalf("deleted patient: %+v", r)
		}
		// Projections keep no history.
		c := s.Client()
		for _, k := range []string{s.keys.hist(projWait, "s1"), s.keys.hist(projWait, "s2")} {
			if n, _ := c.HLen(ctx, k).Result(); n != 0 {
				t.Errorf("%s has %d history versions", k, n)
			}
		}
		if n, _ := c.ZCard(ctx, s.keys.typeHist(projWait, s.keys.shard("s1"))).Result(); n != 0 {
			t.Errorf("the wait projections appear in the type history (%d)", n)
		}
		// Not served as resources.
		if _, err := s.Read(ctx, "Wait", "s1"); err == nil {
			t.Error("a projection is readable as a resource")
		}
	})
}

func TestProjectionsUnderConcurrentWrites(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		commitAll(t, s, pat("pA", "999911120", "6525 GA", true), srw("s1", "active", "pA", "outpatient", "0305", "2026-10-01"))
		const n = 24
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				ws := []ww.Write{apw(fmt.Sprintf("a%02d", i), "s1", "booked", fmt.Sprintf("2026-12-%02dT09:00:00+01:00", 1+i))}
				if i%4 == 0 {
					ws = append(ws, cov(fmt.Sprintf("c%02d", i), "pA", "7119", "2026-01-01", ""))
				}
				if _, err := s.Commit(context.Background(), &ww.Commit{Writes: ws}); err != nil {
					errs <- err
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		r := waitRec(t, s, "s1")
		if len(r.Appts) != n {
			t.Fatalf("%d holding appointments recorded, want %d (a lost update)", len(r.Appts), n)
		}
		if len(r.Cov) != n/4 {
			t.Fatalf("%d coverages on the wait, want %d", len(r.Cov), n/4)
		}
		if h, _ := r.Hold(); h.ID != "a00" {
			t.Errorf("hold %s, want the earliest a00", h.ID)
		}
	})
}

func TestScanWaitsOrderAndPaging(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		var ws []ww.Write
		ws = append(ws, pat("p", "999911120", "6525 GA", true), cov("c", "p", "7119", "2020-01-01", ""))
		rng := rand.New(rand.NewPCG(3, 4))
		type w struct {
			id           string
			excess, wait int
		}
		var want []w
		asOf := 20450 // 2025-12-28
		perm := rng.Perm(1000)
		for i := 0; i < 120; i++ {
			id := fmt.Sprintf("w%03d", perm[i])
			kinds := []string{"outpatient", "treatment-inpatient"}
			k := kinds[i%2]
			norm := map[string]int{"outpatient": 28, "treatment-inpatient": 49}[k]
			authored := asOf - rng.IntN(90)
			d := mediation.Day(authored)
			x := srw(id, "active", "p", k, "0305", d.String())
			ws = append(ws, x)
			wait := asOf - authored
			if i%3 == 0 {
				start := d + mediation.Day(rng.IntN(120))
				ws = append(ws, apw("ap"+id, id, "booked", start.String()+"T10:00:00+01:00"))
				wait = int(start) - authored
			}
			// later writes of the same id win
			for j := range want {
				if want[j].id == id {
					want = append(want[:j], want[j+1:]...)
					break
				}
			}
			want = append(want, w{id, wait - norm, wait})
		}
		// Appointments of ids rewritten without one must go: rebuild from
		// scratch per id instead — write everything, then read back.
		commitAll(t, s, ws...)
		// Recompute from the records themselves (naive): evaluate every wait.
		var all []w
		var ids []string
		for _, x := range want {
			ids = append(ids, x.id)
		}
		recs, _ := s.Waits(context.Background(), ids)
		for i, r := range recs {
			ev := mediation.Evaluate(r, mediation.Day(asOf), mediation.DefaultNorms(), 14)
			all = append(all, w{want[i].id, ev.ExcessDays, ev.WaitDays})
		}
		sort.Slice(all, func(i, j int) bool {
			a, b := all[i], all[j]
			if a.excess != b.excess {
				return a.excess > b.excess
			}
			if a.wait != b.wait {
				return a.wait > b.wait
			}
			return a.id < b.id
		})
		var streams []mediation.WaitStream
		for _, k := range []struct {
			kind string
			norm int64
		}{{"outpatient", 28}, {"treatment-inpatient", 49}} {
			streams = append(streams,
				mediation.WaitStream{Family: mediation.FamilyLongWaits, Parts: []string{"7119", "0305", k.kind, "u"}, Lo: math.MinInt32, Hi: int64(asOf), C: int64(asOf) - k.norm, Norm: k.norm},
				mediation.WaitStream{Family: mediation.FamilyLongWaits, Parts: []string{"7119", "0305", k.kind, "b"}, Lo: math.MinInt32, Hi: math.MaxInt32, C: -k.norm, Norm: k.norm})
		}
		var got []w
		var after *mediation.WaitCursor
		for pages := 0; pages < 100; pages++ {
			pg, err := s.ScanWaits(context.Background(), &mediation.WaitScan{Streams: streams, Limit: 7, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range pg.Hits {
				got = append(got, w{h.ID, h.Excess, h.Wait})
			}
			if pg.Next == nil {
				break
			}
			after = pg.Next
		}
		if fmt.Sprint(got) != fmt.Sprint(all) {
			t.Fatalf("paged merge differs from the naive order:\n got %v\nwant %v", got, all)
		}
		counts, err := s.CountWaits(context.Background(), streams)
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, c := range counts {
			total += c
		}
		if int(total) != len(all) {
			t.Errorf("CountWaits %d, want %d", total, len(all))
		}
	})
}

func TestFreeSlotIndex(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		slot := func(id, sched, status, start, spec string) ww.Write {
			sp := ""
			if spec != "" {
				sp = fmt.Sprintf(`,"specialty":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":%q}]}]`, spec)
			}
			return ww.Write{Op: ww.OpUpdate, Type: "Slot", ID: id, JSON: []byte(fmt.Sprintf(`{"resourceType":"Slot","schedule":{"reference":"Schedule/%s"},"status":%q,"start":%q,"end":%q%s}`, sched, status, start, start, sp))}
		}
		var ws []ww.Write
		for i := 0; i < 30; i++ {
			ws = append(ws, slot(fmt.Sprintf("s%02d", i), "sch-a", "free", fmt.Sprintf("2026-12-%02dT09:00:00+01:00", 1+i%20), "0305"))
		}
		ws = append(ws, slot("busy", "sch-a", "busy", "2026-12-01T08:00:00+01:00", "0305"), slot("plain", "sch-b", "free", "2026-12-01T08:00:00+01:00", ""))
		commitAll(t, s, ws...)
		keys, err := s.FreeSlotKeys(ctx)
		if err != nil || strings.Join(keys, ",") != "sch-a|0305,sch-b|-" {
			t.Fatalf("keys %v %v", keys, err)
		}
		from := mediation.Day(20423).Start().UnixMilli() // 2025-12-01… well before
		to := int64(math.MaxInt64 / 2)
		r := mediation.SlotRange{Schedule: "sch-a", Specialism: "0305", From: from, To: to, Limit: 7}
		var got []string
		for pages := 0; pages < 10; pages++ {
			hits, err := s.FreeSlots(ctx, []mediation.SlotRange{r})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits[0] {
				got = append(got, h.ID)
			}
			if len(hits[0]) < r.Limit {
				break
			}
			last := hits[0][len(hits[0])-1]
			r.AfterStart, r.AfterID = last.Start, last.ID
		}
		var want []string
		for d := 1; d <= 20; d++ {
			for i := 0; i < 30; i++ {
				if 1+i%20 == d {
					want = append(want, fmt.Sprintf("s%02d", i))
				}
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("paged free slots\n got %v\nwant %v", got, want)
		}
		n, _ := s.CountFreeSlots(ctx, []mediation.SlotRange{{Schedule: "sch-a", Specialism: "0305", From: from, To: to}})
		if n[0] != 30 {
			t.Fatalf("count %d", n[0])
		}
		// Ten slots at the same start (parallel rooms), paged three at a time.
		var same []ww.Write
		for i := 0; i < 10; i++ {
			same = append(same, slot(fmt.Sprintf("t%d", i), "sch-c", "free", "2026-12-01T09:00:00+01:00", "0305"))
		}
		commitAll(t, s, same...)
		r = mediation.SlotRange{Schedule: "sch-c", Specialism: "0305", From: from, To: to, Limit: 3}
		got = got[:0]
		for pages := 0; pages < 10; pages++ {
			hits, _ := s.FreeSlots(ctx, []mediation.SlotRange{r})
			for _, h := range hits[0] {
				got = append(got, h.ID)
			}
			if len(hits[0]) < r.Limit {
				break
			}
			r.AfterStart, r.AfterID = hits[0][len(hits[0])-1].Start, hits[0][len(hits[0])-1].ID
		}
		if strings.Join(got, ",") != "t0,t1,t2,t3,t4,t5,t6,t7,t8,t9" {
			t.Fatalf("paging through equal starts: %v", got)
		}
		// The start order of every free slot, paged through equal starts.
		var all []string
		var as int64
		var aid string
		for pages := 0; pages < 30; pages++ {
			hits, done, err := s.ScanFreeSlots(ctx, &mediation.FreeScan{Specs: []string{"*"}, From: from, To: to, AfterStart: as, AfterID: aid, Limit: 4})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range hits {
				all = append(all, h.ID+"@"+h.Schedule)
			}
			if !done || len(hits) < 4 {
				break
			}
			as, aid = hits[len(hits)-1].Start, hits[len(hits)-1].ID
		}
		want = want[:0]
		want = append(want, "plain@sch-b")
		for _, id := range []string{"s00", "s20", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"} {
			sched := "sch-a"
			if id[0] == 't' {
				sched = "sch-c"
			}
			want = append(want, id+"@"+sched)
		}
		if len(all) != 41 || strings.Join(all[:13], ",") != strings.Join(want, ",") {
			t.Fatalf("scan of every free slot (%d):\n got %v\nwant %v…", len(all), all[:min(13, len(all))], want)
		}
		hits, _, _ := s.ScanFreeSlots(ctx, &mediation.FreeScan{Specs: []string{"-"}, From: from, To: to, Limit: 10,
			Accept: func(h *mediation.SlotHit) bool { return h.Schedule == "sch-b" && h.Spec == "-" }})
		if len(hits) != 1 || hits[0].ID != "plain" {
			t.Fatalf("slots without own specialism: %v", hits)
		}
		// Booking a slot takes it out; freeing it puts it back.
		commitAll(t, s, slot("s00", "sch-a", "busy", "2026-12-01T09:00:00+01:00", "0305"))
		if n, _ := s.CountFreeSlots(ctx, []mediation.SlotRange{{Schedule: "sch-a", Specialism: "0305", From: from, To: to}}); n[0] != 29 {
			t.Fatalf("after booking: %d", n[0])
		}
	})
}

// Waits authored the same day whose ids share their first four bytes have
// equal scores: a long run of them must page without loss or repetition.
func TestScanWaitsThroughALongRunOfEqualScores(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		const n = 1200
		commitAll(t, s, pat("p", "999911120", "6525 GA", true))
		var ws []ww.Write
		for i := 0; i < n; i++ {
			ws = append(ws, srw(fmt.Sprintf("sr-0%05d", i), "active", "p", "outpatient", "0305", "2026-01-05"))
			if len(ws) == 200 {
				commitAll(t, s, ws...)
				ws = ws[:0]
			}
		}
		asOf := int64(20500)
		st := []mediation.WaitStream{{Family: mediation.FamilyLongWaits, Parts: []string{"*", "0305", "outpatient", "u"}, Lo: math.MinInt32, Hi: asOf, C: asOf - 28, Norm: 28}}
		var got []string
		var after *mediation.WaitCursor
		for pages := 0; pages < 20; pages++ {
			pg, err := s.ScanWaits(context.Background(), &mediation.WaitScan{Streams: st, Limit: 500, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range pg.Hits {
				got = append(got, h.ID)
			}
			if pg.Next == nil {
				break
			}
			after = pg.Next
		}
		if len(got) != n {
			t.Fatalf("%d waits paged, want %d", len(got), n)
		}
		for i, id := range got {
			if id != fmt.Sprintf("sr-0%05d", i) {
				t.Fatalf("position %d holds %s", i, id)
			}
		}
	})
}

func TestCoverageOfNoPatientMakesNoMember(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		w := ww.Write{Op: ww.OpUpdate, Type: "Coverage", ID: "c-rp", JSON: []byte(`{"resourceType":"Coverage","status":"active","beneficiary":{"reference":"RelatedPerson/rp1"},"payor":[{"identifier":{"system":"http://fhir.nl/fhir/NamingSystem/uzovi","value":"7119"}}]}`)}
		commitAll(t, s, w)
		recs, err := s.readRecords(context.Background(), projMember, []string{"p-", "p-rp1"})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range recs {
			if r != nil {
				t.Fatalf("member record %d written for a Coverage of a RelatedPerson: %s", i, r.json)
			}
		}
	})
}

// TestQuietPatientCreate covers the skip rule of quietPatients: a Patient
// created with nothing filed under "p-<id>" reads and checks only that
// member; one whose Coverage and wait came first (or come back after a
// delete) must not skip and moves them to its BSN's member.
func TestQuietPatientCreate(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const bsn = "999911120"
		mk := ww.MemberKey(s.DeploymentKey(), bsn)
		commitAll(t, s, pat("pM", bsn, "6525 GA", true), srw("sM", "active", "pM", "outpatient", "0305", "2026-10-01"))
		// The lines of pN arrive before pN: they wait under p-pN.
		commitAll(t, s, cov("c9", "pN", "7119", "2026-01-01", ""), srw("s9", "active", "pN", "treatment", "0301", "2026-09-01"))
		if r := waitRec(t, s, "s9"); r.Member != "p-pN" || covIDs(r) != "c9" {
			t.Fatalf("before its Patient, s9 is %+v", r)
		}
		create := func(id string) {
			t.Helper()
			w := pat(id, bsn, "3511AB", false)
			w.Op = ww.OpCreate
			commitAll(t, s, w)
		}
		check := func(when string) {
			t.Helper()
			r9, rM := waitRec(t, s, "s9"), waitRec(t, s, "sM")
			if r9.Member != mk || covIDs(r9) != "c9" || r9.Home == nil || r9.Home.Region != "NL-UT" {
				t.Fatalf("%s: s9 is %+v", when, r9)
			}
			if rM.Member != mk || covIDs(rM) != "c9" {
				t.Fatalf("%s: sM does not see the coverage of its member: %+v", when, rM)
			}
		}
		create("pN")
		check("after the create")
		// Deleted, the lines go back under p-pN; created again (an update
		// of the deleted one), they return.
		commitAll(t, s, ww.Write{Op: ww.OpDelete, Type: "Patient", ID: "pN"})
		if r := waitRec(t, s, "s9"); r.Member != "p-pN" || covIDs(r) != "c9" {
			t.Fatalf("after the delete, s9 is %+v", r)
		}
		if r := waitRec(t, s, "sM"); covIDs(r) != "" {
			t.Fatalf("after the delete, sM still has %s", covIDs(r))
		}
		commitAll(t, s, pat("pN", bsn, "3511AB", false))
		check("after the re-create")

		// A quiet create: only "p-pQ" is read and checked, nothing written
		// besides the Patient.
		w := pat("pQ", bsn, "3511AB", false)
		w.Op = ww.OpCreate
		plans, err := s.plan(ctx, []ww.Write{w}, true)
		if err != nil {
			t.Fatal(err)
		}
		plans, err = s.project(ctx, plans)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, pl := range plans[1:] {
			got = append(got, fmt.Sprintf("%s/%s write=%v", pl.w.Type, pl.w.ID, pl.write))
		}
		if strings.Join(got, ";") != "Member/p-pQ write=false" {
			t.Fatalf("a quiet Patient create plans %v", got)
		}
		create("pQ")
		check("after a quiet create")

		// A Patient without a BSN whose wait came first stays under p-pZ
		// and gives the wait its home.
		commitAll(t, s, srw("sZ", "active", "pZ", "treatment", "0301", "2026-09-01"))
		z := pat("pZ", "", "3511AB", false)
		z.Op = ww.OpCreate
		commitAll(t, s, z)
		if r := waitRec(t, s, "sZ"); r.Member != "p-pZ" || r.Home == nil || r.Home.Region != "NL-UT" {
			t.Fatalf("after the create of pZ, sZ is %+v", r)
		}
	})
}

// TestWaitEntriesOfRecord checks that the entries projWrite computes from
// the record equal those of its JSON (what reindex and the old version's
// diff decode), with characters JSON escapes and empty slices.
func TestWaitEntriesOfRecord(t *testing.T) {
	s := openStore(t, redistest.Shared(t).Client(t))
	r := mediation.WaitRecord{
		SR:    &mediation.WaitFacts{Status: "active", Patient: "p<1>", Authored: 20300, Kind: "out&patient", Specialism: "03é5"},
		Appts: []mediation.ApptFact{{ID: "a1", Status: "booked", Start: "2026-12-10T09:00:00+01:00", Day: 20400}},
		Home:  &mediation.Home{PC4: "6525", Region: "NL-GE"},
		Cov:   []mediation.CoverageFact{{ID: "c1", Status: "active", UZOVI: "7119", From: 20000, To: mediation.NoDay}},
	}
	for _, rec := range []mediation.WaitRecord{r, {SR: r.SR, Appts: []mediation.ApptFact{}, Cov: []mediation.CoverageFact{}}} {
		body, err := json.Marshal(&rec)
		if err != nil {
			t.Fatal(err)
		}
		a, b := s.waitEntries("s1", &rec), s.projectionEntries(projWait, "s1", body)
		if len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Fatalf("entries of the record:\n%v\nof its JSON:\n%v", a, b)
		}
	}
}
