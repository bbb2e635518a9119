package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const bsnSystem = "http://fhir.nl/fhir/NamingSystem/bsn"

func patientJSON(id, bsn, family string) string {
	idPart := ""
	if id != "" {
		idPart = fmt.Sprintf(`"id":%q,`, id)
	}
	return fmt.Sprintf(`{"resourceType":"Patient",%s"meta":{"versionId":"99","lastUpdated":"2001-01-01T00:00:00Z","profile":["http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"]},"identifier":[{"system":%q,"value":%q}],"name":[{"family":%q}]}`, idPart, bsnSystem, bsn, family)
}

func TestCreateReadVreadUpdateDelete(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	// Create: server id, 201, Location with the version, weak ETag, Last-Modified;
	// the client's meta.versionId/lastUpdated are replaced, its profile kept.
	r := expect(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("client-id-ignored", "999911120", "Jansen")), 201)
	created := r.JSON(t)
	id := str(created["id"])
	if id == "" || id == "client-id-ignored" {
		t.Fatalf("server did not assign an id: %s", r.Body)
	}
	if want := g.Base + "/Patient/" + id + "/_history/1"; r.Header.Get("Location") != want {
		t.Fatalf("Location %q, want %q", r.Header.Get("Location"), want)
	}
	if r.Header.Get("ETag") != `W/"1"` || r.Header.Get("Last-Modified") == "" {
		t.Fatalf("ETag %q, Last-Modified %q", r.Header.Get("ETag"), r.Header.Get("Last-Modified"))
	}
	if str(path(created, "meta", "versionId")) != "1" || strings.HasPrefix(str(path(created, "meta", "lastUpdated")), "2001") {
		t.Fatalf("server did not set meta: %s", r.Body)
	}
	if str(path(created, "meta", "profile", 0)) != "http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient" {
		t.Fatalf("client meta.profile lost: %s", r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		t.Fatalf("Content-Type %q", ct)
	}
	// Read.
	r = expect(t, g.Do(t, "GET", "/fhir/Patient/"+id, nil), 200)
	if r.Header.Get("ETag") != `W/"1"` {
		t.Fatalf("read ETag %q", r.Header.Get("ETag"))
	}
	// Conditional read: If-None-Match → 304.
	expect(t, g.Do(t, "GET", "/fhir/Patient/"+id, nil, `If-None-Match: W/"1"`), 304)
	// Update with the right If-Match → 200, version 2.
	r = expect(t, g.Do(t, "PUT", "/fhir/Patient/"+id, patientJSON(id, "999911120", "Jansen-Bakker"), `If-Match: W/"1"`), 200)
	if str(path(r.JSON(t), "meta", "versionId")) != "2" || r.Header.Get("ETag") != `W/"2"` {
		t.Fatalf("update: %s", r.Body)
	}
	// A stale If-Match → 412.
	outcome(t, g.Do(t, "PUT", "/fhir/Patient/"+id, patientJSON(id, "999911120", "X"), `If-Match: W/"1"`), 412, "conflict", "If-Match")
	// vread of version 1 still has the first name.
	r = expect(t, g.Do(t, "GET", "/fhir/Patient/"+id+"/_history/1", nil), 200)
	if !strings.Contains(string(r.Body), `"Jansen"`) || str(path(r.JSON(t), "meta", "versionId")) != "1" {
		t.Fatalf("vread 1: %s", r.Body)
	}
	outcome(t, g.Do(t, "GET", "/fhir/Patient/"+id+"/_history/9", nil), 404, "not-found")
	// Delete → 204; read → 410; delete again → 204; history keeps all.
	expect(t, g.Do(t, "DELETE", "/fhir/Patient/"+id, nil), 204)
	outcome(t, g.Do(t, "GET", "/fhir/Patient/"+id, nil), 410, "deleted")
	expect(t, g.Do(t, "DELETE", "/fhir/Patient/"+id, nil), 204)
	r = expect(t, g.Do(t, "GET", "/fhir/Patient/"+id+"/_history", nil), 200)
	h := r.JSON(t)
	if h["type"] != "history" || fmt.Sprint(h["total"]) != "3" {
		t.Fatalf("history: %s", r.Body)
	}
	if path(h, "entry", 0, "request", "method") != "DELETE" || path(h, "entry", 0, "resource") != nil {
		t.Fatalf("the delete is not the newest history entry: %s", r.Body)
	}
	if path(h, "entry", 2, "request", "method") != "POST" || str(path(h, "entry", 2, "resource", "meta", "versionId")) != "1" {
		t.Fatalf("oldest history entry: %s", r.Body)
	}
	// Unknown id → 404.
	outcome(t, g.Do(t, "GET", "/fhir/Patient/nope", nil), 404, "not-found")
}

