package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// workload is one registered benchmark. Each builds its request lines from
// the world sample; runs report throughput at the configured clients (and,
// where a single-client latency floor exists, a 1-client run).
type workload struct {
	Name  string
	Issue string
	// Requests builds METHOD\tPATH[\tBODY] lines.
	Requests func(s *sample, r *rand.Rand) []string
	// RatioOf is GET (reads) or SET (writes) or EVALSHA.
	RatioOf string
	// Single also measures one client (latency floors).
	Single bool
	Floor  string
	Prefer string
	// Run, when set, replaces the wrk run (non-HTTP workloads).
	Run func(ctx context.Context, e *env, b baseline) ([]result, error)
}

// workloads is the registry; later issues append to it.
var workloads = []workload{
	{Name: "read", Issue: "3", RatioOf: "GET", Floor: "≥ 25 % of raw GET at 16 clients", Requests: func(s *sample, r *rand.Rand) []string {
		var out []string
		for _, t := range []string{"Appointment", "Patient", "ServiceRequest", "Slot"} {
			for _, m := range s.res[t] {
				out = append(out, fmt.Sprintf("GET\t/fhir/%s/%s", t, m["id"]))
			}
		}
		return out
	}},
	{Name: "create", Issue: "3", RatioOf: "SET", Floor: "≥ 6 % of raw SET at 16 clients", Requests: createRequests},
	{Name: "update", Issue: "3", RatioOf: "SET", Requests: func(s *sample, r *rand.Rand) []string {
		var out []string
		for _, m := range s.res["Appointment"] {
			m["comment"] = fmt.Sprintf("bench %d", r.IntN(1000000))
			delete(m, "meta")
			b, _ := json.Marshal(m)
			out = append(out, fmt.Sprintf("PUT\t/fhir/Appointment/%s\t%s", m["id"], b))
		}
		return out
	}},
	{Name: "transaction (10 PUTs)", Issue: "3", RatioOf: "EVALSHA", Requests: func(s *sample, r *rand.Rand) []string {
		var out []string
		pats := s.res["Patient"]
		for i := 0; i+10 <= len(pats) && len(out) < 300; i += 10 {
			var entries []map[string]any
			for _, p := range pats[i : i+10] {
				delete(p, "meta")
				entries = append(entries, map[string]any{"resource": p, "request": map[string]any{"method": "PUT", "url": fmt.Sprintf("Patient/%s", p["id"])}})
			}
			b, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
			out = append(out, "POST\t/fhir\t"+string(b))
		}
		return out
	}},
	{Name: "search (a) Appointment by practitioner, week, status", Issue: "5", RatioOf: "GET", Single: true,
		Floor: "p99 < 10 ms at 1 client; ≥ 5 % of raw GET at 16", Requests: searchA},
	{Name: "search (b) free Slots by service type from a date, by start", Issue: "5", RatioOf: "GET", Single: true,
		Floor: "p99 < 10 ms at 1 client; ≥ 5 % of raw GET at 16", Requests: searchB},
	{Name: "search (c) Locations near, with their services", Issue: "5", RatioOf: "GET", Single: true, Requests: searchC},
	{Name: "write p99 alone vs under search load", Issue: "5", Run: writeUnderSearch},
}

func createRequests(s *sample, r *rand.Rand) []string {
	var out []string
	for _, line := range s.lines["Patient"] {
		var m map[string]any
		json.Unmarshal([]byte(line), &m)
		delete(m, "id")
		delete(m, "meta")
		b, _ := json.Marshal(m)
		out = append(out, "POST\t/fhir/Patient\t"+string(b))
	}
	return out
}

func searchA(s *sample, r *rand.Rand) []string {
	var out []string
	for _, a := range s.res["Appointment"] {
		start, _ := a["start"].(string)
		if a["status"] != "booked" || len(start) < 10 {
			continue
		}
		var prac string
		parts, _ := a["participant"].([]any)
		for _, p := range parts {
			ref, _ := p.(map[string]any)["actor"].(map[string]any)["reference"].(string)
			if strings.HasPrefix(ref, "Practitioner/") {
				prac = ref
			}
		}
		if prac == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", start[:10])
		if err != nil {
			continue
		}
		from := t.AddDate(0, 0, -r.IntN(7))
		out = append(out, fmt.Sprintf("GET\t/fhir/Appointment?date=ge%s&date=lt%s&status=booked&actor=%s", from.Format("2006-01-02"), from.AddDate(0, 0, 7).Format("2006-01-02"), prac))
	}
	return out
}

