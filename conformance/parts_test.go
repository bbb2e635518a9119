package conformance

import (
	"slices"
	"strings"
	"testing"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// TestStringParts: name is answered through family and given, address
// through its city, state, postal code and country; parameters over a
// union or a function have no parts.
func TestStringParts(t *testing.T) {
	reg := Params()
	for _, c := range []struct {
		typ, code string
		want      []string
	}{
		{"Patient", "name", []string{"family", "given"}},
		{"Practitioner", "name", []string{"family", "given"}},
		{"Patient", "address", []string{"address-city", "address-state", "address-postalcode", "address-country"}},
		{"Location", "address", []string{"address-city", "address-state", "address-postalcode", "address-country"}},
		{"Organization", "address", []string{"address-city", "address-state", "address-postalcode", "address-country"}},
		{"Organization", "name", nil},
		{"Patient", "family", nil},
	} {
		p, ok := reg.Lookup(c.typ, c.code)
		if !ok {
			t.Fatalf("%s.%s is not registered", c.typ, c.code)
		}
		var got []string
		for _, q := range p.Parts() {
			got = append(got, q.Code)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s.%s: parts %v, want %v", c.typ, c.code, got, c.want)
		}
	}
	if reg.PartsFingerprint() == "" {
		t.Error("no parts fingerprint")
	}
}

// TestPartsAreSubsets: every value a part takes is one of the whole's
// values (what lets the store keep it in the part's index only), on
// resources that use every string sub-element.
func TestPartsAreSubsets(t *testing.T) {
	reg := Params()
	human := `{"use":"official","text":"Dr. J. de Vries-Bakker","family":"de Vries","given":["Jan","Pieter"],"prefix":["Dr."],"suffix":["MSc"]}`
	addr := `{"use":"home","text":"Hoofdstraat 1, Utrecht","line":["Hoofdstraat 1","achter"],"city":"Utrecht","district":"Utrecht-Oost","state":"UT","postalCode":"3511 AB","country":"NL"}`
	docs := map[string]string{
		"Patient":       `{"resourceType":"Patient","name":[` + human + `,{"family":"Jansen"}],"address":[` + addr + `,{"city":"Zeist"}]}`,
		"Practitioner":  `{"resourceType":"Practitioner","name":[` + human + `],"address":[` + addr + `]}`,
		"Location":      `{"resourceType":"Location","address":` + addr + `}`,
		"Organization":  `{"resourceType":"Organization","address":[` + addr + `]}`,
		"InsurancePlan": `{"resourceType":"InsurancePlan","contact":[{"address":` + addr + `}]}`,
	}
	checked := 0
	for _, typ := range TypeNames() {
		for _, whole := range reg.Indexed(typ) {
			if len(whole.Parts()) == 0 {
				continue
			}
			src, ok := docs[typ]
			if !ok {
				t.Fatalf("%s.%s has parts but the test has no %s to check them on", typ, whole.Code, typ)
			}
			res, err := fhirjson.Parse([]byte(src), fhirjson.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			all := whole.Extract(res).Strings
			for _, part := range whole.Parts() {
				vals := part.Extract(res).Strings
				if len(vals) == 0 {
					t.Errorf("%s.%s: the test resource gives no value", typ, part.Code)
				}
				for _, v := range vals {
					if !slices.Contains(all, v) {
						t.Errorf("%s.%s value %q is not among %s's %s", typ, part.Code, v, whole.Code, strings.Join(all, "|"))
					}
				}
				checked++
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d parts checked", checked)
	}
}