func TestUpdateAsCreateAndIDRules(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	r := expect(t, g.Do(t, "PUT", "/fhir/Patient/client-chosen-1", patientJSON("client-chosen-1", "123456782", "Visser")), 201)
	if str(r.JSON(t)["id"]) != "client-chosen-1" || r.Header.Get("Location") != g.Base+"/Patient/client-chosen-1/_history/1" {
		t.Fatalf("update-as-create: %s %s", r.Body, r.Header.Get("Location"))
	}
	outcome(t, g.Do(t, "PUT", "/fhir/Patient/a", patientJSON("b", "123456782", "V")), 400, "invalid", `id \"b\" does not match the id \"a\"`)
	outcome(t, g.Do(t, "PUT", "/fhir/Patient/a", patientJSON("", "123456782", "V")), 400, "required", "id")
	outcome(t, g.Do(t, "POST", "/fhir/Patient", `{"resourceType":"Appointment","status":"booked","participant":[{"status":"accepted"}]}`), 400, "invalid", "resourceType", "Appointment")
	outcome(t, g.Do(t, "POST", "/fhir/Bogus", `{"resourceType":"Bogus"}`), 404, "not-supported", "Bogus")
	outcome(t, g.Do(t, "GET", "/fhir/Bogus/1", nil), 404, "not-supported")
	outcome(t, g.Do(t, "PUT", "/fhir/Patient/bad$id", patientJSON("bad$id", "123456782", "V")), 400, "value")
}

func TestValidationErrorsNameTheElement(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	// Invalid JSON: line and column.
	outcome(t, g.Do(t, "POST", "/fhir/Patient", "{\n  \"resourceType\": \"Patient\",\n  \"active\": tru\n}"), 400, "structure", "line 3", "column 13")
	// An unknown code names its element.
	r := g.Do(t, "POST", "/fhir/Appointment", `{"resourceType":"Appointment","status":"rescheduled","participant":[{"status":"accepted","actor":{"reference":"Patient/1"}}]}`)
	outcome(t, r, 400, "code-invalid", "rescheduled")
	if !strings.Contains(string(r.Body), `"expression":["Appointment.status"]`) {
		t.Fatalf("no expression for the bad status: %s", r.Body)
	}
	// Wrong JSON type names the element.
	r = g.Do(t, "POST", "/fhir/Appointment", `{"resourceType":"Appointment","status":"booked","participant":{"status":"accepted"}}`)
	outcome(t, r, 400, "structure", "Appointment.participant")
	// FHIR JSON rules: empty strings and nulls.
	r = g.Do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient","name":[{"family":""}],"gender":null}`)
	outcome(t, r, 400, "structure", "Patient.name[0].family", "Patient.gender")
	// Duplicate keys.
	outcome(t, g.Do(t, "POST", "/fhir/Patient", `{"resourceType":"Patient","gender":"male","gender":"female"}`), 400, "structure", "duplicate member")
	// Not an object.
	outcome(t, g.Do(t, "POST", "/fhir/Patient", `[1,2]`), 400, "structure", "JSON object")
	// Contained resources are checked too.
	r = g.Do(t, "POST", "/fhir/Appointment", `{"resourceType":"Appointment","status":"booked","contained":[{"resourceType":"Practitioner","id":"p","gender":"robot"}],"participant":[{"status":"accepted","actor":{"reference":"#p"}}]}`)
	outcome(t, r, 400, "code-invalid", "Appointment.contained[0].gender")
}

