package main

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
)

// The insurer operations (issue 7). Floors are for the default 1M world;
// the latency floors are measured at 1 client (Single) beside the
// throughput at the configured clients.
func init() {
	workloads = append(workloads,
		workload{Name: "$long-waits page of 50 (insurer and specialty)", Issue: "7", RatioOf: "GET", Single: true,
			Floor: "p99 < 50 ms (1M waits, ~10 insurers)", Requests: longWaitsRequests},
		workload{Name: "$availability within 50 km", Issue: "7", RatioOf: "GET", Single: true,
			Floor: "p99 < 20 ms (100,000 free slots)", Requests: availabilityRequests},
		workload{Name: "$regional-capacity (all regions)", Issue: "7", RatioOf: "GET", Single: true,
			Floor: "< 500 ms", Requests: regionalCapacityRequests},
	)
}

// sampleInsurers returns the UZOVI codes of the sampled Coverages.
func sampleInsurers(s *sample) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range s.res["Coverage"] {
		payors, _ := c["payor"].([]any)
		for _, p := range payors {
			ident, _ := p.(map[string]any)["identifier"].(map[string]any)
			if v, _ := ident["value"].(string); v != "" && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	sort.Strings(out)
	return out
}

// sampleSpecialisms returns the specialisms of the sampled waits.
func sampleSpecialisms(s *sample) []string {
	seen := map[string]bool{}
	var out []string
	for _, sr := range s.res["ServiceRequest"] {
		pt, _ := sr["performerType"].(map[string]any)
		cs, _ := pt["coding"].([]any)
		for _, c := range cs {
			if code, _ := c.(map[string]any)["code"].(string); code != "" && !seen[code] {
				seen[code] = true
				out = append(out, code)
			}
		}
	}
	sort.Strings(out)
	return out
}

func longWaitsRequests(s *sample, r *rand.Rand) []string {
	ins, specs := sampleInsurers(s), sampleSpecialisms(s)
	if len(ins) == 0 || len(specs) == 0 {
		return nil
	}
	var out []string
	for i := 0; i < 1000; i++ {
		state := "exceeded"
		if i%5 == 4 {
			state = "all"
		}
		out = append(out, fmt.Sprintf("GET\t/fhir/ServiceRequest/$long-waits?insurer=%s&specialty=%s&state=%s&_count=50", ins[r.IntN(len(ins))], specs[r.IntN(len(specs))], state))
	}
	return out
}

func availabilityRequests(s *sample, r *rand.Rand) []string {
	var out []string
	specs := sampleSpecialisms(s)
	for i, l := range s.res["Location"] {
		pos, _ := l["position"].(map[string]any)
		lat, _ := pos["latitude"].(float64)
		lon, _ := pos["longitude"].(float64)
		if lat == 0 {
			continue
		}
		q := fmt.Sprintf("near=%.4f|%.4f|50|km&_count=20", lat+r.Float64()*0.1-0.05, lon+r.Float64()*0.1-0.05)
		switch i % 3 {
		case 1:
			if len(specs) > 0 {
				q += "&specialty=" + specs[r.IntN(len(specs))]
			}
		case 2:
			q += "&_sort=distance"
		}
		out = append(out, "GET\t/fhir/Slot/$availability?"+strings.ReplaceAll(q, "|", "%7C"))
	}
	return out
}

func regionalCapacityRequests(s *sample, r *rand.Rand) []string {
	out := []string{"GET\t/fhir/MeasureReport/$regional-capacity"}
	for _, u := range sampleInsurers(s) {
		out = append(out, "GET\t/fhir/MeasureReport/$regional-capacity?insurer="+u)
	}
	return out
}
