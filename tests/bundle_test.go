package tests

import (
	"fmt"
	"strings"
	"testing"
)

func entry(fullURL, method, url string, resource string, extra ...string) string {
	req := fmt.Sprintf(`"method":%q,"url":%q`, method, url)
	for _, e := range extra {
		req += "," + e
	}
	s := "{"
	if fullURL != "" {
		s += fmt.Sprintf(`"fullUrl":%q,`, fullURL)
	}
	if resource != "" {
		s += `"resource":` + resource + ","
	}
	return s + `"request":{` + req + "}}"
}

func bundle(typ string, entries ...string) string {
	return fmt.Sprintf(`{"resourceType":"Bundle","type":%q,"entry":[%s]}`, typ, strings.Join(entries, ","))
}

const orgUMC = `{"resourceType":"Organization","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"06990101"}],"name":"UMC"}`

func TestTransactionReplacesPlaceholdersEverywhere(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	pat := `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Patient of <a href=\"urn:uuid:9e3f0c9e-0000-4000-8000-000000000001\">the UMC</a></div>"},"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}],"managingOrganization":{"reference":"urn:uuid:9e3f0c9e-0000-4000-8000-000000000001"}}`
	sr := `{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{"reference":"urn:uuid:9e3f0c9e-0000-4000-8000-000000000002"},"performer":[{"reference":"urn:uuid:9e3f0c9e-0000-4000-8000-000000000001"}],"instantiatesUri":["urn:uuid:9e3f0c9e-0000-4000-8000-000000000001"],"authoredOn":"2026-10-01"}`
	appt := `{"resourceType":"Appointment","status":"waitlist","basedOn":[{"reference":"urn:uuid:9e3f0c9e-0000-4000-8000-000000000003"}],"participant":[{"status":"accepted","actor":{"reference":"urn:uuid:9e3f0c9e-0000-4000-8000-000000000002"}}]}`
	b := bundle("transaction",
		entry("urn:uuid:9e3f0c9e-0000-4000-8000-000000000003", "POST", "ServiceRequest", sr),
		entry("urn:uuid:9e3f0c9e-0000-4000-8000-000000000004", "POST", "Appointment", appt),
		entry("urn:uuid:9e3f0c9e-0000-4000-8000-000000000001", "POST", "Organization", orgUMC),
		entry("urn:uuid:9e3f0c9e-0000-4000-8000-000000000002", "POST", "Patient", pat),
	)
	r := expect(t, g.Do(t, "POST", "/fhir", b), 200)
	resp := r.JSON(t)
	if resp["type"] != "transaction-response" {
		t.Fatalf("type %v", resp["type"])
	}
	locs := map[string]string{}
	for i, e := range resp["entry"].([]any) {
		if st := str(path(e, "response", "status")); !strings.HasPrefix(st, "201") {
			t.Fatalf("entry %d status %q", i, st)
		}
		loc := str(path(e, "response", "location"))
		rel := strings.TrimPrefix(loc, g.Base+"/")
		typ, rest, _ := strings.Cut(rel, "/")
		id, _, _ := strings.Cut(rest, "/")
		locs[typ] = typ + "/" + id
	}
	// Response entries follow request order.
	if !strings.HasPrefix(str(path(resp, "entry", 0, "response", "location")), g.Base+"/ServiceRequest/") {
		t.Fatalf("response order does not follow the request: %s", r.Body)
	}
	got := g.Do(t, "GET", "/fhir/"+locs["ServiceRequest"], nil).JSON(t)
	if str(path(got, "subject", "reference")) != locs["Patient"] || str(path(got, "performer", 0, "reference")) != locs["Organization"] {
		t.Fatalf("references not rewritten: %v", got)
	}
	if str(path(got, "instantiatesUri", 0)) != locs["Organization"] {
		t.Fatalf("uri field not rewritten: %v", path(got, "instantiatesUri"))
	}
	a := g.Do(t, "GET", "/fhir/"+locs["Appointment"], nil).JSON(t)
	if str(path(a, "basedOn", 0, "reference")) != locs["ServiceRequest"] || str(path(a, "participant", 0, "actor", "reference")) != locs["Patient"] {
		t.Fatalf("appointment references: %v", a)
	}
	p := g.Do(t, "GET", "/fhir/"+locs["Patient"], nil).JSON(t)
	if str(path(p, "managingOrganization", "reference")) != locs["Organization"] {
		t.Fatalf("patient reference: %v", p)
	}
	if div := str(path(p, "text", "div")); !strings.Contains(div, `href="`+locs["Organization"]+`"`) || strings.Contains(div, "urn:uuid") {
		t.Fatalf("narrative link not rewritten: %s", div)
	}
}

