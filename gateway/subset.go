package gateway

import (
	"strings"

	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// subsetter returns a transform for _elements (and _summary=true/data/text)
// on a stored resource, or nil when the full resource is asked for. Subsetted
// resources carry the SUBSETTED tag.
func subsetter(q map[string][]string) func([]byte) []byte {
	var keep map[string]bool
	if els := q["_elements"]; len(els) > 0 {
		keep = map[string]bool{}
		for _, e := range els {
			for _, f := range strings.Split(e, ",") {
				if f = strings.TrimSpace(f); f != "" {
					if i := strings.IndexByte(f, '.'); i >= 0 {
						f = f[i+1:] // "Patient.name" → "name"
					}
					keep[f] = true
				}
			}
		}
	}
	drop := map[string]bool{}
	if s := q["_summary"]; len(s) > 0 {
		switch s[0] {
		case "data":
			drop["text"] = true
		case "text":
			keep = map[string]bool{"text": true, "id": true, "meta": true}
		case "true":
			// Without StructureDefinitions the summary is approximated by
			// dropping the narrative and contained resources.
			drop["text"], drop["contained"] = true, true
		}
	}
	if keep == nil && len(drop) == 0 {
		return nil
	}
	return func(b []byte) []byte {
		v, err := fhirjson.Parse(b, fhirjson.Limits{MaxDepth: 200})
		if err != nil {
			return b
		}
		out := v.Members[:0:0]
		for _, m := range v.Members {
			switch {
			case m.Key == "resourceType" || m.Key == "id" || m.Key == "meta":
			case keep != nil && !keep[m.Key] && !keep[strings.TrimPrefix(m.Key, "_")]:
				continue
			case drop[m.Key]:
				continue
			}
			out = append(out, m)
		}
		v.Members = out
		tagSubsetted(v)
		return v.Bytes()
	}
}

func tagSubsetted(v *fhirjson.Value) {
	meta := v.Get("meta")
	if meta == nil {
		meta = fhirjson.NewObject()
		v.SetFirst(2, "meta", meta)
	}
	tags := meta.Get("tag")
	if tags == nil || tags.Kind != fhirjson.Array {
		tags = fhirjson.NewArray()
		meta.Set("tag", tags)
	}
	t := fhirjson.NewObject()
	t.Set("system", fhirjson.NewString("http://terminology.hl7.org/CodeSystem/v3-ObservationValue"))
	t.Set("code", fhirjson.NewString("SUBSETTED"))
	tags.Items = append(tags.Items, t)
}
