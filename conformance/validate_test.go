package conformance

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

func parse(t testing.TB, src string) *fhirjson.Value {
	t.Helper()
	v, err := fhirjson.Parse([]byte(src), fhirjson.Limits{})
	if err != nil {
		t.Fatalf("test JSON does not parse: %v\n%s", err, src)
	}
	return v
}

func check(t testing.TB, typ, src string) ([]ww.Issue, ww.Kind) {
	t.Helper()
	return Check(context.Background(), typ, parse(t, src), Options{})
}

const apptBase = `"resourceType":"Appointment","status":"booked","start":"2026-12-01T09:00:00+01:00","end":"2026-12-01T09:20:00+01:00","participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]`

func appt(extra string) string {
	if extra == "" {
		return "{" + apptBase + "}"
	}
	return "{" + apptBase + "," + extra + "}"
}

func TestValidResourcesPass(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if dir := "../../shared/data/standards/fhir-r4-examples"; dirExists(dir) {
		more, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		files = append(files, more...)
	}
	if len(files) < 2 {
		t.Fatal("no example resources found")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tree := parse(t, string(src))
		typ := tree.GetStr("resourceType")
		issues, kind := Check(context.Background(), typ, tree, Options{})
		if kind != 0 {
			t.Errorf("%s: a valid %s was rejected (%v): %+v", f, typ, kind, issues)
		}
	}
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// Each case: a resource, the kind of error (0: valid), and for the first
// issue the expression and words its diagnostic must contain.
func TestValidationFindings(t *testing.T) {
	cases := []struct {
		name, typ, src string
		kind           ww.Kind
		expr           string
		words          []string
	}{
		{"an unknown element is an error with a suggestion", "Appointment", appt(`"statuss":"booked"`), ww.KindInvalid,
			"Appointment.statuss", []string{"did you mean status"}},
		{"a missing required element names it", "Appointment", `{"resourceType":"Appointment","status":"booked"}`, ww.KindInvalid,
			"Appointment", []string{"has no participant", "1..*"}},
		{"a code outside the required value set lists the allowed codes", "Appointment", strings.Replace(appt(""), `"booked"`, `"rescheduled"`, 1), ww.KindInvalid,
			"Appointment.status", []string{`"rescheduled"`, "appointmentstatus", "waitlist"}},
		{"an instant without time", "Appointment", strings.Replace(appt(""), `"2026-12-01T09:00:00+01:00"`, `"2026-12-01"`, 1), ww.KindInvalid,
			"Appointment.start", []string{"instant", "time is missing"}},
		{"an instant without zone", "Appointment", strings.Replace(appt(""), `"2026-12-01T09:00:00+01:00"`, `"2026-12-01T09:00:00"`, 1), ww.KindInvalid,
			"Appointment.start", []string{"zone"}},
		{"a dateTime on a day that does not exist", "Appointment", appt(`"created":"2026-02-30"`), ww.KindInvalid,
			"Appointment.created", []string{"day does not exist"}},
		{"a repeating element given as an object", "Appointment", `{"resourceType":"Appointment","status":"booked","participant":{"status":"accepted"}}`, ww.KindInvalid,
			"Appointment.participant", []string{"must be an array"}},
		{"a single element given as an array", "Appointment", appt(`"description":["a"]`), ww.KindInvalid,
			"Appointment.description", []string{"single value"}},
		{"a number given as a string", "Appointment", appt(`"minutesDuration":"20"`), ww.KindInvalid,
			"Appointment.minutesDuration", []string{"JSON number"}},
		{"a positiveInt of 0", "Appointment", appt(`"minutesDuration":0`), ww.KindInvalid,
			"Appointment.minutesDuration", []string{"1 or more"}},
		{"a reference that is not Type/id", "Appointment", appt(`"basedOn":[{"reference":"ServiceRequest 12"}]`), ww.KindInvalid,
			"Appointment.basedOn[0].reference", []string{"Type/id"}},
		{"a reference to a type the element does not allow", "Appointment", appt(`"basedOn":[{"reference":"Patient/p1"}]`), ww.KindInvalid,
			"Appointment.basedOn[0].reference", []string{"ServiceRequest only"}},
		{"a conditional reference outside a transaction", "Appointment", appt(`"basedOn":[{"reference":"ServiceRequest?identifier=x|1"}]`), ww.KindInvalid,
			"Appointment.basedOn[0].reference", []string{"transaction"}},
		{"a local reference without its contained resource", "Appointment", appt(`"supportingInformation":[{"reference":"#nope"}]`), ww.KindInvalid,
			"Appointment.supportingInformation[0].reference", []string{"no contained resource"}},
		{"a contained resource is validated too", "Appointment", appt(`"contained":[{"resourceType":"Practitioner","id":"pr","nmae":[{"family":"X"}]}],"supportingInformation":[{"reference":"#pr"}]`), ww.KindInvalid,
			"Appointment.contained[0].nmae", []string{"did you mean name"}},
		{"a contained resource inside a contained resource", "Appointment", appt(`"contained":[{"resourceType":"Practitioner","id":"pr","contained":[{"resourceType":"Patient","id":"x"}]}]`), ww.KindInvalid,
			"Appointment.contained[0].contained[0]", []string{"dom-2"}},
		{"a primitive extension that is not an object", "Appointment", appt(`"_status":"x"`), ww.KindInvalid,
			"Appointment._status", []string{"JSON object"}},
		{"a primitive extension for an element that is not primitive", "Appointment", appt(`"_participant":[{"id":"x"}]`), ww.KindInvalid,
			"Appointment._participant", []string{"no primitive element"}},
		{"null in a repeating primitive without its extension", "Patient", `{"resourceType":"Patient","name":[{"given":["Jan",null]}]}`, ww.KindInvalid,
			"Patient.name[0].given[1]", []string{"null"}},
		{"an extension with both a value and extensions", "Patient", `{"resourceType":"Patient","extension":[{"url":"http://example.org/x","valueString":"a","extension":[{"url":"y","valueString":"b"}]}]}`, ww.KindInvalid,
			"Patient.extension[0]", []string{"ext-1"}},
		{"two types of one choice element", "Patient", `{"resourceType":"Patient","deceasedBoolean":false,"deceasedDateTime":"2020-01-01"}`, ww.KindInvalid,
			"Patient.deceasedDateTime", []string{"deceasedBoolean"}},
		{"a choice element without its type", "Patient", `{"resourceType":"Patient","deceased":false}`, ww.KindInvalid,
			"Patient.deceased", []string{"deceasedBoolean"}},
		{"an empty string", "Patient", `{"resourceType":"Patient","gender":""}`, ww.KindInvalid,
			"Patient.gender", []string{"empty string"}},
		{"an empty object", "Patient", `{"resourceType":"Patient","maritalStatus":{}}`, ww.KindInvalid,
			"Patient.maritalStatus", []string{"empty object"}},
		{"an empty array", "Patient", `{"resourceType":"Patient","name":[]}`, ww.KindInvalid,
			"Patient.name", []string{"empty array"}},
		{"null outside an array", "Patient", `{"resourceType":"Patient","gender":null}`, ww.KindInvalid,
			"Patient.gender", []string{"null"}},
		{"a wrong resourceType", "Patient", `{"resourceType":"Person"}`, ww.KindInvalid,
			"resourceType", []string{"does not match"}},
		{"a boolean as a string", "Patient", `{"resourceType":"Patient","active":"true"}`, ww.KindInvalid,
			"Patient.active", []string{"JSON boolean"}},
		{"a core extension with a value of the wrong type", "Patient", `{"resourceType":"Patient","name":[{"family":"Jansen","_family":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-name","valueInteger":1}]}}]}`, ww.KindUnprocessable,
			"Patient.name[0]._family.extension[0]", []string{"valueInteger", "string"}},

		{"a BSN failing the elfproef is a 422 that does not repeat it", "Patient", `{"resourceType":"Patient","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"123456789"}]}`, ww.KindUnprocessable,
			"Patient.identifier[0].value", []string{"elfproef"}},
		{"a 7-digit AGB is a 422 suggesting the padded value", "Organization", `{"resourceType":"Organization","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"6020502"}]}`, ww.KindUnprocessable,
			"Organization.identifier[0].value", []string{`"06020502"`, "8 digits"}},
		{"a URA of 7 digits", "Organization", `{"resourceType":"Organization","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/ura","value":"1234567"}]}`, ww.KindUnprocessable,
			"Organization.identifier[0].value", []string{"URA", "8 digits"}},
		{"a UZOVI of 5 digits", "Organization", `{"resourceType":"Organization","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/uzovi","value":"71190"}]}`, ww.KindUnprocessable,
			"Organization.identifier[0].value", []string{"UZOVI", "4 digits"}},
		{"an AGB in a reference's identifier is checked too", "Appointment", appt(`"basedOn":[{"identifier":{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"123"}}]`), ww.KindUnprocessable,
			"Appointment.basedOn[0].identifier.value", []string{"AGB"}},
		{"nl-core-Patient allows one BSN", "Patient", `{"resourceType":"Patient","meta":{"profile":["http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"]},"identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"},{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"123456782"}]}`, ww.KindUnprocessable,
			"Patient.identifier", []string{"at most 1", "bsn"}},
		{"a profile of another type", "Patient", `{"resourceType":"Patient","meta":{"profile":["http://nictiz.nl/fhir/StructureDefinition/nl-core-HealthcareProvider-Organization"]}}`, ww.KindUnprocessable,
			"Patient.meta.profile[0]", []string{"constrains Organization"}},
		{"a project extension with the wrong value type", "HealthcareService", `{"resourceType":"HealthcareService","extension":[{"url":"https://wachtwijzer.nl/fhir/StructureDefinition/published-waiting-time","valueString":"3 weeks"}]}`, ww.KindUnprocessable,
			"HealthcareService.extension[0]", []string{"complex extension", "days"}},
		{"a project extension with an unknown part", "HealthcareService", `{"resourceType":"HealthcareService","extension":[{"url":"https://wachtwijzer.nl/fhir/StructureDefinition/published-waiting-time","extension":[{"url":"kind","valueCode":"outpatient"},{"url":"weeks","valueInteger":3},{"url":"measuredOn","valueDate":"2026-11-24"}]}]}`, ww.KindUnprocessable,
			"HealthcareService.extension[0].extension[1]", []string{`"weeks"`, "days, insufficientObservations, kind, measuredOn, source, treatment"}},
		{"a project extension without a required part", "HealthcareService", `{"resourceType":"HealthcareService","extension":[{"url":"https://wachtwijzer.nl/fhir/StructureDefinition/published-waiting-time","extension":[{"url":"days","valueInteger":3}]}]}`, ww.KindUnprocessable,
			"HealthcareService.extension[0]", []string{`"kind"`}},
		{"a project extension's code outside its value set", "HealthcareService", `{"resourceType":"HealthcareService","extension":[{"url":"https://wachtwijzer.nl/fhir/StructureDefinition/published-waiting-time","extension":[{"url":"kind","valueCode":"polikliniek"},{"url":"measuredOn","valueDate":"2026-11-24"}]}]}`, ww.KindUnprocessable,
			"HealthcareService.extension[0].extension[0].valueCode", []string{`"polikliniek"`, "outpatient", "wait-kind"}},
		{"a project extension used out of its context", "Patient", `{"resourceType":"Patient","extension":[{"url":"https://wachtwijzer.nl/fhir/StructureDefinition/published-waiting-time","extension":[{"url":"kind","valueCode":"outpatient"}]}]}`, ww.KindUnprocessable,
			"Patient.extension[0]", []string{"only on HealthcareService"}},

		{"a booked appointment without a time is a warning for now (app-3)", "Appointment", `{"resourceType":"Appointment","status":"booked","participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]}`, 0,
			"Appointment", []string{"app-3", "waitlist"}},
		{"a waitlist appointment may have no time", "Appointment", `{"resourceType":"Appointment","status":"waitlist","participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}],"requestedPeriod":[{"start":"2026-12-01"}]}`, 0, "", nil},
		{"start without end is a warning for now (app-2)", "Appointment", `{"resourceType":"Appointment","status":"proposed","start":"2026-12-01T09:00:00Z","participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]}`, 0,
			"Appointment", []string{"app-2"}},
		{"a participant needs a type or an actor (app-1)", "Appointment", `{"resourceType":"Appointment","status":"proposed","participant":[{"status":"accepted"}]}`, ww.KindInvalid,
			"Appointment.participant[0]", []string{"app-1"}},
		{"a period that ends before it starts (per-1)", "Appointment", appt(`"requestedPeriod":[{"start":"2026-12-02","end":"2026-12-01"}]`), ww.KindInvalid,
			"Appointment.requestedPeriod[0]", []string{"per-1"}},
		{"a period ending on its start day is fine", "Appointment", appt(`"requestedPeriod":[{"start":"2026-12-01T10:00:00+01:00","end":"2026-12-01"}]`), 0, "", nil},
		{"an organisation with a home address (org-2)", "Organization", `{"resourceType":"Organization","name":"X","address":[{"use":"home","city":"Utrecht"}]}`, ww.KindInvalid,
			"Organization", []string{"org-2"}},
		{"an unknown profile is only a warning", "Patient", `{"resourceType":"Patient","meta":{"profile":["http://example.org/StructureDefinition/mine"]}}`, 0,
			"Patient.meta.profile[0]", []string{"does not know"}},
		{"the base profile of the type is fine", "Patient", `{"resourceType":"Patient","meta":{"profile":["http://hl7.org/fhir/StructureDefinition/Patient"]}}`, 0, "", nil},
		{"aligned primitive extensions in an array", "Patient", `{"resourceType":"Patient","name":[{"given":["Jan",null],"_given":[null,{"extension":[{"url":"http://example.org/x","valueString":"b"}]}]}]}`, 0, "", nil},
		{"a valid BSN, AGB, URA and UZOVI", "Organization", `{"resourceType":"Organization","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/agb-z","value":"06020502"},{"system":"http://fhir.nl/fhir/NamingSystem/ura","value":"12345678"},{"system":"http://fhir.nl/fhir/NamingSystem/uzovi","value":"7119"}]}`, 0, "", nil},
		{"an absolute, urn:uuid and contained reference", "Appointment", appt(`"contained":[{"resourceType":"Practitioner","id":"pr"}],"basedOn":[{"reference":"https://other.example/fhir/ServiceRequest/1"},{"reference":"urn:uuid:c757873d-ec9a-4326-a141-556f43239520"}],"supportingInformation":[{"reference":"#pr"}]`), 0, "", nil},
		{"the published waiting time as the demo writes it", "HealthcareService", `{"resourceType":"HealthcareService","extension":[{"url":"https://wachtwijzer.nl/fhir/StructureDefinition/published-waiting-time","extension":[{"url":"kind","valueCode":"outpatient"},{"url":"days","valueInteger":31},{"url":"measuredOn","valueDate":"2026-11-24"},{"url":"source","valueString":"NZa Zorgbeeld"}]}]}`, 0, "", nil},
		{"a geolocation on an address", "Patient", `{"resourceType":"Patient","address":[{"city":"Utrecht","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/geolocation","extension":[{"url":"latitude","valueDecimal":52.09},{"url":"longitude","valueDecimal":5.12}]}]}]}`, 0, "", nil},
		{"a leap day", "Patient", `{"resourceType":"Patient","birthDate":"2024-02-29"}`, 0, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			issues, kind := check(t, c.typ, c.src)
			if kind != c.kind {
				t.Fatalf("kind %v, want %v; issues: %+v", kind, c.kind, issues)
			}
			if c.expr == "" {
				return
			}
			var found *ww.Issue
			for i := range issues {
				if len(issues[i].Expression) > 0 && issues[i].Expression[0] == c.expr {
					found = &issues[i]
					break
				}
			}
			if found == nil {
				t.Fatalf("no issue at %s; issues: %+v", c.expr, issues)
			}
			for _, w := range c.words {
				if !strings.Contains(found.Diagnostics, w) {
					t.Errorf("diagnostic %q does not mention %q", found.Diagnostics, w)
				}
			}
		})
	}
}

