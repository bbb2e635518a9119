package conformance

import (
	"context"
	"strings"
	"testing"
)

// Ingest normalises what REST rejects: the 7-digit AGB gets its 0 back,
// the change is recorded in meta.tag, and the result validates.
func TestIngestNormalisesWhatRESTRejects(t *testing.T) {
	src := `{"resourceType":"Organization","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"6020502"},{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"06020502"}],"partOf":{"identifier":{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"2200001"}}}`
	res := parse(t, src)
	if err := Validate(context.Background(), "Organization", res); err == nil {
		t.Fatal("the strict check must reject a 7-digit AGB")
	}
	ns := NormalizeIdentifiers("Organization", res)
	if len(ns) != 2 || ns[0].Path != "Organization.identifier[0].value" || ns[0].To != "06020502" || ns[1].Path != "Organization.partOf.identifier.value" {
		t.Fatalf("normalisations: %+v", ns)
	}
	RecordNormalizations(res, ns)
	if err := Validate(context.Background(), "Organization", res); err != nil {
		t.Fatalf("after normalising: %v", err)
	}
	b := string(res.Bytes())
	if !strings.Contains(b, `"code":"normalised"`) || !strings.Contains(b, "6020502 → 06020502 at Organization.identifier[0].value") {
		t.Fatalf("not recorded: %s", b)
	}
	// Nothing to change: nothing recorded.
	res = parse(t, `{"resourceType":"Organization","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"06020502"}]}`)
	if ns := NormalizeIdentifiers("Organization", res); len(ns) != 0 {
		t.Fatalf("changed a valid AGB: %+v", ns)
	}
}