func TestContentNegotiation(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	cases := []struct {
		name, accept, format string
		status               int
		ct                   string
	}{
		{"no Accept gives FHIR JSON", "", "", 200, "application/fhir+json"},
		{"application/fhir+json", "application/fhir+json", "", 200, "application/fhir+json"},
		{"plain application/json is answered as such", "application/json", "", 200, "application/json"},
		{"legacy json+fhir", "application/json+fhir", "", 200, "application/fhir+json"},
		{"q-values pick JSON over XML", "application/fhir+xml;q=0.9, application/fhir+json;q=0.5", "", 200, "application/fhir+json"},
		{"XML only is 406", "application/fhir+xml", "", 406, "application/fhir+json"},
		{"_format=json overrides Accept", "application/fhir+xml", "json", 200, "application/fhir+json"},
		{"_format=xml is 406", "", "xml", 406, "application/fhir+json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := "/fhir/metadata"
			if c.format != "" {
				p += "?_format=" + c.format
			}
			var h []string
			if c.accept != "" {
				h = append(h, "Accept: "+c.accept)
			}
			r := g.Do(t, "GET", p, nil, h...)
			if r.Status != c.status || !strings.HasPrefix(r.Header.Get("Content-Type"), c.ct) {
				t.Fatalf("status %d content type %q: %s", r.Status, r.Header.Get("Content-Type"), r.Body)
			}
		})
	}
	// XML bodies are 415.
	r := g.Do(t, "POST", "/fhir/Patient", `<Patient xmlns="http://hl7.org/fhir"/>`, "Content-Type: application/fhir+xml")
	outcome(t, r, 415, "not-supported", "JSON")
	expect(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "999911120", "J"), "Content-Type: application/json"), 201)
}

func TestPreferReturn(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	r := expect(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "999911120", "A"), "Prefer: return=minimal"), 201)
	if len(r.Body) != 0 || r.Header.Get("Location") == "" || r.Header.Get("ETag") == "" {
		t.Fatalf("return=minimal: body %q, Location %q", r.Body, r.Header.Get("Location"))
	}
	r = expect(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "999911120", "B"), "Prefer: return=OperationOutcome"), 201)
	if r.JSON(t)["resourceType"] != "OperationOutcome" {
		t.Fatalf("return=OperationOutcome: %s", r.Body)
	}
	r = expect(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "999911120", "C"), "Prefer: return=representation"), 201)
	if r.JSON(t)["resourceType"] != "Patient" {
		t.Fatalf("return=representation: %s", r.Body)
	}
	id := str(r.JSON(t)["id"])
	r = expect(t, g.Do(t, "DELETE", "/fhir/Patient/"+id, nil, "Prefer: return=OperationOutcome"), 200)
	if r.JSON(t)["resourceType"] != "OperationOutcome" || !strings.Contains(string(r.Body), "deleted") {
		t.Fatalf("delete with OperationOutcome: %s", r.Body)
	}
}

func TestConditionalCreate(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	ine := "If-None-Exist: identifier=" + bsnSystem + "|249566758"
	r := expect(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "249566758", "Eerst"), ine), 201)
	first := str(r.JSON(t)["id"])
	// A second conditional create with the same criteria returns the first: 200, nothing written.
	r = expect(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "249566758", "Tweede"), ine), 200)
	if str(r.JSON(t)["id"]) != first || !strings.Contains(string(r.Body), "Eerst") {
		t.Fatalf("conditional create did not return the existing resource: %s", r.Body)
	}
	h := g.Do(t, "GET", "/fhir/Patient/_history", nil).JSON(t)
	if fmt.Sprint(h["total"]) != "" && fmt.Sprint(path(h, "total")) != "<nil>" && fmt.Sprint(path(h, "total")) != "1" {
		t.Fatalf("a second version was written: %v", h["total"])
	}
	if n := len(path(h, "entry").([]any)); n != 1 {
		t.Fatalf("type history has %d entries, want 1", n)
	}
	// Value without a system also matches.
	expect(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "249566758", "Derde"), "If-None-Exist: identifier=249566758"), 200)
	// _id criteria.
	expect(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "249566758", "Vierde"), "If-None-Exist: _id="+first), 200)
	// Two matches → 412.
	expect(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "249566758", "Dubbel"), nil...), 201)
	outcome(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "249566758", "Vijfde"), ine), 412, "multiple-matches")
	// Criteria are parsed strictly: an unknown parameter is 400, never a match-all.
	outcome(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "999911120", "X"), "If-None-Exist: idenitfier=123"), 400, "not-supported", "idenitfier")
	outcome(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "999911120", "X"), "If-None-Exist: identifier:text=123"), 400, "not-supported")
}