func TestTransactionIsAllOrNothing(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	expect(t, g.Do(t, "PUT", "/fhir/Patient/taken", patientJSON("taken", "999911120", "Bezet")), 201)
	// The third entry fails validation: nothing of the Bundle may land.
	b := bundle("transaction",
		entry("", "PUT", "Patient/tx-a", patientJSON("tx-a", "999911120", "A")),
		entry("", "PUT", "Patient/tx-b", patientJSON("tx-b", "999911120", "B")),
		entry("", "POST", "Appointment", `{"resourceType":"Appointment","status":"not-a-status","participant":[{"status":"accepted"}]}`),
	)
	r := g.Do(t, "POST", "/fhir", b)
	outcome(t, r, 400, "code-invalid", "Bundle.entry[2]")
	if !strings.Contains(string(r.Body), "Bundle.entry[2].resource.status") {
		t.Fatalf("the error does not point into the entry: %s", r.Body)
	}
	for _, id := range []string{"tx-a", "tx-b"} {
		outcome(t, g.Do(t, "GET", "/fhir/Patient/"+id, nil), 404, "not-found")
	}
	// A version conflict in one entry fails the whole Bundle too.
	b = bundle("transaction",
		entry("", "PUT", "Patient/tx-a", patientJSON("tx-a", "999911120", "A")),
		entry("", "PUT", "Patient/taken", patientJSON("taken", "999911120", "B"), `"ifMatch":"W/\"7\""`),
	)
	outcome(t, g.Do(t, "POST", "/fhir", b), 412, "conflict")
	outcome(t, g.Do(t, "GET", "/fhir/Patient/tx-a", nil), 404, "not-found")
	// The same resource twice is refused.
	b = bundle("transaction",
		entry("", "PUT", "Patient/dup", patientJSON("dup", "999911120", "A")),
		entry("", "PUT", "Patient/dup", patientJSON("dup", "999911120", "B")),
	)
	outcome(t, g.Do(t, "POST", "/fhir", b), 400, "invalid", "only once")
	// Missing request: bdl-3.
	outcome(t, g.Do(t, "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":`+orgUMC+`}]}`), 400, "required", "bdl-3")
	outcome(t, g.Do(t, "POST", "/fhir", `{"resourceType":"Bundle","type":"collection"}`), 400, "value", "collection")
}

func TestTransactionConditionalReferencesAndEntries(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	expect(t, g.Do(t, "PUT", "/fhir/Organization/umc", `{"resourceType":"Organization","id":"umc","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"06990101"}],"name":"UMC"}`), 201)
	sr := func(ref string) string {
		return fmt.Sprintf(`{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{"reference":"Patient/x"},"performer":[{"reference":%q}]}`, ref)
	}
	// Exactly one match: resolved.
	b := bundle("transaction", entry("", "POST", "ServiceRequest", sr("Organization?identifier=http://fhir.nl/fhir/NamingSystem/agb-z|06990101")))
	r := expect(t, g.Do(t, "POST", "/fhir", b), 200)
	loc := strings.TrimPrefix(str(path(r.JSON(t), "entry", 0, "response", "location")), g.Base+"/")
	id := strings.Split(loc, "/")[1]
	got := g.Do(t, "GET", "/fhir/ServiceRequest/"+id, nil).JSON(t)
	if str(path(got, "performer", 0, "reference")) != "Organization/umc" {
		t.Fatalf("conditional reference not resolved: %v", got)
	}
	// No match and several matches fail the Bundle.
	b = bundle("transaction", entry("", "POST", "ServiceRequest", sr("Organization?identifier=http://fhir.nl/fhir/NamingSystem/agb-z|22000000")))
	outcome(t, g.Do(t, "POST", "/fhir", b), 412, "not-found", "matches no resource")
	expect(t, g.Do(t, "PUT", "/fhir/Organization/umc2", `{"resourceType":"Organization","id":"umc2","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"06990101"}],"name":"UMC 2"}`), 201)
	b = bundle("transaction", entry("", "POST", "ServiceRequest", sr("Organization?identifier=06990101")))
	outcome(t, g.Do(t, "POST", "/fhir", b), 412, "multiple-matches", "2 resources")
	// Conditional create inside a transaction, with a placeholder the others point at.
	pat := `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Patient of <a href=\"urn:uuid:9e3f0c9e-0000-4000-8000-000000000001\">the UMC</a></div>"},"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"123456782"}]}`
	b = bundle("transaction",
		entry("urn:uuid:11111111-0000-4000-8000-000000000001", "POST", "Patient", pat, `"ifNoneExist":"identifier=http://fhir.nl/fhir/NamingSystem/bsn|123456782"`),
		entry("", "POST", "ServiceRequest", `{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{"reference":"urn:uuid:11111111-0000-4000-8000-000000000001"}}`),
	)
	r1 := expect(t, g.Do(t, "POST", "/fhir", b), 200).JSON(t)
	r2 := expect(t, g.Do(t, "POST", "/fhir", b), 200).JSON(t)
	if !strings.HasPrefix(str(path(r1, "entry", 0, "response", "status")), "201") || !strings.HasPrefix(str(path(r2, "entry", 0, "response", "status")), "200") {
		t.Fatalf("conditional create statuses: %v / %v", path(r1, "entry", 0, "response"), path(r2, "entry", 0, "response"))
	}
	p1 := str(path(r1, "entry", 0, "response", "location"))
	p2 := str(path(r2, "entry", 0, "response", "location"))
	if p1 == "" || p1 != p2 {
		t.Fatalf("the second transaction did not reuse the patient: %s vs %s", p1, p2)
	}
	loc2 := strings.TrimPrefix(str(path(r2, "entry", 1, "response", "location")), g.Base+"/")
	sr2 := g.Do(t, "GET", "/fhir/"+strings.Join(strings.Split(loc2, "/")[:2], "/"), nil).JSON(t)
	if !strings.Contains(p1, str(path(sr2, "subject", "reference"))) {
		t.Fatalf("placeholder of a matched conditional create points elsewhere: %v vs %s", path(sr2, "subject"), p1)
	}
	// Conditional update and delete entries; GET runs after the writes.
	b = bundle("transaction",
		entry("", "PUT", "Organization?identifier=http://fhir.nl/fhir/NamingSystem/agb-z|22990401", `{"resourceType":"Organization","name":"ZBC"}`),
		entry("", "DELETE", "Organization?_id=umc2", ""),
		entry("", "GET", "Organization?identifier=http://fhir.nl/fhir/NamingSystem/agb-z|06990101", ""),
	)
	r = expect(t, g.Do(t, "POST", "/fhir", b), 200)
	rb := r.JSON(t)
	if !strings.HasPrefix(str(path(rb, "entry", 0, "response", "status")), "201") || !strings.HasPrefix(str(path(rb, "entry", 1, "response", "status")), "204") {
		t.Fatalf("conditional entries: %s", r.Body)
	}
	if fmt.Sprint(len(path(rb, "entry", 2, "resource", "entry").([]any))) != "1" {
		t.Fatalf("the GET entry did not see the delete: %s", r.Body)
	}
}

