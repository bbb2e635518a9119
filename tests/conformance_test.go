package tests

import (
	"strings"
	"testing"
)

const orgAGB7 = `{"resourceType":"Organization","name":"Ziekenhuis","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"6020502"}]}`

// A REST write is validated strictly: a 7-digit AGB is a 422 that says
// which value to send instead, and several problems come back at once.
func TestRESTValidationRejectsWithFixes(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	outcome(t, g.Do(t, "POST", "/fhir/Organization", orgAGB7), 422, "value", `06020502`, "Organization.identifier[0].value")
	r := g.Do(t, "POST", "/fhir/Appointment", `{"resourceType":"Appointment","status":"later","start":"2026-12-01","minutesDuration":"5","bogus":1}`)
	outcome(t, r, 400, "", "Appointment.status", "Appointment.start", "Appointment.minutesDuration", "Appointment.bogus", "participant")
	if n := strings.Count(string(r.Body), `"severity":"error"`); n < 5 {
		t.Fatalf("want at least 5 issues at once, got %d: %s", n, r.Body)
	}
	// The BSN that fails the elfproef is never echoed.
	r = g.Do(t, "POST", "/fhir/Patient", patientJSON("", "123456789", "Jansen"))
	outcome(t, r, 422, "value", "elfproef")
	if strings.Contains(string(r.Body), "123456789") {
		t.Fatalf("the BSN is echoed: %s", r.Body)
	}
	// A transaction entry is validated the same way, and nothing is written.
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:3f1c0000-0000-4000-8000-000000000001","resource":` + orgAGB7 + `,"request":{"method":"POST","url":"Organization"}}]}`
	outcome(t, g.Do(t, "POST", "/fhir", tx), 422, "", "06020502")
	r = expect(t, g.Do(t, "GET", "/fhir/Organization?identifier=http://fhir.nl/fhir/NamingSystem/agb-z|6020502", nil), 200)
	if strings.Contains(string(r.Body), `"entry"`) {
		t.Fatalf("the rejected transaction wrote something: %s", r.Body)
	}
}

