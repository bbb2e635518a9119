package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// genShapeAppointment is an Appointment for the search (a) differential
// test: a few statuses, one or two practitioners, a patient and a location,
// a start over three weeks around a DST-free December (second and
// millisecond precision, several offsets), none for some proposed and
// waitlist ones.
func genShapeAppointment(r *rand.Rand, i int) map[string]any {
	status := []string{"booked", "booked", "booked", "fulfilled", "cancelled", "noshow", "pending", "proposed", "waitlist"}[r.IntN(9)]
	a := map[string]any{"resourceType": "Appointment", "id": fmt.Sprintf("sa%03d", i), "status": status}
	parts := []any{map[string]any{"status": "accepted", "actor": map[string]any{"reference": fmt.Sprintf("Patient/p%02d", r.IntN(30))}}}
	for n := r.IntN(3); n > 0; n-- {
		parts = append(parts, map[string]any{"status": "accepted", "actor": map[string]any{"reference": fmt.Sprintf("Practitioner/dr%d", r.IntN(5))}})
	}
	if r.IntN(2) == 0 {
		parts = append(parts, map[string]any{"status": "accepted", "actor": map[string]any{"reference": fmt.Sprintf("Location/l%d", r.IntN(3))}})
	}
	a["participant"] = parts
	if !((status == "proposed" || status == "waitlist") && r.IntN(2) == 0) {
		t := time.Date(2026, 11, 20, 7, 0, 0, 0, amsLoc).Add(time.Duration(r.IntN(21*24*4)) * 15 * time.Minute)
		switch r.IntN(3) {
		case 0:
			a["start"] = t.UTC().Format("2006-01-02T15:04:05Z")
		case 1:
			a["start"] = t.Format("2006-01-02T15:04:05-07:00")
		default:
			a["start"] = t.Add(time.Duration(r.IntN(1000)) * time.Millisecond).Format("2006-01-02T15:04:05.000-07:00")
		}
	}
	return a
}

// shapeAQuery is a random search of shape (a): a date window (ge/lt, eq a
// day, ge or gt alone, le, or none), a status or list of statuses (or none), and an
// actor (Practitioner, Patient or Location; by actor or practitioner, one
// or two values), sorted by _lastUpdated, date or -date.
func shapeAQuery(r *rand.Rand) *ww.Query {
	day := time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(24))
	d := day.Format("2006-01-02")
	var cls []ww.Clause
	switch r.IntN(7) {
	case 0, 1, 2:
		cls = append(cls, ww.Clause{Param: "date", Values: []string{"ge" + d}}, ww.Clause{Param: "date", Values: []string{"lt" + day.AddDate(0, 0, 1+r.IntN(8)).Format("2006-01-02")}})
	case 3:
		cls = append(cls, ww.Clause{Param: "date", Values: []string{d}})
	case 4:
		cls = append(cls, ww.Clause{Param: "date", Values: []string{[]string{"ge", "gt"}[r.IntN(2)] + d + fmt.Sprintf("T%02d:00:00Z", r.IntN(24))}})
	case 5:
		cls = append(cls, ww.Clause{Param: "date", Values: []string{"le" + d}})
	}
	st := [][]string{{"booked"}, {"booked"}, {"booked", "pending"}, {"fulfilled", "booked", "noshow"}, {"proposed"}, {"waitlist", "proposed"}}[r.IntN(6)]
	if r.IntN(7) > 0 {
		cls = append(cls, ww.Clause{Param: "status", Values: st})
	}
	dr := func() string { return fmt.Sprintf("dr%d", r.IntN(6)) } // dr5 has no appointments
	switch r.IntN(8) {
	case 0, 1, 2:
		cls = append(cls, ww.Clause{Param: "actor", Values: []string{"Practitioner/" + dr()}})
	case 3:
		cls = append(cls, ww.Clause{Param: "actor", Values: []string{"Practitioner/" + dr(), "Practitioner/" + dr()}})
	case 4:
		cls = append(cls, ww.Clause{Param: "practitioner", Values: []string{[]string{"", "Practitioner/"}[r.IntN(2)] + dr()}})
	case 5:
		cls = append(cls, ww.Clause{Param: "actor", Values: []string{fmt.Sprintf("Patient/p%02d", r.IntN(30))}})
	case 6:
		cls = append(cls, ww.Clause{Param: "actor", Values: []string{fmt.Sprintf("Location/l%d", r.IntN(3))}})
	default:
		cls = append(cls, ww.Clause{Param: "actor", Values: []string{"Practitioner/" + dr(), fmt.Sprintf("Location/l%d", r.IntN(3))}})
	}
	r.Shuffle(len(cls), func(i, j int) { cls[i], cls[j] = cls[j], cls[i] })
	q := &ww.Query{Type: "Appointment", Clauses: cls}
	switch r.IntN(3) {
	case 1:
		q.Sort = []ww.SortKey{{Param: "date"}}
	case 2:
		q.Sort = []ww.SortKey{{Param: "date", Descending: true}}
	}
	return q
}