func TestBatchEntriesAreIndependent(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	b := bundle("batch",
		entry("", "PUT", "Patient/b1", patientJSON("b1", "999911120", "Goed")),
		entry("", "POST", "Appointment", `{"resourceType":"Appointment","status":"nope","participant":[{"status":"accepted"}]}`),
		entry("", "GET", "Patient/b1", ""),
		entry("", "GET", "Patient/missing", ""),
		entry("", "DELETE", "Patient/b1", ""),
	)
	r := expect(t, g.Do(t, "POST", "/fhir", b), 200).JSON(t)
	if r["type"] != "batch-response" {
		t.Fatalf("type %v", r["type"])
	}
	want := []string{"201", "400", "200", "404", "204"}
	defer func() {
		// An entry that is itself unusable (no request, PATCH, a foreign url)
		// fails alone; the others still run.
		b := bundle("batch",
			entry("", "PUT", "Patient/b2", patientJSON("b2", "999911120", "Goed")),
			`{"resource":{"resourceType":"Patient"}}`,
			entry("", "PATCH", "Patient/b2", ""),
			entry("", "GET", "http://elsewhere.example/fhir/Patient/b2", ""),
			entry("", "GET", "Patient/b2", ""),
		)
		r := expect(t, g.Do(t, "POST", "/fhir", b), 200).JSON(t)
		for i, w := range []string{"201", "400", "405", "400", "200"} {
			if st := str(path(r, "entry", i, "response", "status")); !strings.HasPrefix(st, w) {
				t.Errorf("unusable entries: entry %d status %q, want %s: %v", i, st, w, path(r, "entry", i))
			}
		}
		// In a transaction the same entry fails the whole Bundle.
		tx := bundle("transaction",
			entry("", "PUT", "Patient/b3", patientJSON("b3", "999911120", "Goed")),
			entry("", "PATCH", "Patient/b3", ""),
		)
		outcome(t, g.Do(t, "POST", "/fhir", tx), 405, "not-supported", "PATCH")
		expect(t, g.Do(t, "GET", "/fhir/Patient/b3", nil), 404)
	}()
	for i, w := range want {
		if st := str(path(r, "entry", i, "response", "status")); !strings.HasPrefix(st, w) {
			t.Fatalf("entry %d status %q, want %s: %v", i, st, w, path(r, "entry", i))
		}
	}
	if path(r, "entry", 1, "response", "outcome", "resourceType") != "OperationOutcome" {
		t.Fatalf("failed batch entry has no outcome: %v", path(r, "entry", 1))
	}
	if str(path(r, "entry", 2, "resource", "id")) != "b1" {
		t.Fatalf("GET entry: %v", path(r, "entry", 2))
	}
}

func TestTransactionRejectsDanglingPlaceholders(t *testing.T) {
	g := StartGateway(t, GatewayOptions{})
	tx := bundle("transaction",
		entry("urn:uuid:6b1d3c6e-0000-4000-8000-000000000001", "POST", "Patient", patientJSON("", "999911120", "Hangend")),
		entry("", "POST", "ServiceRequest", `{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{"reference":"urn:uuid:6b1d3c6e-0000-4000-8000-000000000009"}}`),
	)
	outcome(t, g.Do(t, "POST", "/fhir", tx), 400, "not-found", "urn:uuid:6b1d3c6e-0000-4000-8000-000000000009", "entry[1]")
	r := expect(t, g.Do(t, "GET", "/fhir/Patient?family=Hangend", nil), 200).JSON(t)
	if n := len(asSlice(r["entry"])); n != 0 {
		t.Fatalf("a failed transaction left %d Patients", n)
	}
}
