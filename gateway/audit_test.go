package gateway

import (
	"fmt"
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

// TestPatientsInScanMatchesParse: the one-pass scan finds exactly the
// Patients the walk over the parsed tree finds.
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
	// A Patient resource names its id, wherever "id" stands.
	for _, body := range []string{
		`{"resourceType":"Bundle","entry":[{"resource":{"id":"p7","meta":{"versionId":"2"},"resourceType":"Patient","link":[{"other":{"reference":"Patient/p8"}}]}},{"resource":{"resourceType":"Patient","id":"p9","contained":[{"resourceType":"Organization","id":"o"}]}}]}`,
		`{"resourceType":"Patient","id":"p10","extension":[{"url":"x","valueReference":{"reference":"Patient/p11","display":"n"}},{"url":"y","valueInteger":3}],"active":true,"deceasedBoolean":false,"x":null}`,
		`{"resourceType":"Observation","id":"ob","subject":{"reference":"Patient/p12"},"reference":{"id":"p13","resourceType":"Patient"}}`,
	} {
		if got, want := collect(patientsIn, body), collect(patientsInTree, body); !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("%s\nscan %v, parse %v", body, got, want)
		}
	}
	if got := collect(patientsIn, `{"resourceType":"Patient","id":"pp","link":[{"other":{"reference":"Patient/q"}}]}`); !slices.Equal(got, []string{"pp", "q"}) {
		t.Errorf("Patient body: %v", got)
	}
}

// FuzzPatientsIn: on any body the scan never panics, and on valid JSON it
// agrees with the walk over the parsed tree.
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

// patientsInTree is the oracle: patientsIn over the parsed body.
func patientsInTree(body []byte, add func(string)) {
	tree, err := fhirjson.Parse(body, fhirjson.Limits{})
	if err != nil {
		return
	}
	var walk func(v *fhirjson.Value)
	walk = func(v *fhirjson.Value) {
		switch v.Kind {
		case fhirjson.Object:
			if v.GetStr("resourceType") == "Patient" {
				add(v.GetStr("id"))
			}
			for _, m := range v.Members {
				if m.Key == "reference" {
					if s, ok := m.Value.Str(); ok {
						patientOfReference(s, add)
					}
					continue
				}
				walk(m.Value)
			}
		case fhirjson.Array:
			for _, it := range v.Items {
				walk(it)
			}
		}
	}
	walk(tree)
}

// BenchmarkPatientsIn compares the one-pass scan with the parse and walk on
// a search page of 50 appointments and their 50 included Patients.
func BenchmarkPatientsIn(b *testing.B) {
	body := []byte(`{"resourceType":"Bundle","type":"searchset","entry":[`)
	for i := 0; i < 50; i++ {
		if i > 0 {
			body = append(body, ',')
		}
		body = fmt.Appendf(body, `{"fullUrl":"https://gw/fhir/Appointment/a%d","resource":{"resourceType":"Appointment","id":"a%d","status":"booked","start":"2026-12-10T09:00:00+01:00","participant":[{"actor":{"reference":"Patient/p%d"},"status":"accepted"},{"actor":{"reference":"Practitioner/x%d"},"status":"accepted"}],"serviceType":[{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.6.7","code":"0303"}]}]},"search":{"mode":"match"}},`, i, i, i, i)
		body = fmt.Appendf(body, `{"fullUrl":"https://gw/fhir/Patient/p%d","resource":{"resourceType":"Patient","id":"p%d","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}],"name":[{"family":"Jansen","given":["Piet"]}],"birthDate":"1970-01-01","address":[{"postalCode":"3032 TR"}]},"search":{"mode":"include"}}`, i, i)
	}
	body = append(body, "]}"...)
	for name, f := range map[string]func([]byte, func(string)){"scan": patientsIn, "parse": patientsInTree} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				n := 0
				f(body, func(string) { n++ })
				if n != 100 {
					b.Fatal(n)
				}
			}
		})
	}
}
