package gateway

import (
	"net/url"
	"strings"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/auth"
)

func TestNeedOf(t *testing.T) {
	R, S, C, U, D := auth.Perm(auth.Read), auth.Perm(auth.Search), auth.Perm(auth.Create), auth.Perm(auth.Update), auth.Perm(auth.Delete)
	for _, c := range []struct {
		name  string
		r     request
		route string
		typ   string
		perm  auth.Perm
		none  bool
	}{
		{"read", request{method: "GET", typ: "Patient", id: "1"}, "/fhir/:type/:id", "Patient", R, false},
		{"vread", request{method: "GET", typ: "Patient", id: "1", vid: "2"}, "/fhir/:type/:id/_history/:vid", "Patient", R, false},
		{"instance history", request{method: "GET", typ: "Patient", id: "1"}, "/fhir/:type/:id/_history", "Patient", R, false},
		{"type history", request{method: "GET", typ: "Patient"}, "/fhir/:type/_history", "Patient", S, false},
		{"type history in a Bundle", request{method: "GET", typ: "Patient", id: "_history", inBundle: true}, "", "Patient", S, false},
		{"system history", request{method: "GET"}, "/fhir/_history", "", S, false},
		{"search", request{method: "GET", typ: "Slot"}, "/fhir/:type", "Slot", S, false},
		{"search POST", request{method: "POST", typ: "Slot"}, "/fhir/:type/_search", "Slot", S, false},
		{"create", request{method: "POST", typ: "Slot"}, "/fhir/:type", "Slot", C, false},
		{"update", request{method: "PUT", typ: "Slot", id: "1"}, "/fhir/:type/:id", "Slot", U, false},
		{"conditional update", request{method: "PUT", typ: "Slot"}, "/fhir/:type", "Slot", U, false},
		{"delete", request{method: "DELETE", typ: "Slot", id: "1"}, "/fhir/:type/:id", "Slot", D, false},
		{"$long-waits", request{method: "GET", typ: "ServiceRequest", id: "$long-waits"}, "/fhir/:type/:id", "ServiceRequest", S, false},
		{"$mediation-options", request{method: "GET", typ: "ServiceRequest", id: "x", op: "$mediation-options"}, "/fhir/:type/:id/:op", "ServiceRequest", S, false},
		{"$availability", request{method: "POST", typ: "Slot", id: "$availability"}, "/fhir/:type/:id", "Slot", S, false},
		{"$regional-capacity", request{method: "GET", typ: "MeasureReport"}, "/fhir/MeasureReport/$regional-capacity", "MeasureReport", S, false},
		{"$validate", request{method: "POST", typ: "Patient", id: "$validate"}, "/fhir/:type/:id", "Patient", R, false},
		{"metadata", request{method: "GET", typ: "metadata"}, "/fhir/metadata", "", 0, true},
		{"conformance registry", request{method: "GET", typ: "OperationDefinition", id: "x"}, "/fhir/:type/:id", "", 0, true},
		{"bundle (entries are checked)", request{method: "POST"}, "/fhir", "", 0, true},
	} {
		typ, perm, _, ok := needOf(&c.r, c.route)
		if c.route == "/fhir/MeasureReport/$regional-capacity" {
			typ, perm, _, ok = opNeed("MeasureReport", "$regional-capacity")
		}
		if ok == c.none || (!c.none && (typ != c.typ || perm != c.perm)) {
			t.Errorf("%s: %q %s %v, want %q %s", c.name, typ, perm, ok, c.typ, c.perm)
		}
	}
}

func TestQueryCost(t *testing.T) {
	ok := []string{"subject:Patient.organization.name=x", "_include=A:b&_include=A:c", "_include:iterate=A:b&_revinclude:iterate=B:c", "_has:A:b:_has:B:c:d=x"}
	bad := map[string]string{
		"subject:Patient.organization.partof.partof.name=x":                 "chains 4",
		strings.Repeat("_include=A:b&", 11):                                 "11 _include",
		"_include:iterate=A:b&_include:iterate=A:c&_revinclude:iterate=B:d": "3 :iterate",
		"_has:A:b:_has:B:c:_has:C:d:_has:D:e:f=x":                           "nests _has 4",
	}
	for _, q := range ok {
		v, _ := url.ParseQuery(q)
		if err := queryCost(v); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
	for q, want := range bad {
		v, _ := url.ParseQuery(q)
		err := queryCost(v)
		if !ww.IsKind(err, ww.KindInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a 400 saying %q", q, err, want)
		}
	}
}
