package tests

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// semantic decodes JSON with numbers kept exact and drops the server-set
// meta.versionId/lastUpdated (and an emptied meta).
func semantic(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if meta, ok := m["meta"].(map[string]any); ok {
		delete(meta, "versionId")
		delete(meta, "lastUpdated")
		if len(meta) == 0 {
			delete(m, "meta")
		}
	}
	return m
}

func roundTrip(t *testing.T, g *Gateway, name string, body []byte) {
	t.Helper()
	var head struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if head.ID == "" {
		t.Fatalf("%s has no id", name)
	}
	expect(t, g.Do(t, "PUT", "/fhir/"+head.ResourceType+"/"+head.ID, body), 201)
	got := expect(t, g.Do(t, "GET", "/fhir/"+head.ResourceType+"/"+head.ID, nil), 200)
	want := semantic(t, body)
	have := semantic(t, got.Body)
	if !reflect.DeepEqual(want, have) {
		t.Fatalf("%s changed on the way through:\nsent %s\ngot  %s", name, body, got.Body)
	}
}

// Resources with contained resources, primitive extensions (_field), nested
// extensions and decimals beyond float precision come back semantically
// equal.
func TestRoundTripIsLossless(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	own := map[string]string{
		"appointment with contained practitioner and primitive extensions": `{"resourceType":"Appointment","id":"rt-appt","status":"booked",
			"_status":{"extension":[{"url":"http://example.org/fhir/StructureDefinition/source-status","valueString":"Booked"}]},
			"contained":[{"resourceType":"Practitioner","id":"dr","name":[{"family":"Bakker","_family":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-prefix","valueString":"van"}]}}]}],
			"start":"2026-12-01T10:40:00.000+01:00","end":"2026-12-01T11:00:00+01:00","minutesDuration":20,
			"participant":[{"actor":{"reference":"#dr"},"status":"accepted","extension":[{"url":"http://example.org/role","valueCode":"lead"}]}],
			"extension":[{"url":"http://example.org/fhir/StructureDefinition/wait-score","extension":[{"url":"waitDays","valueInteger":31},{"url":"kind","valueCode":"outpatient"},{"url":"score","valueDecimal":1.000000000000000000001}]}]}`,
		"patient with given-name primitive extensions aligned by null": `{"resourceType":"Patient","id":"rt-pat","name":[{"given":["Jan","Piet"],"_given":[null,{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier","valueCode":"CL"}]}]}],
			"address":[{"postalCode":"6525 GA","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/geolocation","extension":[{"url":"latitude","valueDecimal":51.82438},{"url":"longitude","valueDecimal":5.86052}]}]}],
			"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Jan &amp; Piet &lt;3</div>"}}`,
		"quantity with a comparator (the model cannot round-trip it)": `{"resourceType":"Coverage","id":"rt-cov","status":"active","beneficiary":{"reference":"Patient/rt-pat"},"payor":[{"reference":"Organization/x"}],
			"costToBeneficiary":[{"valueQuantity":{"value":12.50,"comparator":"<","unit":"EUR","system":"urn:iso:std:iso:4217","code":"EUR"}}]}`,
	}
	for name, body := range own {
		t.Run(name, func(t *testing.T) { roundTrip(t, g, name, []byte(strings.Join(strings.Fields(body), " "))) })
	}
	dir := "../../shared/data/standards/fhir-r4-examples"
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Logf("%s not present: shared examples skipped", dir)
		return
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(f), func(t *testing.T) { roundTrip(t, g, f, body) })
	}
}