func searchB(s *sample, r *rand.Rand) []string {
	var codes []string
	seen := map[string]bool{}
	var first string
	for _, sl := range s.res["Slot"] {
		st, _ := sl["serviceType"].([]any)
		for _, x := range st {
			cs, _ := x.(map[string]any)["coding"].([]any)
			for _, c := range cs {
				cm := c.(map[string]any)
				code, _ := cm["code"].(string)
				sys, _ := cm["system"].(string)
				v := sys + "|" + code
				if !seen[v] {
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
	if len(first) < 10 {
		return nil
	}
	day, _ := time.Parse("2006-01-02", first[:10])
	var out []string
	for i := 0; i < 1000 && len(codes) > 0; i++ {
		d := day.AddDate(0, 0, r.IntN(28))
		out = append(out, fmt.Sprintf("GET\t/fhir/Slot?status=free&service-type=%s&start=ge%s&_sort=start&_count=20", urlq(codes[r.IntN(len(codes))]), d.Format("2006-01-02")))
	}
	return out
}

func searchC(s *sample, r *rand.Rand) []string {
	var out []string
	for _, l := range s.res["Location"] {
		pos, _ := l["position"].(map[string]any)
		lat, _ := pos["latitude"].(float64)
		lon, _ := pos["longitude"].(float64)
		if lat == 0 {
			continue
		}
		out = append(out, fmt.Sprintf("GET\t/fhir/Location?near=%.4f|%.4f|25|km&_revinclude=HealthcareService:location", lat+r.Float64()*0.1-0.05, lon+r.Float64()*0.1-0.05))
	}
	return out
}

func urlq(s string) string {
	return strings.NewReplacer("|", "%7C", ":", "%3A", "/", "%2F").Replace(s)
}

// runWorkload measures one workload: a raw baseline first, then wrk.
func (e *env) runWorkload(ctx context.Context, w workload) ([]result, error) {
	b, err := e.baseline(ctx)
	if err != nil {
		return nil, err
	}
	if w.Run != nil {
		return w.Run(ctx, e, b)
	}
	r := rand.New(rand.NewPCG(uint64(e.c.seed), 99))
	lines := w.Requests(e.sample, r)
	if len(lines) == 0 {
		return nil, fmt.Errorf("no requests could be built from the world sample")
	}
	file := filepath.Join(e.c.out, "requests-"+slug(w.Name)+".txt")
	if err := writeRequests(file, lines); err != nil {
		return nil, err
	}
	var out []result
	if w.Single {
		l, err := e.runWrk(ctx, file, 1, e.c.duration, w.Prefer)
		if err != nil {
			return nil, err
		}
		out = append(out, toResult(w, 1, l, b))
	}
	stopProfile := e.profileGateway(ctx, w.Name)
	before := e.redisSnapshot(ctx)
	l, err := e.runWrk(ctx, file, e.c.clients, e.c.duration, w.Prefer)
	after := e.redisSnapshot(ctx)
	stopProfile()
	if err != nil {
		return nil, err
	}
	res := toResult(w, e.c.clients, l, b)
	res.Note = redisNote(before, after, l.PerSecond*after.at.Sub(before.at).Seconds())
	if l.Requests > 0 && l.CPU > 0 {
		res.Note += fmt.Sprintf("; wrk %.0f µs CPU/req", 1e6*l.CPU/float64(l.Requests))
	}
	out = append(out, res)
	return out, nil
}

func toResult(w workload, clients int, l load, b baseline) result {
	res := result{Name: w.Name, Issue: w.Issue, Clients: clients, PerSecond: l.PerSecond, P50ms: l.P50ms, P99ms: l.P99ms, Errors: l.Errors, Baseline: b, Floor: w.Floor, RatioOf: w.RatioOf}
	switch w.RatioOf {
	case "GET":
		res.Ratio = l.PerSecond / b.Get
	case "SET":
		res.Ratio = l.PerSecond / b.Set
	case "EVALSHA":
		res.Ratio = l.PerSecond / b.EvalSHA
		res.RatioOf = "EVALSHA-10"
	}
	return res
}

func slug(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// writeUnderSearch measures create p99 at 4 clients alone, then while 12
// clients run search (a).
func writeUnderSearch(ctx context.Context, e *env, b baseline) ([]result, error) {
	r := rand.New(rand.NewPCG(uint64(e.c.seed), 7))
	wfile := filepath.Join(e.c.out, "requests-write-under-search.txt")
	sfile := filepath.Join(e.c.out, "requests-search-under-write.txt")
	if err := writeRequests(wfile, createRequests(e.sample, r)); err != nil {
		return nil, err
	}
	if err := writeRequests(sfile, searchA(e.sample, r)); err != nil {
		return nil, err
	}
	alone, err := e.runWrk(ctx, wfile, 4, e.c.duration, "")
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	var search load
	var serr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		search, serr = e.runWrk(ctx, sfile, 12, e.c.duration+2*time.Second, "")
	}()
	time.Sleep(time.Second)
	under, err := e.runWrk(ctx, wfile, 4, e.c.duration, "")
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, serr
	}
	w := workload{Name: "create, 4 clients, alone", Issue: "5", RatioOf: "SET"}
	res := []result{toResult(w, 4, alone, b)}
	w.Name = "create, 4 clients, while 12 clients run search (a)"
	rr := toResult(w, 4, under, b)
	rr.Note = fmt.Sprintf("search (a) meanwhile: %.0f/s, p99 %.1f ms", search.PerSecond, search.P99ms)
	res = append(res, rr)
	return res, nil
}
