package redisstore

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	ww "github.com/wachtwijzer/wachtwijzer"

	"github.com/wachtwijzer/wachtwijzer/gen"
	"github.com/wachtwijzer/wachtwijzer/ingest"
	"github.com/wachtwijzer/wachtwijzer/internal/redistest"
)

// benchWorld is a synthetic world imported once per test binary for
// BenchmarkSearchShapes.
type benchWorld struct {
	s       *Store
	c       redis.UniversalClient
	queries map[string][]*ww.Query
	// writes are Appointments to update (a comment toggled each time).
	writes []map[string]any
	// shareA is, for shape (a), the mean share of the sampled Appointments
	// that have the query's practitioner and that start in its week.
	shareA [2]float64
}

var (
	benchOnce sync.Once
	benchW    *benchWorld
	benchErr  error
)

// benchTypes are the resource types the three search shapes read.
var benchTypes = []string{"Practitioner", "Location", "HealthcareService", "Schedule", "Slot", "Appointment"}

// benchDataVersion names the kept bench data (WW_SEARCH_BENCH_ADDR); bump
// it when the index entries change so the next run imports again.
const benchDataVersion = 2

// benchAsOf is the generated world's today; the store's clock agrees.
var benchAsOf = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func loadBenchWorld(b *testing.B) *benchWorld {
	b.Helper()
	benchOnce.Do(func() { benchW, benchErr = openBenchWorld(b) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchW
}

// openBenchWorld generates and imports the world. With
// WW_SEARCH_BENCH_ADDR (a redis-server the developer started) the world
// files and the imported data are kept between runs, so iterating on the
// search script does not import again; change the index format and the
// marker key's name changes with it.
func openBenchWorld(b *testing.B) (*benchWorld, error) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("WW_SEARCH_BENCH_APPOINTMENTS")); err == nil && v > 0 {
		n = v
	}
	var c redis.UniversalClient
	prefix := redistest.Prefix(b)
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("ww-search-bench-%d", n))
	keep := os.Getenv("WW_SEARCH_BENCH_ADDR")
	if os.Getenv("WW_SEARCH_BENCH_CLUSTER") != "" {
		keep = ""
	}
	switch {
	case os.Getenv("WW_SEARCH_BENCH_CLUSTER") != "":
		c = redistest.SharedCluster(b).Client(b) // world files kept in dir
	case keep != "":
		c = redis.NewClient(&redis.Options{Addr: keep})
		prefix = fmt.Sprintf("wwsb%d", n)
	default:
		c = redistest.Shared(b).Client(b)
		var err error
		if dir, err = os.MkdirTemp("", "ww-search-bench-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "Slot.ndjson")); err != nil {
		if _, err := gen.WriteNDJSON(dir, gen.Config{Seed: 1, Appointments: n, AsOf: benchAsOf}); err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
	}
	ctx := context.Background()
	s, err := Open(ctx, Options{Client: c, Prefix: prefix, Clock: &ww.FixedClock{T: benchAsOf}})
	if err != nil {
		return nil, err
	}
	marker := prefix + "-bench-loaded-" + strconv.Itoa(benchDataVersion)
	loaded := keep != "" && c.Exists(ctx, marker).Val() == 1
	w := &benchWorld{s: s, c: c, queries: map[string][]*ww.Query{}}
	res := map[string][]map[string]any{}
	for _, typ := range benchTypes {
		path := filepath.Join(dir, typ+".ndjson")
		if !loaded {
			f, err := os.Open(path)
			if err != nil {
				return nil, err
			}
			j := &ingest.Job{Store: s, Workers: 4, Batch: 200}
			err = j.ReadNDJSON(ctx, f, typ)
			f.Close()
			if err != nil || j.Errors() > 0 {
				return nil, fmt.Errorf("import %s: %v (%d rejected: %v)", typ, err, j.Errors(), firstN(j.Rejected, 3))
			}
		}
		if res[typ], err = sampleNDJSON(path, 3000); err != nil {
			return nil, err
		}
	}
	if keep != "" {
		c.Set(ctx, marker, "1", 0)
	}
	r := rand.New(rand.NewPCG(1, 99))
	w.writes = res["Appointment"][:min(200, len(res["Appointment"]))]
	w.queries["a"] = benchQueriesA(res["Appointment"], r)
	w.shareA = sharesA(res["Appointment"], w.queries["a"])
	w.queries["b"] = benchQueriesB(res["Slot"], r)
	w.queries["c"] = benchQueriesC(res["Location"], r)
	return w, nil
}

func firstN(xs []string, n int) []string {
	if len(xs) > n {
		return xs[:n]
	}
	return xs
}

// sampleNDJSON reads up to max resources spread evenly over an NDJSON
// file.
func sampleNDJSON(path string, max int) ([]map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var all []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		all = append(all, m)
	}
	if len(all) <= max {
		return all, sc.Err()
	}
	out := make([]map[string]any, 0, max)
	for i := 0; i < max; i++ {
		out = append(out, all[i*len(all)/max])
	}
	return out, sc.Err()
}

