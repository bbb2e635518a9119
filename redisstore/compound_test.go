package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// compoundSystems are the service-type systems of the generated Slots.
var compoundSystems = []string{"urn:oid:2.16.840.1.113883.2.4.6.7", "http://example.org/services"}

func genSlot(r *rand.Rand, i int) map[string]any {
	base := time.Date(2026, 12, 1, 8, 0, 0, 0, amsLoc)
	// few distinct minutes, so many Slots share a start (ties by id)
	start := base.Add(time.Duration(r.IntN(6*24*4)) * 15 * time.Minute)
	var codings []any
	for n := 1 + r.IntN(2); n > 0; n-- {
		codings = append(codings, map[string]any{"system": compoundSystems[r.IntN(2)], "code": fmt.Sprintf("03%02d", r.IntN(4))})
	}
	status := []string{"free", "free", "busy", "busy-unavailable"}[r.IntN(4)]
	return map[string]any{"resourceType": "Slot", "id": fmt.Sprintf("s%03d", i), "status": status,
		"schedule":    map[string]any{"reference": "Schedule/sc" + fmt.Sprint(r.IntN(5))},
		"serviceType": []any{map[string]any{"coding": codings}},
		"start":       start.Format("2006-01-02T15:04:05-07:00"), "end": start.Add(15 * time.Minute).Format("2006-01-02T15:04:05-07:00")}
}

// naiveSlots evaluates status, service-type and start clauses on Slots and
// orders by start (lower bound), then id.
func naiveSlots(all []map[string]any, q *ww.Query) []string {
	type hit struct {
		id string
		lo int64
	}
	var hits []hit
	for _, m := range all {
		lo, hi, _ := naiveRange(m["start"].(string))
		ok := true
		for _, cl := range q.Clauses {
			hitv := false
			for _, v := range cl.Values {
				switch cl.Param {
				case "status":
					hitv = hitv || m["status"] == v
				case "service-type":
					sys, code, hasSys := strings.Cut(v, "|")
					if !hasSys {
						sys, code = "", v
					}
					for _, st := range asList(m["serviceType"]) {
						for _, c := range asList(st.(map[string]any)["coding"]) {
							cm := c.(map[string]any)
							hitv = hitv || (cm["code"] == code && (!hasSys || cm["system"] == sys))
						}
					}
				case "start":
					slo, shi, _ := naiveRange(v[2:])
					hitv = hitv || naiveDate(v[:2], slo, shi, lo, hi)
				}
			}
			ok = ok && hitv
		}
		if ok {
			hits = append(hits, hit{m["id"].(string), lo})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].lo != hits[j].lo {
			return hits[i].lo < hits[j].lo
		}
		return hits[i].id < hits[j].id
	})
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.id
	}
	return out
}

// TestCompoundSlotSearchAgreesWithNaiveEvaluator pages random
// Slot?status&service-type&start&_sort=start searches (the compound index's
// shape: a merged walk across shards on standalone Redis, per-shard walks
// or collection on a Cluster and with small limits) and compares them with
// a naive evaluator, before and after updates that move Slots in and out
// of the compound index.
func TestCompoundSlotSearchAgreesWithNaiveEvaluator(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		r := rand.New(rand.NewPCG(5, 11))
		all := map[string]map[string]any{}
		load := func(m map[string]any) {
			b, _ := json.Marshal(m)
			write(t, s, ww.Write{Op: ww.OpUpdate, Type: "Slot", ID: m["id"].(string), JSON: b})
			all[m["id"].(string)] = m
		}
		for i := 0; i < 400; i++ {
			load(genSlot(r, i))
		}
		small, err := Open(ctx, Options{Client: s.rdb, Prefix: s.keys.prefix, Clock: s.clock, Limits: smallLimits})
		if err != nil {
			t.Fatal(err)
		}
		merged := 0
		for c := 0; c < testSize(160, 2000); c++ {
			if c == 80 {
				// move a quarter of the Slots: status, codes and starts change
				for i := 0; i < 100; i++ {
					m := genSlot(r, r.IntN(400))
					load(m)
				}
			}
			cls := []ww.Clause{{Param: "status", Values: []string{[]string{"free", "busy"}[r.IntN(2)]}}}
			code := fmt.Sprintf("03%02d", r.IntN(4))
			st := code
			if r.IntN(3) > 0 {
				st = compoundSystems[r.IntN(2)] + "|" + code
			}
			cls = append(cls, ww.Clause{Param: "service-type", Values: []string{st}})
			day := 1 + r.IntN(6)
			switch r.IntN(4) {
			case 0:
				cls = append(cls, ww.Clause{Param: "start", Values: []string{fmt.Sprintf("ge2026-12-%02d", day)}})
			case 1:
				cls = append(cls, ww.Clause{Param: "start", Values: []string{fmt.Sprintf("ge2026-12-%02dT%02d:30", day, r.IntN(24))}},
					ww.Clause{Param: "start", Values: []string{fmt.Sprintf("lt2026-12-%02d", day+1+r.IntN(3))}})
			case 2:
				cls = append(cls, ww.Clause{Param: "start", Values: []string{fmt.Sprintf("gt2026-12-%02dT%02d:00", day, r.IntN(24))}})
			}
			q := &ww.Query{Type: "Slot", Clauses: cls, Sort: []ww.SortKey{{Param: "start"}}, Explain: true}
			want := naiveSlotsOf(all, q)
			store, which := s, "default limits"
			if c%2 == 1 {
				store, which = small, "small limits"
			}
			size := []int{1, 3, 7, 20}[r.IntN(4)]
			got, _ := pageAllWith(t, store, q, size, 500, func(_ int, res *ww.SearchResult) {
				if strings.Contains(strings.Join(res.Plan, "\n"), "merge×") {
					merged++
				}
			})
			if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("case %d (%s, page size %d): %+v\n got %v\nwant %v", c, which, size, cls, got, want)
			}
		}
		if s.cluster == nil && merged == 0 {
			t.Fatal("no search took the merged compound walk")
		}
		if s.cluster != nil && merged != 0 {
			t.Fatal("a Cluster search took the merged walk (its shards live on different nodes)")
		}
	})
}

func naiveSlotsOf(all map[string]map[string]any, q *ww.Query) []string {
	ms := make([]map[string]any, 0, len(all))
	for _, m := range all {
		ms = append(ms, m)
	}
	return naiveSlots(ms, q)
}
