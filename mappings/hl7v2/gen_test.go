package hl7v2

import (
	"bytes"
	"encoding/json"
	ww "github.com/wachtwijzer/wachtwijzer"
	"strings"
	"testing"
	"time"

	"github.com/wachtwijzer/wachtwijzer/gen"
)

// The synthetic world of package gen is written both as FHIR and as an HL7
// stream. Mapping its HL7 must meet the FHIR resources: the same ids (so an
// HL7 update lands on the resource a backfill made) and the same statuses.
func TestGenHL7StreamMeetsGenFHIR(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a small synthetic world")
	}
	cfg := gen.Config{Seed: 7, Appointments: 400, AsOf: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), DeploymentKey: testKey}
	fhir := map[string]map[string]map[string]any{}
	err := gen.Generate(cfg, gen.SinkFunc(func(typ, id string, js []byte) error {
		var m map[string]any
		if err := json.Unmarshal(js, &m); err != nil {
			return err
		}
		if fhir[typ] == nil {
			fhir[typ] = map[string]map[string]any{}
		}
		fhir[typ][id] = m
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	n, err := gen.WriteHL7(&stream, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapped, warned := 0, 0
	seen := map[string]int{}
	for _, line := range strings.Split(stream.String(), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := Parse([]byte(line), ParseOptions{})
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		res, err := Map(m, genSender, testKey) // no AGB configured: it comes from MSH-4
		if err != nil {
			t.Fatalf("%s^%s %s: %v", m.Type, m.Trigger, m.ControlID, err)
		}
		if len(res.Warnings) > 0 {
			warned++
			if warned <= 3 {
				t.Logf("%s^%s: %s", m.Type, m.Trigger, problemsString(res.Warnings))
			}
		}
		mapped++
		checkResources(t, res)
		for _, r := range res.Resources {
			var got map[string]any
			if err := json.Unmarshal(r.JSON, &got); err != nil {
				t.Fatal(err)
			}
			want, ok := fhir[r.Type][r.ID]
			if !ok {
				t.Errorf("%s^%s: %s/%s has no counterpart in the FHIR world", m.Type, m.Trigger, r.Type, r.ID)
				continue
			}
			seen[r.Type]++
			if r.IfAbsent {
				continue // the store keeps the resource the FHIR path wrote
			}
			if r.Type == "Patient" {
				for _, sys := range []string{ww.SystemBSN, ww.HospitalSystem(m.SendingFacility, "patient")} {
					if g, w := identifierValue(got, sys), identifierValue(want, sys); g != w || g == "" {
						t.Errorf("Patient/%s %s: HL7 %q, FHIR %q", r.ID, sys, g, w)
					}
				}
			}
			for _, path := range comparable[r.Type] {
				if g, w := str(got, path...), str(want, path...); g != w {
					t.Errorf("%s^%s %s/%s %v: HL7 gives %q, FHIR %q", m.Type, m.Trigger, r.Type, r.ID, path, g, w)
				}
			}
		}
	}
	if mapped != n {
		t.Errorf("mapped %d of %d messages", mapped, n)
	}
	if warned > 0 {
		t.Errorf("%d of %d messages had warnings", warned, n)
	}
	for _, typ := range []string{"Organization", "Patient", "Coverage", "ServiceRequest", "Appointment", "Location", "Practitioner"} {
		if seen[typ] == 0 {
			t.Errorf("no %s met", typ)
		}
	}
	t.Logf("%d messages; resources met per type: %v", n, seen)
}

// comparable lists the elements both paths must agree on.
var comparable = map[string][][]any{
	"Patient":        {{"birthDate"}, {"gender"}, {"name", 0, "family"}, {"address", 0, "postalCode"}},
	"Coverage":       {{"status"}, {"subscriberId"}, {"beneficiary", "reference"}, {"payor", 0, "reference"}},
	"ServiceRequest": {{"status"}, {"intent"}, {"subject", "reference"}, {"authoredOn"}, {"performerType", "coding", 0, "code"}, {"category", 0, "coding", 0, "code"}},
	"Appointment":    {{"status"}, {"start"}, {"end"}, {"basedOn", 0, "reference"}},
}

// genSender is how the gateway would configure gen's hospitals: the AGB
// from MSH-4, gen's Z-segment ZWW mapped onto the wait.
var genSender = &SenderConfig{ZSegments: map[string]string{"ZWW-2": "authoredOn", "ZWW-3": "specialism", "ZWW-4": "waitKind", "ZWW-5": "orderNumber"}}

func identifierValue(res map[string]any, system string) string {
	ids, _ := res["identifier"].([]any)
	for _, id := range ids {
		if str(id, "system") == system {
			return str(id, "value")
		}
	}
	return ""
}
