package conformance

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// The typed models (golang-fhir-models) are no longer on the write path:
// the table-driven walk checks everything their decode did (types, codes
// of required bindings) and more (unknown elements, cardinality,
// dateTimes, contained resources, primitive extensions), without a second
// decode. This test keeps the two in agreement where they overlap:
// everything the validator accepts, the models can read.
func TestWhatTheValidatorAcceptsTheModelsRead(t *testing.T) {
	var srcs []string
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, string(b))
	}
	srcs = append(srcs,
		appt(`"contained":[{"resourceType":"Practitioner","id":"pr"}],"supportingInformation":[{"reference":"#pr"}]`),
		`{"resourceType":"Patient","name":[{"given":["Jan",null],"_given":[null,{"extension":[{"url":"http://example.org/x","valueString":"b"}]}]}]}`,
		`{"resourceType":"Organization","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"06020502"}]}`,
		`{"resourceType":"HealthcareService","extension":[{"url":"https://wachtwijzer.nl/fhir/StructureDefinition/published-waiting-time","extension":[{"url":"kind","valueCode":"outpatient"},{"url":"days","valueInteger":31},{"url":"measuredOn","valueDate":"2026-11-24"}]}]}`,
	)
	for _, src := range srcs {
		tree := parse(t, src)
		typ := tree.GetStr("resourceType")
		if err := Validate(context.Background(), typ, tree); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		ti, _ := Lookup(typ)
		if err := ti.check(tree.Bytes()); err != nil {
			t.Errorf("the validator accepts a %s the model cannot read: %v", typ, err)
		}
	}
}
