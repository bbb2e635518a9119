package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	ww "github.com/wachtwijzer/wachtwijzer"
)

func apptJSON(id, status string, day int) []byte {
	return []byte(fmt.Sprintf(`{"resourceType":"Appointment","id":%q,"status":%q,"start":"2026-12-%02dT09:00:00+01:00","end":"2026-12-%02dT09:30:00+01:00","requestedPeriod":[{"start":"2026-11-%02d","end":"2027-01-15"}],"participant":[{"status":"accepted","actor":{"reference":"Patient/p%d"}}]}`, id, status, day, day, day, day%7))
}

// countGenKeys counts the index keys of generation g.
func countGenKeys(t *testing.T, s *Store, g int) int {
	t.Helper()
	n := 0
	err := s.scanKeys(context.Background(), s.keys.genPattern(g), func(keys []string) error {
		n += len(keys)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Reindex while a writer (creates, updates, deletes) and readers run on
// another gateway's store: afterwards every search is right, the other
// gateway has switched generations on its own and the old keys are gone.
func TestReindexWhileWritingAndReading(t *testing.T) {
	backends(t, func(t *testing.T, a *Store) {
		ctx := context.Background()
		b, err := Open(ctx, Options{Client: a.rdb, Prefix: a.keys.prefix, Clock: a.clock})
		if err != nil {
			t.Fatal(err)
		}
		statuses := []string{"booked", "waitlist", "cancelled"}
		truth := map[string]string{} // id → status ("" deleted)
		var mu sync.Mutex
		n := testSize(200, 2000)
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("r%04d", i)
			st := statuses[i%3]
			write(t, a, ww.Write{Op: ww.OpUpdate, Type: "Appointment", ID: id, JSON: apptJSON(id, st, 1+i%28)})
			truth[id] = st
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		wg.Add(1)
		go func() { // the writer, on gateway b
			defer wg.Done()
			r := rand.New(rand.NewPCG(1, 2))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("r%04d", r.IntN(n+n/4))
				w := ww.Write{Type: "Appointment", ID: id}
				st := statuses[r.IntN(3)]
				if r.IntN(5) == 0 {
					w.Op = ww.OpDelete
					st = ""
				} else {
					w.Op, w.JSON = ww.OpUpdate, apptJSON(id, st, 1+r.IntN(28))
				}
				if _, err := b.Commit(ctx, &ww.Commit{Writes: []ww.Write{w}}); err != nil {
					errs <- fmt.Errorf("write %s: %w", id, err)
					return
				}
				mu.Lock()
				truth[id] = st
				mu.Unlock()
			}
		}()
		for k := 0; k < 2; k++ {
			wg.Add(1)
			go func(k int) { // readers, on gateway b
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					q := &ww.Query{Type: "Appointment", Clauses: []ww.Clause{{Param: "status", Values: []string{statuses[k]}}}, Count: 50, Sort: []ww.SortKey{{Param: "date"}}}
					res, err := b.Search(ctx, q)
					if err != nil {
						errs <- fmt.Errorf("search during reindex: %w", err)
						return
					}
					for _, r := range res.Resources {
						var m map[string]any
						_ = json.Unmarshal(r.JSON, &m)
						if m["status"] != statuses[k] && !strings.Contains(string(r.JSON), statuses[k]) {
							// the resource changed after the index answered: allowed
							continue
						}
					}
				}
			}(k)
		}
		var phases []string
		res, err := a.Reindex(ctx, ReindexOptions{Batch: 50, AfterBuild: func(ctx context.Context) error {
			// Gateway b has not heard of the build: its write fails the
			// fence guard, re-reads the fence and lands in both generations.
			if _, err := b.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpUpdate, Type: "Appointment", ID: "fresh", JSON: apptJSON("fresh", "booked", 5)}}}); err != nil {
				return err
			}
			mu.Lock()
			truth["fresh"] = "booked"
			mu.Unlock()
			if g := b.writeGens("Appointment", b.keys.shard("fresh")); len(g) != 2 {
				return fmt.Errorf("gateway b writes generations %v during the build", g)
			}
			return nil
		}, Progress: func(phase string, total int64, done int) {
			if len(phases) == 0 || phases[len(phases)-1] != phase {
				phases = append(phases, phase)
			}
		}})
		time.Sleep(50 * time.Millisecond) // let the writer and readers run on the new generation
		close(stop)
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Fatal(e)
		}
		if err != nil {
			t.Fatal(err)
		}
		if res.From != 1 || res.To != 2 || res.Resources < int64(n/2) {
			t.Fatalf("reindex result %+v", res)
		}
		if strings.Join(phases, ",") != "build,delete" {
			t.Fatalf("progress phases %v", phases)
		}
		if left := countGenKeys(t, a, 1); left != 0 {
			t.Fatalf("%d keys of generation 1 left", left)
		}
		if countGenKeys(t, a, 2) == 0 {
			t.Fatal("no keys of generation 2")
		}
		// Both gateways answer from generation 2, exactly.
		for _, s := range []*Store{a, b} {
			for _, st := range statuses {
				var want []string
				for id, x := range truth {
					if x == st {
						want = append(want, id)
					}
				}
				sort.Strings(want)
				q := &ww.Query{Type: "Appointment", Clauses: []ww.Clause{{Param: "status", Values: []string{st}}}, Count: 1000, Sort: []ww.SortKey{{Param: "_id"}}, Total: ww.TotalAccurate}
				got, err := s.Search(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, r := range got.Resources {
					ids = append(ids, r.ID)
				}
				if strings.Join(ids, ",") != strings.Join(want, ",") || got.Total != len(want) {
					t.Fatalf("status=%s after the reindex: got %d %v, want %d", st, got.Total, len(ids), len(want))
				}
			}
			// a wide-value (requestedPeriod) query through the new generation
			q := &ww.Query{Type: "Appointment", Clauses: []ww.Clause{{Param: "requested-period", Values: []string{"ge2026-12-31"}}, {Param: "requested-period", Values: []string{"le2026-12-31"}}}, Count: 1000}
			got, err := s.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			live := 0
			for _, x := range truth {
				if x != "" {
					live++
				}
			}
			if len(got.Resources) != live {
				t.Fatalf("requested-period over generation 2: %d of %d", len(got.Resources), live)
			}
		}
		if a.Generation() != 2 || b.Generation() != 2 {
			t.Fatalf("generations %d and %d", a.Generation(), b.Generation())
		}
		// A third gateway opened now reads generation 2 too.
		c, err := Open(ctx, Options{Client: a.rdb, Prefix: a.keys.prefix, Clock: a.clock})
		if err != nil {
			t.Fatal(err)
		}
		if c.Generation() != 2 {
			t.Fatalf("a new gateway reads generation %d", c.Generation())
		}
		var members []string
		for _, k := range []string{a.keys.readFence("Appointment", 3), a.keys.writeFence("Appointment", 3)} {
			ms, err := a.rdb.SMembers(ctx, k).Result()
			if err != nil && err != redis.Nil {
				t.Fatal(err)
			}
			members = append(members, ms...)
		}
		sort.Strings(members)
		if strings.Join(members, ",") != "r2,w2" {
			t.Fatalf("fences after the reindex: %v", members)
		}
	})
}
