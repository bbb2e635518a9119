package conformance

import (
	"strings"

	"github.com/wachtwijzer/wachtwijzer/conformance/nlid"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// Normalization records one change an ingest mapping made to a source
// value so that it passes validation: where, what it was and what it
// became.
type Normalization struct {
	Path string // FHIRPath of the changed element: "Organization.identifier[0].value"
	What string // "AGB code left-padded to 8 digits"
	From string
	To   string
}

// String describes the change for a tag display or a provenance note.
func (n Normalization) String() string {
	return n.What + ": " + n.From + " → " + n.To + " at " + n.Path
}

// NormalizeIdentifiers is the lenient counterpart of the strict REST
// checks, for ingest mappings (HL7 v2, CSV, NZa import, pull): every
// Identifier with the AGB system whose value has 7 digits (a dropped
// leading zero, common in source files) gets the 0 back, in place. It
// returns what it changed, for the mapping to record (RecordNormalizations
// puts it in meta.tag); other values are left for Validate to judge. typ
// names the root in the paths.
func NormalizeIdentifiers(typ string, res *fhirjson.Value) []Normalization {
	var out []Normalization
	fhirjson.Walk(res, typ, func(path string, v *fhirjson.Value) bool {
		if v.Kind != fhirjson.Object || v.GetStr("system") != nlid.SystemAGB {
			return true
		}
		val := v.Get("value")
		s, ok := val.Str()
		if !ok {
			return true
		}
		if norm, padded, err := nlid.NormalizeAGB(strings.TrimSpace(s)); err == nil && padded {
			v.Set("value", fhirjson.NewString(norm))
			out = append(out, Normalization{Path: path + ".value", What: "AGB code left-padded to 8 digits", From: s, To: norm})
		}
		return true
	})
	return out
}

// SystemIngestFlags is the code system of the tags ingest mappings put on
// resources they changed (code "normalised") or could not map fully
// ("unmapped"); served as CodeSystem/ingest-flags.
const SystemIngestFlags = "https://wachtwijzer.nl/fhir/CodeSystem/ingest-flags"

// RecordNormalizations records changes in the resource itself: one
// meta.tag {SystemIngestFlags, "normalised"} whose display lists them, so
// that what was changed on ingest travels with the stored version (the
// store's provenance — channel, owner, source message id — says where it
// came from). It does nothing when ns is empty.
func RecordNormalizations(res *fhirjson.Value, ns []Normalization) {
	if len(ns) == 0 || res == nil || res.Kind != fhirjson.Object {
		return
	}
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = n.String()
	}
	tag := fhirjson.NewObject()
	tag.Set("system", fhirjson.NewString(SystemIngestFlags))
	tag.Set("code", fhirjson.NewString("normalised"))
	tag.Set("display", fhirjson.NewString(strings.Join(parts, "; ")))
	meta := res.Get("meta")
	if meta == nil || meta.Kind != fhirjson.Object {
		meta = fhirjson.NewObject()
		res.Set("meta", meta)
	}
	tags := meta.Get("tag")
	if tags == nil || tags.Kind != fhirjson.Array {
		tags = fhirjson.NewArray()
		meta.Set("tag", tags)
	}
	for _, t := range tags.Items {
		if t.GetStr("system") == SystemIngestFlags && t.GetStr("code") == "normalised" {
			t.Set("display", fhirjson.NewString(t.GetStr("display")+"; "+strings.Join(parts, "; ")))
			return
		}
	}
	tags.Items = append(tags.Items, tag)
}