func TestValidateOperation(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	// Type level, the resource as the body: valid → 200 with an information issue.
	r := expect(t, g.Do(t, "POST", "/fhir/Patient/$validate", patientJSON("", "999911120", "Jansen")), 200)
	if m := r.JSON(t); m["resourceType"] != "OperationOutcome" || path(m, "issue", 0, "severity") != "information" {
		t.Fatalf("valid resource: %s", r.Body)
	}
	// Invalid → still 200 (the validation ran), the issues in the outcome.
	r = expect(t, g.Do(t, "POST", "/fhir/Organization/$validate", orgAGB7), 200)
	if !strings.Contains(string(r.Body), `"severity":"error"`) || !strings.Contains(string(r.Body), "06020502") {
		t.Fatalf("invalid resource: %s", r.Body)
	}
	// As Parameters with mode and profile; nothing is written.
	params := `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + orgAGB7 + `},{"name":"mode","valueCode":"create"},{"name":"profile","valueUri":"http://example.org/fhir/StructureDefinition/unknown"}]}`
	r = expect(t, g.Do(t, "POST", "/fhir/Organization/$validate", params), 200)
	if !strings.Contains(string(r.Body), "does not know") || !strings.Contains(string(r.Body), "06020502") {
		t.Fatalf("Parameters form: %s", r.Body)
	}
	r = expect(t, g.Do(t, "GET", "/fhir/Organization", nil), 200)
	if strings.Contains(string(r.Body), `"entry"`) {
		t.Fatalf("$validate wrote a resource: %s", r.Body)
	}
	// Instance level: GET checks the stored version; POST the body against it.
	r = expect(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "999911120", "Jansen")), 201)
	id := str(r.JSON(t)["id"])
	r = expect(t, g.Do(t, "GET", "/fhir/Patient/"+id+"/$validate", nil), 200)
	if path(r.JSON(t), "issue", 0, "severity") != "information" {
		t.Fatalf("stored resource: %s", r.Body)
	}
	r = expect(t, g.Do(t, "POST", "/fhir/Patient/"+id+"/$validate?mode=update", patientJSON("other", "999911120", "Jansen")), 200)
	if !strings.Contains(string(r.Body), "does not match") {
		t.Fatalf("update with another id: %s", r.Body)
	}
	expect(t, g.Do(t, "POST", "/fhir/Patient/"+id+"/$validate?mode=delete", nil), 200)
	// Input the operation cannot process.
	outcome(t, g.Do(t, "POST", "/fhir/Patient/$validate", `{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"create"}]}`), 400, "required", "needs a resource")
	outcome(t, g.Do(t, "POST", "/fhir/Patient/$validate?mode=sideways", patientJSON("", "999911120", "J")), 400, "value", "mode")
	outcome(t, g.Do(t, "GET", "/fhir/Patient/nope/$validate", nil), 404, "", "")
	// The CapabilityStatement lists it.
	r = expect(t, g.Do(t, "GET", "/fhir/metadata", nil), 200)
	if !strings.Contains(string(r.Body), `"name":"validate","definition":"http://hl7.org/fhir/OperationDefinition/Resource-validate"`) {
		t.Fatalf("metadata does not list $validate")
	}
}

func TestConformanceResourcesAreServedReadOnly(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	r := expect(t, g.Do(t, "GET", "/fhir/CodeSystem/wait-kind", nil), 200)
	m := r.JSON(t)
	if m["url"] != "https://wachtwijzer.nl/fhir/CodeSystem/wait-kind" || r.Header.Get("ETag") != `W/"1"` {
		t.Fatalf("CodeSystem/wait-kind: %s", r.Body)
	}
	expect(t, g.Do(t, "GET", "/fhir/CodeSystem/wait-kind/_history/1", nil), 200)
	expect(t, g.Do(t, "GET", "/fhir/Measure/regional-capacity", nil), 200)
	expect(t, g.Do(t, "GET", "/fhir/StructureDefinition/published-waiting-time", nil), 200)
	expect(t, g.Do(t, "GET", "/fhir/OperationDefinition/Resource-validate", nil), 200)
	outcome(t, g.Do(t, "GET", "/fhir/CodeSystem/nope", nil), 404, "not-found", "")
	// Search by url, and a custom SearchParameter under its canonical url.
	r = expect(t, g.Do(t, "GET", "/fhir/SearchParameter?url=https://wachtwijzer.nl/fhir/SearchParameter/Appointment-end", nil), 200)
	if m := r.JSON(t); str(m["total"].(interface{ String() string }).String()) != "1" || str(path(m, "entry", 0, "resource", "code")) != "end" {
		t.Fatalf("SearchParameter by url: %s", r.Body)
	}
	r = expect(t, g.Do(t, "GET", "/fhir/SearchParameter?base=Appointment&_count=5", nil), 200)
	if m := r.JSON(t); len(m["entry"].([]any)) != 5 || !strings.Contains(string(r.Body), `"relation":"next"`) {
		t.Fatalf("paging: %s", r.Body)
	}
	r = expect(t, g.Do(t, "GET", "/fhir/StructureDefinition?type=Extension", nil), 200)
	if !strings.Contains(string(r.Body), "published-waiting-time") {
		t.Fatalf("extension definitions: %s", r.Body)
	}
	// Writes are 405, whichever way they come.
	outcome(t, g.Do(t, "PUT", "/fhir/CodeSystem/wait-kind", string(r.Body)), 405, "not-supported", "read-only")
	outcome(t, g.Do(t, "POST", "/fhir/StructureDefinition", `{"resourceType":"StructureDefinition"}`), 405, "not-supported", "read-only")
	outcome(t, g.Do(t, "DELETE", "/fhir/Measure/regional-capacity", nil), 405, "not-supported", "read-only")
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"CodeSystem","status":"draft","content":"complete"},"request":{"method":"POST","url":"CodeSystem"}}]}`
	outcome(t, g.Do(t, "POST", "/fhir", tx), 405, "not-supported", "read-only")
	tx = `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"CodeSystem/wait-kind"}}]}`
	outcome(t, g.Do(t, "POST", "/fhir", tx), 405, "not-supported", "read-only")
	// The CapabilityStatement lists the conformance types read-only.
	r = expect(t, g.Do(t, "GET", "/fhir/metadata", nil), 200)
	for _, w := range []string{`"type":"StructureDefinition"`, `"type":"SearchParameter"`, `"type":"Measure"`, `"security"`} {
		if !strings.Contains(string(r.Body), w) {
			t.Fatalf("metadata lacks %s", w)
		}
	}
}
