package redisstore

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

// finishDateOracle is finishDate's window computation as first written,
// with maps keyed by window kind: the oracle for the slice-indexed version.
func finishDateOracle(f *filter) {
	kinds := []string{"n", "oe", "os", "all"}
	widths := map[string]int64{"n": maxNarrowWidth}
	if f.wide {
		for b := 1; b <= wideKinds; b++ {
			k := "b" + strconv.Itoa(b)
			kinds = append(kinds, k)
			widths[k] = wideWidth(k)
		}
	}
	acc := map[string]window{}
	for _, k := range kinds {
		acc[k] = fullWindow
	}
	for _, alts := range f.conds {
		clause := map[string]*window{}
		for _, c := range alts {
			op, slo, shi := c[0].(string), c[1].(int64), c[2].(int64)
			oe, os, all := openWindows(op, slo, shi)
			ws := map[string]window{"oe": oe, "os": os, "all": all}
			for k, w := range widths {
				ws[k] = dateWindows(op, slo, shi, w)
			}
			for k, w := range ws {
				if clause[k] == nil {
					w := w
					clause[k] = &w
				} else {
					*clause[k] = clause[k].or(w)
				}
			}
		}
		for k, w := range clause {
			if _, ok := acc[k]; ok {
				acc[k] = acc[k].and(*w)
			}
		}
	}
	f.a, f.b = acc["n"].bounds()
	if f.wide {
		f.wwin = map[string][2]string{}
		for _, k := range kinds[1:] {
			a, b := acc[k].bounds()
			f.wwin[k] = [2]string{a, b}
		}
	}
}

// TestFinishDateAgreesWithMaps: the scan windows of random date conditions
// (ANDs of ORs of every prefix, narrow and wide) are what the map-keyed
// computation gives.
func TestFinishDateAgreesWithMaps(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	ops := []string{"eq", "ap", "gt", "lt", "ge", "le", "sa", "eb"}
	for i := range 5000 {
		var conds [][][]any
		for range r.IntN(4) {
			var alts [][]any
			for range r.IntN(4) {
				lo := int64(r.IntN(1<<40)) - 1<<39
				alts = append(alts, []any{ops[r.IntN(len(ops))], lo, lo + int64(r.IntN(1<<34))})
			}
			conds = append(conds, alts)
		}
		wide := r.IntN(2) == 0
		got := &filter{describe: "date", conds: conds, wide: wide}
		want := &filter{describe: "date", conds: conds, wide: wide}
		finishDate(got)
		finishDateOracle(want)
		if got.a != want.a || got.b != want.b || !reflect.DeepEqual(got.wwin, want.wwin) {
			t.Fatalf("case %d %v (wide %v): got %s %s %v, want %s %s %v", i, conds, wide,
				got.a, got.b, got.wwin, want.a, want.b, want.wwin)
		}
	}
}

// BenchmarkSearchPlan is the Go side of planning one search (a) page over
// 16 shards: the plan, each shard's part, the shared parts and the JSON the
// script decodes (no Redis round trip: the script's cost is
// BenchmarkSearchShapes').
func BenchmarkSearchPlan(b *testing.B) {
	ctx := context.Background()
	c := redistest.Shared(b).Client(b)
	s, err := Open(ctx, Options{Client: c, Prefix: redistest.Prefix(b), Clock: &ww.FixedClock{T: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}})
	if err != nil {
		b.Fatal(err)
	}
	q := &ww.Query{Type: "Appointment", Count: 50, Clauses: []ww.Clause{
		{Param: "date", Values: []string{"ge2026-12-04"}}, {Param: "date", Values: []string{"lt2026-12-11"}},
		{Param: "status", Values: []string{"booked"}}, {Param: "actor", Values: []string{"Practitioner/t7x35lnq2cscq7w5"}}}}
	shards := make([]int, s.keys.shards)
	for i := range shards {
		shards[i] = i
	}
	b.ReportAllocs()
	size := 0
	for b.Loop() {
		p, err := s.planQuery(ctx, q, q.Clauses, 0)
		if err != nil {
			b.Fatal(err)
		}
		a := newArgv()
		body, err := appendPlan(nil, s.callPlan(a, p, func(int) shardOpts { return shardOpts{mode: "page", count: 51} }, shards, jobj{{"merge", true}, {"est", false}}))
		if err != nil {
			b.Fatal(err)
		}
		size = len(body)
	}
	b.ReportMetric(float64(size), "plan-bytes")
}
