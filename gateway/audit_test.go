package gateway

import (
	"slices"
	"testing"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

func collect(f func([]byte, func(string)), body string) []string {
	var out []string
	f([]byte(body), func(id string) {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	})
	slices.Sort(out)
	return out
}

// TestPatientsInScanMatchesParse: the scan of "reference" members finds
// exactly the Patients the parsed walk finds.
func TestPatientsInScanMatchesParse(t *testing.T) {
	for _, body := range []string{
		`{"resourceType":"Appointment","id":"a","participant":[{"actor":{"reference":"Patient/p1"}},{"actor":{"reference":"Practitioner/x"}}]}`,
		`{"resourceType":"Appointment","participant":[{"actor":{ "reference" :	"https://h.example/fhir/Patient/p2/_history/3"}}]}`,
		`{"resourceType":"ServiceRequest","subject":{"reference":"Patient\/p3"},"note":[{"text":"reference"}]}`,
		`{"resourceType":"ServiceRequest","note":[{"text":"\"reference\": \"Patient/fake\""}],"subject":{"reference":"Patient/p4"}}`,
		`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Appointment","participant":[{"actor":{"reference":"Patient/p5"}}],"contained":[{"resourceType":"ServiceRequest","subject":{"reference":"Patient/p6"}}]}}]}`,
		`{"resourceType":"Slot","schedule":{"reference":"Schedule/s"},"comment":"MyPatient/x"}`,
		`{"resourceType":"Appointment","participant":[{"actor":{"reference":"NotPatient/x"}}]}`,
		`{"reference":`,
		`{"reference":"Patient/trunc`,
	} {
		got, want := collect(patientsIn, body), collect(patientsInTree, body)
		if body == `{"reference":"Patient/trunc` {
			want = nil // invalid JSON: nothing from either
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s\nscan %v, parse %v", body, got, want)
		}
	}
	// A Patient resource itself goes through the parse and names its id.
	if got := collect(patientsIn, `{"resourceType":"Patient","id":"pp","link":[{"other":{"reference":"Patient/q"}}]}`); !slices.Equal(got, []string{"pp", "q"}) {
		t.Errorf("Patient body: %v", got)
	}
}

// FuzzPatientsIn: on any body the scan never panics, and on valid JSON
// without a Patient resource it agrees with the parse.
func FuzzPatientsIn(f *testing.F) {
	f.Add(`{"resourceType":"Appointment","participant":[{"actor":{"reference":"Patient/p1"}}]}`)
	f.Add(`{"a":"\\\"reference\":\"Patient/x\"","reference":"Patient/y"}`)
	f.Fuzz(func(t *testing.T, body string) {
		got := collect(patientsIn, body)
		if _, err := fhirjson.Parse([]byte(body), fhirjson.Limits{}); err != nil {
			return // not JSON the parser takes
		}
		want := collect(patientsInTree, body)
		if !slices.Equal(got, want) {
			t.Fatalf("%q: scan %v, parse %v", body, got, want)
		}
	})
}
