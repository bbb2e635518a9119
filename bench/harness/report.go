package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/wachtwijzer/wachtwijzer/bench/internal/memreport"
)

type result struct {
	Name      string   `json:"name"`
	Issue     string   `json:"issue"`
	Clients   int      `json:"clients"`
	PerSecond float64  `json:"per_s"`
	P50ms     float64  `json:"p50_ms"`
	P99ms     float64  `json:"p99_ms"`
	Errors    int64    `json:"errors"`
	Ratio     float64  `json:"ratio"`
	RatioOf   string   `json:"ratio_of"`
	Baseline  baseline `json:"baseline"`
	Floor     string   `json:"floor,omitempty"`
	Note      string   `json:"note,omitempty"`
	Error     string   `json:"error,omitempty"`
}

type ingest struct {
	Resources        int64            `json:"resources"`
	PerType          map[string]int64 `json:"per_type"`
	Seconds          float64          `json:"seconds"`
	PerSecond        float64          `json:"per_s"`
	RatioSet         float64          `json:"ratio_set"`
	Baseline         baseline         `json:"baseline"`
	JSONBytes        int64            `json:"json_bytes"`
	RedisBytes       int64            `json:"redis_bytes"`
	BytesPerResource float64          `json:"bytes_per_resource"`
	// PerTypeRate is resources/s per type, from the import's per-file log
	// lines (one file per type).
	PerTypeRate map[string]float64 `json:"per_type_per_s,omitempty"`
}

type memory struct {
	JSONBytes   int64           `json:"json_bytes"`
	Records     int64           `json:"records"`
	History     int64           `json:"history"`
	Indexes     int64           `json:"indexes"`
	IndexToJSON float64         `json:"index_to_json"`
	Rows        []memreport.Row `json:"rows"`
}

type report struct {
	Config  map[string]any `json:"config"`
	Machine map[string]any `json:"machine"`
	Started string         `json:"started"`
	Seconds float64        `json:"seconds"`
	Ingest  *ingest        `json:"ingest,omitempty"`
	Memory  *memory        `json:"memory,omitempty"`
	Results []result       `json:"results"`
}

func (r *report) write(dir string) error {
	stamp := time.Now().UTC().Format("20060102-150405")
	jb, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("results as JSON: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results-"+stamp+".json"), jb, 0o644); err != nil {
		return err
	}
	md := r.markdown()
	if err := os.WriteFile(filepath.Join(dir, "results-"+stamp+".md"), []byte(md), 0o644); err != nil {
		return err
	}
	os.WriteFile(filepath.Join(dir, "results-latest.md"), []byte(md), 0o644)
	os.WriteFile(filepath.Join(dir, "results-latest.json"), jb, 0o644)
	fmt.Println(md)
	logf("results in %s (results-%s.md/.json)", dir, stamp)
	return nil
}

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run %s, %.0f s; machine: %v CPUs, %v, %v; load average at start %v; %v\n\n", r.Started, r.Seconds, r.Machine["cpus"], r.Machine["cpu"], r.Machine["memory"], r.Machine["loadavg_at_start"], r.Machine["redis"])
	fmt.Fprintf(&b, "Config: %v appointments, cluster=%v, %v per workload, quick=%v, auth=%v\n\n", r.Config["appointments"], r.Config["cluster"], r.Config["duration"], r.Config["quick"], r.Config["auth"])
	b.WriteString("| workload | issue | clients | throughput /s | p50 ms | p99 ms | errors | ratio to raw | raw GET /s | raw SET /s | EVALSHA-10 /s | floor | note |\n")
	b.WriteString("| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --- | --- |\n")
	for _, x := range r.Results {
		if x.Error != "" {
			fmt.Fprintf(&b, "| %s | %s | | | | | | | | | | | failed: %s |\n", x.Name, x.Issue, strings.ReplaceAll(x.Error, "|", "/"))
			continue
		}
		ratio := ""
		if x.Ratio > 0 {
			ratio = fmt.Sprintf("%.1f %% of %s", 100*x.Ratio, x.RatioOf)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %.2f | %.2f | %d | %s | %.0f | %.0f | %.0f | %s | %s |\n",
			x.Name, x.Issue, x.Clients, x.PerSecond, x.P50ms, x.P99ms, x.Errors, ratio, x.Baseline.Get, x.Baseline.Set, x.Baseline.EvalSHA, x.Floor, x.Note)
	}
	if r.Ingest != nil {
		types := make([]string, 0, len(r.Ingest.PerType))
		for t := range r.Ingest.PerType {
			types = append(types, t)
		}
		sort.Strings(types)
		var parts []string
		for _, t := range types {
			if rate, ok := r.Ingest.PerTypeRate[t]; ok {
				parts = append(parts, fmt.Sprintf("%s %d at %.0f/s", t, r.Ingest.PerType[t], rate))
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %d", t, r.Ingest.PerType[t]))
		}
		fmt.Fprintf(&b, "\nWorld: %d resources (%s); NDJSON %.0f MB; Redis used_memory grew %.0f MB = %.0f bytes per resource.\n",
			r.Ingest.Resources, strings.Join(parts, ", "), float64(r.Ingest.JSONBytes)/1e6, float64(r.Ingest.RedisBytes)/1e6, r.Ingest.BytesPerResource)
	}
	if m := r.Memory; m != nil {
		fmt.Fprintf(&b, "\nMemory by kind: records %.0f MB, history %.0f MB, indexes %.0f MB = %.2f× the minified JSON of current versions (%.0f MB).\n\n",
			float64(m.Records)/1e6, float64(m.History)/1e6, float64(m.Indexes)/1e6, m.IndexToJSON, float64(m.JSONBytes)/1e6)
		b.WriteString("| type | key kind | MB | keys | entries | bytes/entry |\n| --- | --- | --: | --: | --: | --: |\n")
		for i, row := range m.Rows {
			if i >= 40 {
				break
			}
			fmt.Fprintf(&b, "| %s | %s | %.2f | %d | %d | %.0f |\n", row.Type, row.Kind, float64(row.Bytes)/1e6, row.Keys, row.Entries, row.PerEntry())
		}
	}
	return b.String()
}