// benchQueriesA mirrors the harness's search (a): a booked Appointment's
// practitioner over a week around its start.
func benchQueriesA(apps []map[string]any, r *rand.Rand) []*ww.Query {
	var out []*ww.Query
	for _, a := range apps {
		start, _ := a["start"].(string)
		if a["status"] != "booked" || len(start) < 10 {
			continue
		}
		var prac string
		parts, _ := a["participant"].([]any)
		for _, p := range parts {
			actor, _ := p.(map[string]any)["actor"].(map[string]any)
			if ref, _ := actor["reference"].(string); strings.HasPrefix(ref, "Practitioner/") {
				prac = ref
			}
		}
		t, err := time.Parse("2006-01-02", start[:10])
		if prac == "" || err != nil {
			continue
		}
		from := t.AddDate(0, 0, -r.IntN(7))
		out = append(out, &ww.Query{Type: "Appointment", Count: 50, Clauses: []ww.Clause{
			{Param: "date", Values: []string{"ge" + from.Format("2006-01-02")}},
			{Param: "date", Values: []string{"lt" + from.AddDate(0, 0, 7).Format("2006-01-02")}},
			{Param: "status", Values: []string{"booked"}},
			{Param: "actor", Values: []string{prac}},
		}})
	}
	return out
}

// sharesA is the mean share of apps that have a shape (a) query's
// practitioner and that start in its week (the sizes the realistic world
// should have: about 1/2000 and 1/50 at 1M Appointments).
func sharesA(apps []map[string]any, qs []*ww.Query) [2]float64 {
	var prac, week float64
	for _, q := range qs {
		var from, to, who string
		for _, cl := range q.Clauses {
			v := cl.Values[0]
			switch {
			case cl.Param == "date" && strings.HasPrefix(v, "ge"):
				from = v[2:]
			case cl.Param == "date":
				to = v[2:]
			case cl.Param == "actor":
				who = v
			}
		}
		for _, a := range apps {
			if start, _ := a["start"].(string); len(start) >= 10 && start[:10] >= from && start[:10] < to {
				week++
			}
			parts, _ := a["participant"].([]any)
			for _, p := range parts {
				actor, _ := p.(map[string]any)["actor"].(map[string]any)
				if ref, _ := actor["reference"].(string); ref == who {
					prac++
					break
				}
			}
		}
	}
	n := float64(len(qs) * len(apps))
	if n == 0 {
		return [2]float64{}
	}
	return [2]float64{prac / n, week / n}
}

// benchQueriesB mirrors search (b): free Slots of a service type from a
// day in the first four weeks, by start, 20 per page.
func benchQueriesB(slots []map[string]any, r *rand.Rand) []*ww.Query {
	seen := map[string]bool{}
	var codes []string
	first := ""
	for _, sl := range slots {
		st, _ := sl["serviceType"].([]any)
		for _, x := range st {
			cs, _ := x.(map[string]any)["coding"].([]any)
			for _, c := range cs {
				cm, _ := c.(map[string]any)
				code, _ := cm["code"].(string)
				sys, _ := cm["system"].(string)
				if v := sys + "|" + code; !seen[v] {
					seen[v] = true
					codes = append(codes, v)
				}
			}
		}
		if st, _ := sl["start"].(string); st != "" && (first == "" || st < first) {
			first = st
		}
	}
	sort.Strings(codes)
	if len(first) < 10 || len(codes) == 0 {
		return nil
	}
	day, _ := time.Parse("2006-01-02", first[:10])
	var out []*ww.Query
	for i := 0; i < 1000; i++ {
		d := day.AddDate(0, 0, r.IntN(28))
		out = append(out, &ww.Query{Type: "Slot", Count: 20, Sort: []ww.SortKey{{Param: "start"}}, Clauses: []ww.Clause{
			{Param: "status", Values: []string{"free"}},
			{Param: "service-type", Values: []string{codes[r.IntN(len(codes))]}},
			{Param: "start", Values: []string{"ge" + d.Format("2006-01-02")}},
		}})
	}
	return out
}

// benchQueriesC mirrors search (c): Locations within 25 km of a point near
// one, with the HealthcareServices there.
func benchQueriesC(locs []map[string]any, r *rand.Rand) []*ww.Query {
	var out []*ww.Query
	for _, l := range locs {
		pos, _ := l["position"].(map[string]any)
		lat, _ := pos["latitude"].(float64)
		lon, _ := pos["longitude"].(float64)
		if lat == 0 {
			continue
		}
		near := fmt.Sprintf("%.4f|%.4f|25|km", lat+r.Float64()*0.1-0.05, lon+r.Float64()*0.1-0.05)
		out = append(out, &ww.Query{Type: "Location", Count: 50, Clauses: []ww.Clause{{Param: "near", Values: []string{near}}},
			Includes: []ww.Include{{Source: "HealthcareService", Param: "location", Reverse: true}}})
	}
	return out
}

