package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wachtwijzer/wachtwijzer/bench/internal/memreport"
)

// sample holds resources drawn from the generated world to build request
// files from.
type sample struct {
	lines map[string][]string         // type → sampled NDJSON lines
	res   map[string][]map[string]any // type → decoded sampled resources
}

func (e *env) loadWorld(ctx context.Context, rep *report) error {
	files, _ := filepath.Glob(filepath.Join(e.world, "*.ndjson"))
	if !e.c.keepWorld || len(files) == 0 {
		os.RemoveAll(e.world)
		logf("generating %d appointments and the world around them", e.c.appointments)
		args := append([]string{"gen", "--out", e.world, "--appointments", strconv.Itoa(e.c.appointments), "--seed", strconv.FormatInt(e.c.seed, 10)}, e.redisFlags()...)
		if out, err := exec.CommandContext(ctx, e.bin, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("gen: %v: %s", err, out)
		}
		files, _ = filepath.Glob(filepath.Join(e.world, "*.ndjson"))
	}
	counts := map[string]int64{}
	var jsonBytes int64
	for _, f := range files {
		st, _ := os.Stat(f)
		jsonBytes += st.Size()
		n, _ := lineCount(f)
		counts[strings.TrimSuffix(filepath.Base(f), ".ndjson")] = n
	}
	b, err := e.baseline(ctx)
	if err != nil {
		return err
	}
	before := e.usedMemory(ctx)
	logf("importing %d files (%.0f MB of NDJSON)", len(files), float64(jsonBytes)/1e6)
	start := time.Now()
	snap := e.redisSnapshot(ctx)
	args := append([]string{"import", "--log-format", "json", "--workers", "4"}, e.redisFlags()...)
	if e.c.profile {
		args = append(args, "--cpu-profile", filepath.Join(e.c.out, "profile-ingest.pb.gz"))
	}
	args = append(args, files...)
	cmd := exec.CommandContext(ctx, e.bin, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("import: %v: %s", err, tail(string(out)))
	}
	el := time.Since(start).Seconds()
	snapAfter := e.redisSnapshot(ctx)
	if e.c.profile {
		e.summarizeProfile("ingest", filepath.Join(e.c.out, "profile-ingest.pb.gz"))
	}
	var total int64
	for _, n := range counts {
		total += n
	}
	importCPU := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	costs := fmt.Sprintf("importer %.0f µs CPU/resource; %s", 1e6*importCPU/float64(total), strings.ReplaceAll(redisNote(snap, snapAfter, float64(total)), "/req", "/resource"))
	after := e.usedMemory(ctx)
	rps := float64(total) / el
	rep.Ingest = &ingest{Resources: total, PerType: counts, PerTypeRate: perTypeRates(out), Seconds: el, PerSecond: rps, RatioSet: rps / b.Set, Baseline: b,
		JSONBytes: jsonBytes, RedisBytes: after - before, BytesPerResource: float64(after-before) / float64(total)}
	rep.Results = append(rep.Results, result{Name: "ingest (import NDJSON, 4 workers)", Issue: "4/8", Clients: 4, PerSecond: rps, Ratio: rps / b.Set, RatioOf: "SET", Baseline: b,
		Note: fmt.Sprintf("%d resources in %.1fs; %s", total, el, costs)})
	logf("imported %d resources in %.1fs: %.0f/s (%.1f%% of raw SET %.0f/s)", total, el, rps, 100*rps/b.Set, b.Set)
	for t, r := range rep.Ingest.PerTypeRate {
		logf("  %s: %.0f/s", t, r)
	}
	if err := e.memory(ctx, rep, jsonBytes); err != nil {
		logf("memory report: %v", err)
	}
	e.sample, err = drawSample(e.world, 3000)
	return err
}

// perTypeRates reads the import's "import file finished" JSON log lines:
// per file (one type each) the resources written per second.
func perTypeRates(out []byte) map[string]float64 {
	rates := map[string]float64{}
	for _, line := range strings.Split(string(out), "\n") {
		var l struct {
			Msg       string         `json:"msg"`
			PerSecond float64        `json:"per_second"`
			PerType   map[string]int `json:"per_type"`
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "import file finished" || len(l.PerType) != 1 {
			continue
		}
		for t := range l.PerType {
			rates[t] = l.PerSecond
		}
	}
	return rates
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}

func lineCount(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var n int64
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}

var usedRE = regexp.MustCompile(`used_memory:(\d+)`)

func (e *env) usedMemory(ctx context.Context) int64 {
	var total int64
	for _, c := range e.clients() {
		info, _ := c.Info(ctx, "memory").Result()
		if m := usedRE.FindStringSubmatch(info); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			total += n
		}
		c.Close()
	}
	return total
}

// memory scans the keyspace: bytes per record, history and index, and per
// index parameter bytes per entry.
func (e *env) memory(ctx context.Context, rep *report, jsonBytes int64) error {
	var rows []memreport.Row
	for _, c := range e.clients() {
		rs, err := memreport.Scan(ctx, c, "ww")
		c.Close()
		if err != nil {
			return err
		}
		rows = append(rows, rs...)
	}
	s := memreport.Summarise(rows)
	rep.Memory = &memory{JSONBytes: jsonBytes, Records: s.Records, History: s.History, Indexes: s.Indexes,
		IndexToJSON: float64(s.Indexes) / float64(jsonBytes), Rows: rows}
	logf("memory: JSON %.0f MB, records %.0f MB, history %.0f MB, indexes %.0f MB (%.2f× the JSON)",
		float64(jsonBytes)/1e6, float64(s.Records)/1e6, float64(s.History)/1e6, float64(s.Indexes)/1e6, rep.Memory.IndexToJSON)
	return nil
}

func drawSample(dir string, per int) (*sample, error) {
	s := &sample{lines: map[string][]string{}, res: map[string][]map[string]any{}}
	files, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	for _, f := range files {
		typ := strings.TrimSuffix(filepath.Base(f), ".ndjson")
		n, _ := lineCount(f)
		step := n / int64(per)
		if step < 1 {
			step = 1
		}
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		var i int64
		for sc.Scan() {
			if i%step == 0 && len(s.lines[typ]) < per {
				line := sc.Text()
				var m map[string]any
				if json.Unmarshal([]byte(line), &m) == nil {
					s.lines[typ] = append(s.lines[typ], line)
					s.res[typ] = append(s.res[typ], m)
				}
			}
			i++
		}
		fh.Close()
	}
	return s, nil
}

var _ = redis.Nil
