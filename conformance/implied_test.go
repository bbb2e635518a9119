package conformance

import "testing"

// TestImpliedSystem: code elements bound to one code system have it;
// CodeableConcepts, Identifiers and codes of several systems have none.
func TestImpliedSystem(t *testing.T) {
	reg := Params()
	for _, c := range []struct{ typ, code, want string }{
		{"Appointment", "status", "http://hl7.org/fhir/appointmentstatus"},
		{"Slot", "status", "http://hl7.org/fhir/slotstatus"},
		{"Patient", "gender", "http://hl7.org/fhir/administrative-gender"},
		{"ServiceRequest", "intent", "http://hl7.org/fhir/request-intent"},
		{"Appointment", "service-type", ""},
		{"Patient", "identifier", ""},
		{"Patient", "family", ""},
	} {
		p, ok := reg.Lookup(c.typ, c.code)
		if !ok {
			t.Fatalf("%s.%s is not registered", c.typ, c.code)
		}
		if got := p.ImpliedSystem(); got != c.want {
			t.Errorf("%s.%s: implied system %q, want %q", c.typ, c.code, got, c.want)
		}
	}
}
