package conformance

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// FuzzValidate: whatever parses as JSON, validation never panics, reports
// at most MaxIssues (+1 note) issues, each with an expression, and agrees
// with itself.
func FuzzValidate(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(appt(`"contained":[{"resourceType":"Practitioner","id":"a"}],"supportingInformation":[{"reference":"#a"}],"_status":{"extension":[{"url":"x","valueString":"y"}]}`)))
	f.Add([]byte(`{"resourceType":"Patient","name":[{"given":[null,"a"],"_given":[{"id":"1"},null]}],"deceased":1}`))
	f.Add([]byte(`{"resourceType":"HealthcareService","extension":[{"url":"https://wachtwijzer.nl/fhir/StructureDefinition/published-waiting-time","extension":[{"url":"kind","valueCode":"x"},{"url":"kind"}]}]}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		tree, err := fhirjson.Parse(src, fhirjson.Limits{MaxDepth: 64})
		if err != nil {
			return
		}
		for _, typ := range []string{"Appointment", "Patient", "HealthcareService"} {
			issues, kind := Check(context.Background(), typ, tree, Options{})
			if len(issues) > MaxIssues+1 {
				t.Fatalf("%d issues", len(issues))
			}
			for _, is := range issues {
				if len(is.Expression) == 0 || is.Diagnostics == "" {
					t.Fatalf("issue without expression or diagnostic: %+v", is)
				}
			}
			err := Validate(context.Background(), typ, tree)
			if (err == nil) != (kind == 0) {
				t.Fatalf("Validate %v but Check kind %v", err, kind)
			}
		}
	})
}