func TestConditionalUpdateAndDelete(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	q := "/fhir/Patient?identifier=" + bsnSystem + "%7C123456782"
	// No match: creates.
	r := expect(t, g.Do(t, "PUT", q, patientJSON("", "123456782", "Een")), 201)
	id := str(r.JSON(t)["id"])
	// One match: updates that resource.
	r = expect(t, g.Do(t, "PUT", q, patientJSON("", "123456782", "Twee")), 200)
	if str(r.JSON(t)["id"]) != id || str(path(r.JSON(t), "meta", "versionId")) != "2" {
		t.Fatalf("conditional update: %s", r.Body)
	}
	// A body id that differs from the match → 400.
	outcome(t, g.Do(t, "PUT", q, patientJSON("other", "123456782", "Drie")), 400, "invalid", "other")
	// Two matches → 412.
	expect(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "123456782", "Kopie")), 201)
	outcome(t, g.Do(t, "PUT", q, patientJSON("", "123456782", "Vier")), 412, "multiple-matches")
	outcome(t, g.Do(t, "DELETE", q, nil), 412, "multiple-matches")
	// Conditional delete: 0 matches → 204 and nothing happens; 1 → deleted.
	expect(t, g.Do(t, "DELETE", "/fhir/Patient?identifier="+bsnSystem+"%7C999911120", nil), 204)
	expect(t, g.Do(t, "DELETE", "/fhir/Patient?_id="+id, nil), 204)
	outcome(t, g.Do(t, "GET", "/fhir/Patient/"+id, nil), 410, "deleted")
	outcome(t, g.Do(t, "DELETE", "/fhir/Patient?bogus=1", nil), 400, "not-supported", "bogus")
	outcome(t, g.Do(t, "DELETE", "/fhir/Patient", nil), 405, "not-supported")
}