// BenchmarkSearchShapes runs the three search shapes against a
// real redis-server holding a generated world (WW_SEARCH_BENCH_APPOINTMENTS,
// default 20,000 appointments; WW_SEARCH_BENCH_CLUSTER=1: a 3-master
// Cluster, latencies only), beside a raw GET of the same server as
// the baseline. Each shape reports p50/p99 latency, the mean script work
// (elements read per search) and the Redis calls per search; compare
// shapes with rawGET run in the same invocation. redis-cpu-us/op (the
// server's CPU time per search) bounds the throughput one redis-server can
// give: compare it with rawGET's.
func BenchmarkSearchShapes(b *testing.B) {
	w := loadBenchWorld(b)
	ctx := context.Background()
	b.Run("rawGET", func(b *testing.B) {
		c := w.c
		c.Set(ctx, "ww-bench-raw", strings.Repeat("x", 100), 0)
		b.ResetTimer()
		before := commandStats(ctx, c)
		for i := 0; i < b.N; i++ {
			if err := c.Get(ctx, "ww-bench-raw").Err(); err != nil {
				b.Fatal(err)
			}
		}
		after := commandStats(ctx, c)
		b.ReportMetric((after.cpu-before.cpu)*1e6/float64(b.N), "redis-cpu-us/op")
	})
	for _, shape := range []string{"a", "b", "c"} {
		qs := w.queries[shape]
		if len(qs) == 0 {
			b.Fatalf("shape %s: no queries from the world sample", shape)
		}
		b.Run(shape, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			hits := 0
			before := commandStats(ctx, w.c)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				res, err := w.s.Search(ctx, qs[i%len(qs)])
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				hits += len(res.Resources)
			}
			b.StopTimer()
			after := commandStats(ctx, w.c)
			b.ReportMetric(float64(after.calls-before.calls)/float64(b.N), "rediscalls/op")
			b.ReportMetric(float64(after.scriptUsec-before.scriptUsec)/float64(b.N), "script-us/op")
			b.ReportMetric((after.cpu-before.cpu)*1e6/float64(b.N), "redis-cpu-us/op")
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
			if shape == "a" && w.shareA[0] > 0 {
				// 1/share: the world is realistic for (a) when these are
				// about 2000 (one practitioner's share) and 50 (one week's).
				b.ReportMetric(1/w.shareA[0], "1/practitioner-share")
				b.ReportMetric(1/w.shareA[1], "1/week-share")
			}
			// One explained run per query kind for the work figure.
			q := *qs[0]
			q.Explain = true
			if res, err := w.s.Search(ctx, &q); err == nil {
				for _, line := range res.Plan {
					if os.Getenv("WW_SEARCH_BENCH_EXPLAIN") != "" {
						b.Log(line)
					}
					if n, ok := elementsRead(line); ok {
						b.ReportMetric(float64(n), "elements/first-op")
					}
				}
			}
		})
	}
}

// benchWrites commits n Appointment updates one by one and returns their
// latencies, sorted.
func benchWrites(b *testing.B, w *benchWorld, n int) []time.Duration {
	ctx := context.Background()
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		m := w.writes[i%len(w.writes)]
		m["comment"] = fmt.Sprintf("bench write %d", i)
		js, _ := json.Marshal(m)
		t0 := time.Now()
		_, err := w.s.Commit(ctx, &ww.Commit{Writes: []ww.Write{{Op: ww.OpUpdate, Type: "Appointment", ID: m["id"].(string), JSON: js}}})
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat
}

// BenchmarkSearchWrites reports the p50/p99 of single Appointment updates
// alone and while four goroutines run search shapes (a) and (b) without
// pause (the "write p99 while search load runs").
func BenchmarkSearchWrites(b *testing.B) {
	w := loadBenchWorld(b)
	report := func(b *testing.B, lat []time.Duration) {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
	}
	b.Run("alone", func(b *testing.B) { report(b, benchWrites(b, w, b.N)) })
	b.Run("under-search", func(b *testing.B) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		searches := 0
		var mu sync.Mutex
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				qs := append(append([]*ww.Query(nil), w.queries["a"]...), w.queries["b"]...)
				for i := g; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := w.s.Search(context.Background(), qs[i%len(qs)]); err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					searches++
					mu.Unlock()
				}
			}(g)
		}
		lat := benchWrites(b, w, b.N)
		close(stop)
		wg.Wait()
		report(b, lat)
		b.ReportMetric(float64(searches)/float64(b.N), "searches/write")
	})
}

// cmdStats sums INFO commandstats: every call (those scripts make
// included) and the microseconds spent in search scripts.
type cmdStats struct {
	calls, scriptUsec int64
	cpu               float64 // server CPU seconds (user + sys)
}

func commandStats(ctx context.Context, c redis.UniversalClient) cmdStats {
	x := redistest.ServerCosts(ctx, c)
	return cmdStats{calls: x.Calls, scriptUsec: x.ScriptUsec, cpu: x.CPU}
}

// elementsRead picks the elements-read figure out of an __explain line.
func elementsRead(line string) (int, bool) {
	i := strings.Index(line, " elements read")
	if !strings.HasPrefix(line, "script calls:") || i < 0 {
		return 0, false
	}
	f := strings.Fields(line[:i])
	n, err := strconv.Atoi(f[len(f)-1])
	return n, err == nil
}