// TestShapeASearchAgreesWithNaiveEvaluator pages random searches of shape
// (a) (Appointment by date window, status and actor: the
// practitioner compound index where it applies, the single indexes
// elsewhere) with random page sizes and compares them with the naive
// evaluator, on default and lowered limits, before and after updates and
// deletes that move Appointments in and out of the compound index.
func TestShapeASearchAgreesWithNaiveEvaluator(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		r := rand.New(rand.NewPCG(17, 3))
		all := map[string]naiveRes{}
		load := func(m map[string]any) {
			b, _ := json.Marshal(m)
			res := write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Appointment", ID: m["id"].(string), JSON: b})
			s.clock.(*ww.FixedClock).Advance(time.Millisecond)
			var back map[string]any
			_ = json.Unmarshal(b, &back)
			all[res.Resource.ID] = naiveRes{typ: "Appointment", id: res.Resource.ID, m: back, lastMod: res.Resource.LastUpdated.UnixMilli()}
		}
		const n = 400
		for i := 0; i < n; i++ {
			load(genShapeAppointment(r, i))
		}
		small, err := Open(ctx, Options{Client: s.rdb, Prefix: s.keys.prefix, Clock: s.clock, Limits: smallLimits})
		if err != nil {
			t.Fatal(err)
		}
		cases := testSize(300, 3000)
		if s.cluster != nil {
			cases = testSize(100, 1000)
		}
		compound := 0
		for c := 0; c < cases; c++ {
			if c == cases/2 {
				// move a quarter: status, practitioners and start change; delete a few
				for i := 0; i < n/4; i++ {
					load(genShapeAppointment(r, r.IntN(n)))
				}
				for i := 0; i < 10; i++ {
					id := fmt.Sprintf("sa%03d", r.IntN(n))
					if _, ok := all[id]; ok {
						write(t, s, ww.Write{Op: ww.OpDelete, Type: "Appointment", ID: id})
						delete(all, id)
					}
				}
			}
			q := shapeAQuery(r)
			q.Explain = true
			list := make([]naiveRes, 0, len(all))
			for _, x := range all {
				list = append(list, x)
			}
			want := naiveSearch(list, q)
			store, which := s, "default limits"
			if c%2 == 1 {
				store, which = small, "small limits"
			}
			size := []int{1, 3, 7, 50}[r.IntN(4)]
			got, _ := pageAllWith(t, store, q, size, 500, func(page int, res *ww.SearchResult) {
				if page == 0 && strings.Contains(strings.Join(res.Plan, "\n"), "compound index ~c:practitioner") {
					compound++
				}
			})
			if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("case %d (%s, page size %d): %+v sort %v\n got %v\nwant %v", c, which, size, q.Clauses, q.Sort, got, want)
			}
		}
		if compound == 0 {
			t.Fatal("no search used the practitioner compound index")
		}
		t.Logf("%d shape (a) searches agree with the naive evaluator, %d through the compound index", cases, compound)
	})
}

// TestCompoundsOffUntilReindex: a store whose compound indexes were not
// built under this release's definitions (data written before they existed)
// answers from the plain indexes, exactly, and uses the compounds again
// once a reindex has built them.
func TestCompoundsOffUntilReindex(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if !s.CompoundsReady() {
			t.Fatal("a new layout does not use its compound indexes")
		}
		r := rand.New(rand.NewPCG(5, 8))
		for i := 0; i < 150; i++ {
			b, _ := json.Marshal(genShapeAppointment(r, i))
			write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Appointment", ID: fmt.Sprintf("sa%03d", i), JSON: b})
		}
		search := func(st *Store) ([]string, bool) {
			q := &ww.Query{Type: "Appointment", Count: 1000, Explain: true, Clauses: []ww.Clause{
				{Param: "actor", Values: []string{"Practitioner/dr1"}},
				{Param: "date", Values: []string{"ge2026-11-19"}}, {Param: "date", Values: []string{"lt2026-12-12"}}}}
			res, err := st.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, x := range res.Resources {
				ids = append(ids, x.ID)
			}
			return ids, strings.Contains(strings.Join(res.Plan, "\n"), "compound index ~c:practitioner")
		}
		want, used := search(s)
		if !used || len(want) == 0 {
			t.Fatalf("the compound answered %v, %d hits", used, len(want))
		}
		// the data as a release before the compound left it
		var stale []string
		if err := s.scanKeys(ctx, s.keys.prefix+"*~c:practitioner*", func(keys []string) error {
			stale = append(stale, keys...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, k := range stale {
			if err := s.rdb.Del(ctx, k).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if len(stale) == 0 || s.rdb.HSet(ctx, s.keys.layout(), layoutCompounds, "an-older-release").Err() != nil {
			t.Fatalf("%d compound keys", len(stale))
		}
		old, err := Open(ctx, Options{Client: s.rdb, Prefix: s.keys.prefix, Clock: s.clock})
		if err != nil {
			t.Fatal(err)
		}
		if old.CompoundsReady() {
			t.Fatal("compounds in use though not built")
		}
		if got, used := search(old); used || !reflect.DeepEqual(got, want) {
			t.Fatalf("before reindex: compound %v, got %v, want %v", used, got, want)
		}
		other, err := Open(ctx, Options{Client: s.rdb, Prefix: s.keys.prefix, Clock: s.clock})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.Reindex(ctx, ReindexOptions{Batch: 50}); err != nil {
			t.Fatal(err)
		}
		if got, used := search(old); !used || !reflect.DeepEqual(got, want) {
			t.Fatalf("after reindex: compound %v, got %v, want %v", used, got, want)
		}
		// another gateway learns of the reindex through its next write
		b, _ := json.Marshal(genShapeAppointment(r, 149))
		write(t, other, ww.Write{Op: ww.OpUpdate, Type: "Appointment", ID: "sa149", JSON: b})
		if !other.CompoundsReady() {
			t.Fatal("a gateway that wrote after the reindex still ignores the compounds")
		}
	})
}