func TestHistoryParameters(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	var ids []string
	for i := 0; i < 5; i++ {
		r := expect(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", "999911120", fmt.Sprint("P", i))), 201)
		ids = append(ids, str(r.JSON(t)["id"]))
		time.Sleep(3 * time.Millisecond)
	}
	mid := str(path(g.Do(t, "GET", "/fhir/Patient/"+ids[2], nil).JSON(t), "meta", "lastUpdated"))
	expect(t, g.Do(t, "PUT", "/fhir/Patient/"+ids[0], patientJSON(ids[0], "999911120", "P0b")), 200)
	// _since keeps versions at or after the instant: P2, P3, P4 and the P0 update.
	h := expect(t, g.Do(t, "GET", "/fhir/Patient/_history?_since="+mid, nil), 200).JSON(t)
	if n := len(path(h, "entry").([]any)); n != 4 {
		t.Fatalf("_since=%s: %d entries, want 4", mid, n)
	}
	// Paging with _count follows next links without duplicates or gaps.
	seen := map[string]bool{}
	next := g.URL + "/fhir/Patient/_history?_count=2"
	pages := 0
	for next != "" {
		b := expect(t, g.Do(t, "GET", next, nil), 200).JSON(t)
		pages++
		entries, _ := b["entry"].([]any)
		for _, e := range entries {
			k := str(path(e, "fullUrl")) + "@" + str(path(e, "resource", "meta", "versionId"))
			if seen[k] {
				t.Fatalf("version %s on two pages", k)
			}
			seen[k] = true
		}
		next = ""
		for _, l := range b["link"].([]any) {
			if path(l, "relation") == "next" {
				next = str(path(l, "url"))
			}
		}
	}
	if len(seen) != 6 || pages != 3 {
		t.Fatalf("paged history: %d versions over %d pages, want 6 over 3", len(seen), pages)
	}
	// A tampered page token is a 400.
	outcome(t, g.Do(t, "GET", "/fhir/Patient/_history?_count=2&_page=AAAA", nil), 400, "invalid", "page token")
	outcome(t, g.Do(t, "GET", "/fhir/Patient/_history?_since=yesterday", nil), 400, "value", "_since")
	// System history includes the Patients.
	sys := expect(t, g.Do(t, "GET", "/fhir/_history?_count=100", nil), 200).JSON(t)
	if n := len(path(sys, "entry").([]any)); n < 6 {
		t.Fatalf("system history has %d entries", n)
	}
}

func TestBodyLimitAndMethodErrors(t *testing.T) {
	g := StartGateway(t, GatewayOptions{Args: []string{"--max-body-bytes", "2048"}})
	big := patientJSON("", "999911120", strings.Repeat("x", 4000))
	outcome(t, g.Do(t, "POST", "/fhir/Patient", big), 413, "too-long", "2048")
	outcome(t, g.Do(t, "PATCH", "/fhir/Patient/1", `{}`), 405, "not-supported")
	outcome(t, g.Do(t, "GET", "/nothing-here", nil), 404, "not-found")
	outcome(t, g.Do(t, "POST", "/fhir/Patient", ""), 400, "required")
}

func TestCapabilityStatement(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	cs := expect(t, g.Do(t, "GET", "/fhir/metadata", nil), 200).JSON(t)
	if cs["resourceType"] != "CapabilityStatement" || cs["fhirVersion"] != "4.0.1" || cs["kind"] != "instance" || cs["status"] != "active" {
		t.Fatalf("metadata: %v", cs)
	}
	res, _ := path(cs, "rest", 0, "resource").([]any)
	types := map[string]map[string]any{}
	for _, r := range res {
		m := r.(map[string]any)
		types[str(m["type"])] = m
	}
	for _, want := range []string{"Appointment", "Slot", "Schedule", "HealthcareService", "Location", "Organization", "Practitioner", "PractitionerRole", "Patient", "ServiceRequest", "Coverage", "InsurancePlan"} {
		r, ok := types[want]
		if !ok {
			t.Fatalf("metadata lacks %s", want)
		}
		if r["versioning"] != "versioned-update" || r["conditionalCreate"] != true || r["updateCreate"] != true {
			t.Fatalf("%s capabilities: %v", want, r)
		}
		found := false
		for _, sp := range r["searchParam"].([]any) {
			if path(sp, "name") == "identifier" {
				found = true
			}
		}
		if !found {
			t.Fatalf("%s does not list the identifier search parameter", want)
		}
	}
	inter := fmt.Sprint(path(cs, "rest", 0, "interaction"))
	if !strings.Contains(inter, "transaction") || !strings.Contains(inter, "batch") {
		t.Fatalf("system interactions: %s", inter)
	}
}

func TestHealthReadinessMetricsAndAccessLog(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	expect(t, g.Do(t, "GET", "/healthz", nil), 200)
	expect(t, g.Do(t, "GET", "/readyz", nil), 200)
	secret := "999911120"
	g.Do(t, "GET", "/fhir/Patient?identifier="+secret, nil)
	g.Do(t, "GET", "/fhir/Patient/some-id", nil)
	m := expect(t, g.Do(t, "GET", "/metrics", nil), 200)
	for _, want := range []string{`wachtwijzer_http_requests_total{method="GET",route="/fhir/:type/:id",status="404"}`, "wachtwijzer_http_request_duration_seconds_bucket", "wachtwijzer_redis_pool_conn_total_current", "go_goroutines"} {
		if !strings.Contains(string(m.Body), want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
	// the access log is flushed every 100 ms
	var logs string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if logs = g.Stderr.String(); strings.Contains(logs, `"route":"/fhir/:type/:id"`) {
			break
		}
	}
	if !strings.Contains(logs, `"route":"/fhir/:type"`) || !strings.Contains(logs, `"status":200`) {
		t.Fatalf("access log lacks the route template: %s", logs)
	}
	if strings.Contains(logs, secret) || strings.Contains(logs, "some-id") {
		t.Fatalf("the access log recorded query or path values")
	}
	if !strings.Contains(string(m.Body), "wachtwijzer_redis_script_duration_seconds") {
		// No write happened yet in this gateway: write one and check again.
		expect(t, g.Do(t, "POST", "/fhir/Patient", patientJSON("", secret, "M")), 201)
		m = g.Do(t, "GET", "/metrics", nil)
		if !strings.Contains(string(m.Body), `wachtwijzer_redis_script_duration_seconds_count{outcome="ok",script="commit"}`) {
			t.Fatalf("no script timing metric")
		}
	}
	_ = http.StatusOK
}

// A PUT that changes nothing answers 200 with the stored version and writes
// no new one (history stays as it was).
func TestUnchangedPutKeepsTheVersion(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	body := patientJSON("same1", "999911120", "Gelijk")
	expect(t, g.Do(t, "PUT", "/fhir/Patient/same1", body), 201)
	r := expect(t, g.Do(t, "PUT", "/fhir/Patient/same1", body), 200)
	if r.Header.Get("ETag") != `W/"1"` {
		t.Fatalf("an unchanged PUT: ETag %s, want W/\"1\"", r.Header.Get("ETag"))
	}
	h := expect(t, g.Do(t, "GET", "/fhir/Patient/same1/_history", nil), 200).JSON(t)
	if n := len(asSlice(h["entry"])); n != 1 {
		t.Fatalf("history has %d versions after an unchanged PUT, want 1", n)
	}
	outcome(t, g.Do(t, "PUT", "/fhir/Patient/same1", body, "Prefer: return=OperationOutcome"), 200, "informational", "already has this content")
}