func TestBSNNeverInDiagnostics(t *testing.T) {
	for _, bsn := range []string{"123456789", "12345678", "1234567890", "12345678a"} {
		issues, kind := check(t, "Patient", `{"resourceType":"Patient","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"`+bsn+`"}]}`)
		if kind != ww.KindUnprocessable {
			t.Fatalf("BSN %s: kind %v", bsn, kind)
		}
		for _, is := range issues {
			if strings.Contains(is.Diagnostics, bsn) {
				t.Errorf("the diagnostic repeats the BSN: %s", is.Diagnostics)
			}
		}
	}
}

func TestSeveralIssuesAtOnceAndTheCap(t *testing.T) {
	issues, kind := check(t, "Appointment", `{"resourceType":"Appointment","status":"later","minutesDuration":"5","foo":1}`)
	if kind != ww.KindInvalid || len(issues) < 4 {
		t.Fatalf("want at least 4 issues (status, minutesDuration, foo, participant), got %v %+v", kind, issues)
	}
	var b strings.Builder
	b.WriteString(`{"resourceType":"Patient"`)
	for i := 0; i < 80; i++ {
		b.WriteString(`,"x` + itoa(i) + `":1`)
	}
	b.WriteString("}")
	issues, _ = check(t, "Patient", b.String())
	if len(issues) != MaxIssues+1 || issues[MaxIssues].Code != "too-costly" {
		t.Fatalf("want %d issues and a note, got %d", MaxIssues, len(issues))
	}
}

func TestValidateKinds(t *testing.T) {
	err := Validate(context.Background(), "StructureDefinition", parse(t, `{"resourceType":"StructureDefinition"}`))
	if !ww.IsKind(err, ww.KindNotAllowed) {
		t.Errorf("a conformance type must be read-only (405): %v", err)
	}
	err = Validate(context.Background(), "Observation", parse(t, `{"resourceType":"Observation"}`))
	if !ww.IsKind(err, ww.KindNotFound) {
		t.Errorf("an unserved type: %v", err)
	}
	if err := Validate(context.Background(), "Patient", parse(t, `{"resourceType":"Patient","meta":{"profile":["http://example.org/x"]}}`)); err != nil {
		t.Errorf("a warning alone must not fail a write: %v", err)
	}
}

// Every served type has a structure definition, and every R4 type an
// element names is in the table.
func TestEveryServedTypeIsInTheTable(t *testing.T) {
	loadSpec()
	for _, n := range TypeNames() {
		td, ok := spec.types[n]
		if !ok || !td.resource || td.complex == nil {
			t.Errorf("served type %s has no structure", n)
		}
	}
	if len(spec.resourceTypes) < 140 {
		t.Errorf("only %d resource types in the table", len(spec.resourceTypes))
	}
}
