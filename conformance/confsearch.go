package conformance

import (
	"sort"
	"strings"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// ConfSearchParam is a search parameter of a conformance type, matched in
// memory against the registry's resources.
type ConfSearchParam struct {
	Code       string
	Type       ParamType
	Definition string
	// Element is the member holding the values ("url", "base"); "id" for
	// _id.
	Element string
}

var confCommon = []ConfSearchParam{
	{Code: "_id", Type: TypeToken, Element: "id", Definition: "http://hl7.org/fhir/SearchParameter/Resource-id"},
	{Code: "url", Type: TypeURI, Element: "url"},
	{Code: "name", Type: TypeString, Element: "name"},
	{Code: "title", Type: TypeString, Element: "title"},
	{Code: "status", Type: TypeToken, Element: "status"},
	{Code: "version", Type: TypeToken, Element: "version"},
}

var confSpecific = map[string][]ConfSearchParam{
	"SearchParameter": {
		{Code: "code", Type: TypeToken, Element: "code"},
		{Code: "base", Type: TypeToken, Element: "base"},
		{Code: "type", Type: TypeToken, Element: "type"},
	},
	"StructureDefinition": {
		{Code: "type", Type: TypeToken, Element: "type"},
		{Code: "kind", Type: TypeToken, Element: "kind"},
		{Code: "derivation", Type: TypeToken, Element: "derivation"},
		{Code: "base", Type: TypeURI, Element: "baseDefinition"},
	},
	"OperationDefinition": {
		{Code: "code", Type: TypeToken, Element: "code"},
		{Code: "base", Type: TypeURI, Element: "base"},
	},
	"CodeSystem": {
		{Code: "system", Type: TypeURI, Element: "url"},
	},
}

// ConformanceSearchParams returns the search parameters of a conformance
// type, sorted by code.
func ConformanceSearchParams(typ string) []ConfSearchParam {
	if !IsConformanceType(typ) {
		return nil
	}
	var out []ConfSearchParam
	for _, p := range append(append([]ConfSearchParam(nil), confCommon...), confSpecific[typ]...) {
		if p.Definition == "" {
			if typ == "Measure" || confSpecificHas(typ, p.Code) {
				p.Definition = "http://hl7.org/fhir/SearchParameter/" + typ + "-" + p.Code
			} else {
				p.Definition = "http://hl7.org/fhir/SearchParameter/conformance-" + p.Code
			}
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

func confSpecificHas(typ, code string) bool {
	for _, p := range confSpecific[typ] {
		if p.Code == code {
			return true
		}
	}
	return false
}

// ConformanceSearchParam returns one parameter of a conformance type.
func ConformanceSearchParam(typ, code string) (ConfSearchParam, bool) {
	for _, p := range ConformanceSearchParams(typ) {
		if p.Code == code {
			return p, true
		}
	}
	return ConfSearchParam{}, false
}

// ConformanceSearchCodes lists the parameter codes of a conformance type.
func ConformanceSearchCodes(typ string) []string {
	var out []string
	for _, p := range ConformanceSearchParams(typ) {
		out = append(out, p.Code)
	}
	return out
}

// Match reports whether the resource has a value matching any of vals:
// tokens and uris exactly (a token's system| prefix is ignored, these
// codes have none), strings case-insensitively by prefix, or exactly with
// :exact.
func (p ConfSearchParam) Match(res *fhirjson.Value, vals []string, exact bool) bool {
	v := res.Get(p.Element)
	var have []string
	switch {
	case v == nil:
		return false
	case v.Kind == fhirjson.Array:
		for _, it := range v.Items {
			if s, ok := it.Str(); ok {
				have = append(have, s)
			}
		}
	default:
		if s, ok := v.Str(); ok {
			have = append(have, s)
		}
	}
	for _, want := range vals {
		want = Unescape(want)
		if p.Type == TypeToken {
			if i := strings.LastIndexByte(want, '|'); i >= 0 {
				want = want[i+1:]
			}
		}
		for _, h := range have {
			switch {
			case p.Type == TypeString && !exact:
				if strings.HasPrefix(Normalize(h), Normalize(want)) {
					return true
				}
			case p.Type == TypeURI:
				if h == want || h == strings.SplitN(want, "|", 2)[0] {
					return true
				}
			default:
				if h == want {
					return true
				}
			}
		}
	}
	return false
}
